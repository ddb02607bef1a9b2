// Environment values read the same way by both functions and the CLI: one parser per kind, so a
// value never means one thing to onSecretEvent and another to rotateSecret.
import { InputError } from './errors';

/** `true/1/yes/on` or `false/0/no/off` (any case); empty or unset: the fallback. Anything else is an error. */
export function envBool(v: string | undefined, name: string, fallback = false): boolean {
  if (v === undefined || v.trim() === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(v.trim())) return true;
  if (/^(0|false|no|off)$/i.test(v.trim())) return false;
  throw new InputError(`${name}="${v}" is not a boolean (true/false)`);
}

/** The project short names resolve against: ROTOR_DEFAULT_PROJECT, else the runtime's project. */
export function envDefaultProject(env: NodeJS.ProcessEnv): string | undefined {
  return env.ROTOR_DEFAULT_PROJECT || env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || undefined;
}
