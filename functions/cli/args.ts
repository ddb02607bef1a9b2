// Argument parsing shared by the subcommands: node's parseArgs, with its errors turned into
// InputError (exit 2) and a few value checks every command needs.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { InputError } from '../errors';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  command: string,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new InputError(
      `${(e as Error).message.replace(/\. To specify a positional argument.*$/, '')} (see rotor ${command} --help)`,
    );
  }
}

export function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(`${flag} "${value}" is not one of ${allowed.join(', ')}`);
}

/** `a=1,b=2` → {a: '1', b: '2'} */
export function keyValues(spec: string | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!spec) return out;
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^=]+)=(.+)$/.exec(part);
    if (!m) throw new InputError(`${flag}: "${part}" is not NAME=VALUE`);
    out[m[1].trim()] = m[2].trim();
  }
  return out;
}
