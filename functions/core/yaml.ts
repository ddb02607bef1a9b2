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

/** One document. Throws YamlSyntaxError. */
export function parseYaml(text: string): unknown {
  try {
    return load(text, { schema: SCHEMA });
  } catch (e) {
    return rethrow(e);
  }
}
