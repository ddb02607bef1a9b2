// YAML as Rotor reads it, in manifests and in SecretProviderClass parameters: js-yaml with the
// YAML 1.2 core types (timestamps stay strings, as Kubernetes keeps them) plus merge keys
// (`<<: *defaults`), which kubectl and the CSI provider accept. js-yaml is about ten times faster
// than the `yaml` package on large inputs, which matters for plans over 10 000 workloads.
import { CORE_SCHEMA, Type, YAMLException, load, loadAll } from 'js-yaml';

// js-yaml merges the keys of any mapping key resolved to this tag.
const MERGE = new Type('tag:yaml.org,2002:merge', {
  kind: 'scalar',
  resolve: (data: unknown) => data === '<<' || data === null,
});
const SCHEMA = CORE_SCHEMA.extend({ implicit: [MERGE] });

/** A YAML syntax error: what is wrong and where (1-based line and column, when known). */
export class YamlSyntaxError extends Error {
  override readonly name = 'YamlSyntaxError';
  constructor(
    readonly reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${reason}${line !== undefined ? ` at line ${line}, column ${column ?? 1}` : ''}`);
  }
}

function rethrow(e: unknown): never {
  if (e instanceof YAMLException) {
    const mark = e.mark as { line?: number; column?: number } | undefined;
    throw new YamlSyntaxError(
      e.reason,
      mark?.line !== undefined ? mark.line + 1 : undefined,
      mark?.column !== undefined ? mark.column + 1 : undefined,
    );
  }
  throw e;
}

/** Every document of a multi-document text (empty documents as null). Throws YamlSyntaxError. */
export function parseYamlDocuments(text: string): unknown[] {
  try {
    return loadAll(text, undefined, { schema: SCHEMA });
  } catch (e) {
    return rethrow(e);
  }
}

/**
 * A listener that refuses the second appearance of one mapping or list: js-yaml returns an alias
 * (`*name`, a merge key `<<: *name` too) as the very object its anchor made, so a node that closes
 * with an object already seen is an alias. Refused as it is read, an alias bomb (a list of
 * thousands of `- *a`, or anchors of anchors) costs no more than its first alias. The manifest
 * loader draws the same line for whole objects (one object listed twice, functions/manifests/load.ts);
 * where no alias is wanted at all, this draws it for every mapping and list.
 */
function refusingAliases(): (eventType: string, state: ParseState) => void {
  const seen = new WeakSet<object>();
  // Where each open node began (its alias is reported there, not where the parser stopped).
  const starts: Array<{ line: number; column: number }> = [];
  return (eventType, state) => {
    if (eventType === 'open') {
      starts.push({ line: state.line + 1, column: state.position - state.lineStart + 1 });
      return;
    }
    const start = starts.pop();
    if (typeof state.result !== 'object' || state.result === null) return;
    if (seen.has(state.result))
      throw new YamlSyntaxError(
        'YAML aliases (*name) are not accepted here: write each entry out',
        start?.line,
        start?.column,
      );
    seen.add(state.result);
  };
}

/** What js-yaml's parse listener reads of its state. */
interface ParseState {
  readonly result: unknown;
  readonly line: number;
  readonly position: number;
  readonly lineStart: number;
}

/**
 * One document. Throws YamlSyntaxError. `aliases: false` refuses an alias of a mapping or list
 * (see refusingAliases), for text a tenant writes and Rotor reads on every event.
 */
export function parseYaml(text: string, options: { aliases: boolean } = { aliases: true }): unknown {
  try {
    return load(text, { schema: SCHEMA, ...(options.aliases ? {} : { listener: refusingAliases() }) });
  } catch (e) {
    return rethrow(e);
  }
}
