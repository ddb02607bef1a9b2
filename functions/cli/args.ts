// Flag values several commands parse the same way (the flags themselves: flags.ts, commands.ts).
import { InputError } from '../errors';

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
