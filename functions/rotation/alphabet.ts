// Generated values: uniform over the chosen alphabet (crypto.randomInt rejects modulo bias), so
// a length-L value over N symbols really has L·log2(N) bits of entropy. An alphabet is a string
// of symbols, and a symbol is one Unicode code point: a `chars:` alphabet may hold characters
// outside the Basic Multilingual Plane (emoji), which are two UTF-16 units each, so alphabets
// and values are always walked by code point (`[...s]`), never indexed by UTF-16 unit.
import { randomInt } from 'node:crypto';
import { InputError } from '../errors';
import { SecretValue } from '../secretmanager/secretValue';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';

/**
 * Named alphabets. `printable` is letters, digits and `!#%*+,-.:;=?^_~`: it leaves out the space,
 * quotes (`"'` and backtick), `\`, `$`, `&`, `|`, `<>`, `()`, `[]`, `{}`, `/` and `@` (they end a
 * URL's user-info or a DSN field, or expand inside shell double quotes). What it keeps is not
 * free of meaning everywhere: `!#%*:;=?^~` still need single quotes on a shell command line and
 * percent-encoding in a URL.
 */
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
    const raw = spec.slice('chars:'.length);
    // A lone surrogate is half a character: generated values would not be valid text.
    if (/\p{Cs}/u.test(raw))
      throw new InputError('custom alphabet holds an unpaired UTF-16 surrogate (half a character)', where);
    const symbols = [...new Set(raw)];
    if (symbols.length < 2)
      throw new InputError(`custom alphabet needs at least 2 distinct characters`, where);
    return symbols.join('');
  }
  const named = ALPHABETS[spec];
  if (!named)
    throw new InputError(
      `unknown alphabet "${spec}" (${Object.keys(ALPHABETS).join(', ')}, or chars:...)`,
      where,
    );
  return named;
}

/** `length` symbols (code points) drawn uniformly from `alphabet`. */
export function randomString(length: number, alphabet: string): string {
  const symbols = [...alphabet];
  let out = '';
  for (let i = 0; i < length; i++) out += symbols[randomInt(symbols.length)];
  return out;
}

export function randomSecret(length: number, alphabet: string): SecretValue {
  return SecretValue.fromString(randomString(length, alphabet));
}

/** Whether `value` could have come from randomString(length, alphabet). */
export function fitsAlphabet(value: string, length: number, alphabet: string): boolean {
  const symbols = new Set(alphabet);
  const chars = [...value];
  return chars.length === length && chars.every((c) => symbols.has(c));
}
