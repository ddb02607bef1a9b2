// The CLI's flags as data. Each command is one table (functions/cli/commands.ts); parsing, `--help`
// and the shell completion scripts are all computed from it, so a flag exists in one place.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { InputError } from '../errors';

export interface FlagSpec {
  /** The long name, without `--`. */
  readonly name: string;
  readonly short?: string;
  readonly type: 'string' | 'boolean';
  /** May be given more than once (the values are collected in order). */
  readonly multiple?: boolean;
  /** The placeholder of the value in `--help` (PATH, NAME). */
  readonly value?: string;
  readonly help: string;
  /** The only values accepted; also what completion offers. */
  readonly choices?: readonly string[];
  /** Values completion offers without restricting the flag to them (the command checks the value). */
  readonly suggestions?: readonly string[];
  /** What completion offers for the value when there are no choices or suggestions. */
  readonly complete?: 'file' | 'directory';
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** The forms of the command line, after `rotor NAME` (which flags go together). */
  readonly forms: readonly string[];
  readonly flags: readonly FlagSpec[];
  /** Free text after the flag list: exit codes, environment, examples. */
  readonly notes?: string;
  /** Words the command takes as positional arguments (completion offers them). */
  readonly positionals?: readonly string[];
}

/** Parsed flags of one command; every accessor checks the name is in the command's table. */
export class Flags {
  constructor(
    private readonly spec: CommandSpec,
    private readonly values: Readonly<Record<string, string | boolean | Array<string | boolean> | undefined>>,
    readonly positionals: readonly string[],
  ) {}

  private flag(name: string, type: FlagSpec['type']): FlagSpec {
    const f = this.spec.flags.find((x) => x.name === name);
    if (!f || f.type !== type) throw new Error(`rotor ${this.spec.name}: no ${type} flag --${name}`);
    return f;
  }

  /** A string flag's value (the last one given); checked against its choices. */
  string(name: string): string | undefined {
    const f = this.flag(name, 'string');
    const v = this.values[name];
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof last !== 'string') return undefined;
    if (f.choices && !f.choices.includes(last))
      throw new InputError(`--${name} "${last}" is not one of ${f.choices.join(', ')}`);
    return last;
  }

  /** Every value of a repeatable string flag. */
  strings(name: string): string[] {
    this.flag(name, 'string');
    const v = this.values[name];
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter(
      (x): x is string => typeof x === 'string',
    );
  }

  boolean(name: string): boolean {
    this.flag(name, 'boolean');
    return this.values[name] === true;
  }

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }
}

/** Parses `args` by the command's table; unknown flags and missing values are InputError (exit 2). */
export function parseFlags(spec: CommandSpec, args: readonly string[]): Flags {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const f of spec.flags)
    options[f.name] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
    return new Flags(spec, values, positionals);
  } catch (e) {
    throw new InputError(
      `${(e as Error).message.replace(/\. To specify a positional argument.*$/, '')} (see rotor ${spec.name} --help)`,
    );
  }
}

/** `--help` of one command: its forms, its summary, then every flag of its table. */
export function helpText(spec: CommandSpec): string {
  const [first, ...rest] = spec.forms;
  const lead = `Usage: rotor ${spec.name} `;
  const lines = [
    lead + (first ?? '[flags]'),
    ...rest.map((f) => ' '.repeat(lead.length) + f),
    '',
    spec.summary,
  ];
  const names = spec.flags.map((f) => {
    const value = f.type === 'string' ? ` ${f.choices ? f.choices.join('|') : (f.value ?? 'VALUE')}` : '';
    return `${f.short ? `-${f.short}, ` : '    '}--${f.name}${value}`;
  });
  const width = Math.min(Math.max(...names.map((n) => n.length)) + 2, 40);
  lines.push('', 'Flags:');
  spec.flags.forEach((f, i) => {
    const name = names[i] ?? '';
    const help = f.help + (f.multiple ? ' (repeatable)' : '');
    lines.push(
      name.length + 2 > width ? `  ${name}\n  ${' '.repeat(width)}${help}` : `  ${name.padEnd(width)}${help}`,
    );
  });
  if (spec.notes) lines.push('', spec.notes.trimEnd());
  return lines.join('\n') + '\n';
}
