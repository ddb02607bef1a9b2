// Tenant text quoted in Rotor's own words. Annotation values, manifest fields and names come from
// whoever can edit a namespace, and reasons travel far: into outcome messages (Pub/Sub: 10 MB),
// log lines (Cloud Logging: 256 KiB), Kubernetes Events and terminals. So a reason never echoes a
// tenant value whole: it shows a short prefix, with every control or invisible-formatting
// character made visible, and says how much was left out. Pure.

/** Characters of a tenant value shown in a reason: enough to recognise a typo, never a flood. */
export const QUOTE_LIMIT = 64;

/**
 * C0 and C1 controls and DEL (terminal escapes, line breaks), and the invisible formatting
 * characters that can reorder or hide what follows them on screen: bidirectional overrides and
 * isolates (U+202A-U+202E, U+2066-U+2069), line and paragraph separators, zero-width characters
 * and the byte order mark.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * `s` with every unsafe character written as a visible escape (`\x1b`, `\u202e`): what a terminal
 * or a rendered page shows cannot move the cursor, clear a line, hide or reorder text.
 */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A tenant value as a reason shows it: at most `limit` characters (whole code points, never half
 * a surrogate pair) with its unsafe characters escaped, and, when longer, how many characters
 * were left out: `abc… (+249936 more characters)`. `quote` puts the shown part in double quotes
 * (escaping those inside).
 */
export function tenantText(value: string, options: { quote?: boolean; limit?: number } = {}): string {
  const limit = options.limit ?? QUOTE_LIMIT;
  // Two UTF-16 units per code point at most: this slice holds `limit` code points and one more if any.
  const head = Array.from(value.slice(0, limit * 2 + 1));
  // The backslash doubled first: no tenant can write what reads as one of Rotor's escapes.
  const escaped = escapeControls(head.slice(0, limit).join('').replace(/\\/g, '\\\\'));
  const cut = head.length > limit ? '…' : '';
  const shown = options.quote ? `"${escaped.replace(/"/g, '\\"')}${cut}"` : `${escaped}${cut}`;
  if (!cut) return shown;
  return `${shown} (+${Array.from(value).length - limit} more characters)`;
}

/** A tenant value quoted in a reason: `"abc"`, or `"abc…" (+249936 more characters)`. */
export function quoteTenant(value: string): string {
  return tenantText(value, { quote: true });
}

/**
 * The longest prefix of `text` whose UTF-8 encoding fits `maxBytes`, cut between characters (an
 * API server or a log sink counts bytes, where a JavaScript string counts UTF-16 units).
 */
export function utf8Prefix(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Back off continuation bytes (10xxxxxx) to the start of the character that would be split.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** `text` within `maxBytes` of UTF-8: whole, or a prefix ending in `suffix` (which fits too). */
export function fitUtf8(text: string, maxBytes: number, suffix = ' …'): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  return utf8Prefix(text, maxBytes - Buffer.byteLength(suffix, 'utf8')) + suffix;
}
