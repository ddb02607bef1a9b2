// Generated values: uniform over the chosen alphabet (crypto.randomInt rejects modulo bias), so
// a length-L value over N symbols really has L·log2(N) bits of entropy.
import { randomInt } from 'node:crypto';
import { InputError } from '../errors';
import { SecretValue } from '../secretmanager/secretValue';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';

/** Named alphabets. `printable` leaves out characters that need quoting in shells, URLs and DSNs. */
export const ALPHABETS: Readonly<Record<string, string>> = {
  alphanumeric: LOWER + UPPER + DIGITS,
  hex: DIGITS + 'abcdef',
  base64url: UPPER + LOWER + DIGITS + '-_',
  printable: LOWER + UPPER + DIGITS + '!#%*+,-.:;=?^_~',
  digits: DIGITS,
};

export const DEFAULT_ALPHABET = 'alphanumeric';
export const DEFAULT_LENGTH = 32;

/** A named alphabet, or `chars:<the characters>` for a custom one. */
export function resolveAlphabet(spec: string, where: string): string {
  if (spec.startsWith('chars:')) {
    const chars = [...new Set(spec.slice('chars:'.length))].join('');
    if (chars.length < 2) throw new InputError(`custom alphabet needs at least 2 distinct characters`, where);
    return chars;
  }
  const named = ALPHABETS[spec];
  if (!named)
    throw new InputError(
      `unknown alphabet "${spec}" (${Object.keys(ALPHABETS).join(', ')}, or chars:...)`,
      where,
    );
  return named;
}

export function randomString(length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function randomSecret(length: number, alphabet: string): SecretValue {
  return SecretValue.fromString(randomString(length, alphabet));
}

/** Whether `value` could have come from randomString(length, alphabet). */
export function fitsAlphabet(value: string, length: number, alphabet: string): boolean {
  if (value.length !== length) return false;
  for (const c of value) if (!alphabet.includes(c)) return false;
  return true;
}
