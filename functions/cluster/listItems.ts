// Streaming parse of a Kubernetes list response (`{"kind":…,"metadata":{…},"items":[{…},…]}`):
// the body is fed chunk by chunk as it arrives, each element of the top-level `items` array is
// parsed on its own as soon as its last byte is in, offered to `each` (which keeps it, reduced, or
// drops it), and only what `each` returns is held. Everything outside `items` (kind, metadata with
// `continue` and `resourceVersion`) is small and parsed once at the end.
//
// Why: parsing a 2000-object page whole holds the raw bytes, the decoded string and the parsed
// objects of every item at once (~100 MB at 10 000 Deployments' pages), and objects allocated in
// one burst survive long enough to be promoted to the old generation, where they stay as garbage
// until a full collection: most of an event's peak RSS. One item at a time, what is dropped dies
// young. The result equals JSON.parse of the whole body with `items` mapped through `each`.
//
// The splitter only needs JSON's structure: strings (where braces and brackets mean nothing, and a
// quote preceded by an odd run of backslashes is escaped), and nesting. UTF-8 continuation bytes
// are >= 0x80, so they never look like a quote, a backslash or a bracket; each item is decoded
// from its whole bytes, so a character split across chunks is decoded intact.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** The longest top-level key remembered (only `items` matters). */
const MAX_KEY_BYTES = 16;

export class ListItemParser<T> {
  /** Open objects and arrays around the current byte. */
  private depth = 0;
  private inString = false;
  /** Inside a string: the bytes scanned so far end with an odd run of backslashes. */
  private escaped = false;
  /** Bytes of the current top-level string (a key), while short enough to be `items`. */
  private keyBytes: number[] | undefined;
  private lastKey = '';
  private inItems = false;
  /** The top-level `items` array was found (and split) in the stream. */
  private split = false;
  /** The current item's bytes so far (slices of the chunks), while one is open. */
  private item: Buffer[] | undefined;
  /** Everything outside `items`, to parse at the end. */
  private readonly skeleton: Buffer[] = [];
  private readonly kept: T[] = [];

  /**
   * `mayKeep`, when given, sees each item's bytes first: an item it answers false for is not
   * parsed and not offered to `each` (it must answer false only for items `each` would drop).
   */
  constructor(
    private readonly each: (item: unknown) => T | undefined,
    private readonly mayKeep?: (bytes: Buffer) => boolean,
  ) {}

  write(chunk: Buffer): void {
    let i = 0;
    /** Start of the part of this chunk not yet copied to the skeleton or the current item. */
    let from = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.inString) {
        i = this.scanString(chunk, i);
        continue;
      }
      from = this.structuralByte(chunk, i, from);
      i++;
    }
    if (from < n) {
      if (this.item) this.item.push(chunk.subarray(from, n));
      else this.skeleton.push(Buffer.from(chunk.subarray(from, n)));
    }
  }

  /** Inside a string from `i`: where scanning goes on (past its closing quote, or the chunk's end). */
  private scanString(chunk: Buffer, i: number): number {
    const n = chunk.length;
    const q = chunk.indexOf(QUOTE, i);
    const end = q < 0 ? n : q;
    // Backslashes right before `end` (the run may have started in an earlier chunk).
    let run = 0;
    while (end - run - 1 >= i && chunk[end - run - 1] === BACKSLASH) run++;
    const odd = (end - run - 1 >= i ? run : run + (this.escaped ? 1 : 0)) % 2 === 1;
    if (this.keyBytes) this.collectKey(chunk, i, end);
    if (q < 0) {
      this.escaped = odd;
      return n;
    }
    this.escaped = false;
    if (odd) {
      if (this.keyBytes) this.keyBytes.push(QUOTE);
      return q + 1; // an escaped quote: still in the string
    }
    this.inString = false;
    return q + 1;
  }

  /**
   * One byte outside strings: keys, nesting, and the bounds of each item of `items`. Returns the
   * new start of what is not yet copied (`from`, moved when an item starts or ends).
   */
  private structuralByte(chunk: Buffer, i: number, from: number): number {
    const b = chunk[i];
    switch (b) {
      case QUOTE:
        this.inString = true;
        this.escaped = false;
        this.keyBytes = this.depth === 1 && !this.inItems ? [] : undefined;
        // A new top-level key: the previous one no longer names what follows (even if this one
        // is too long to be kept).
        if (this.keyBytes) this.lastKey = '';
        return from;
      case COLON:
        if (this.depth === 1 && this.keyBytes) this.lastKey = Buffer.from(this.keyBytes).toString('utf8');
        this.keyBytes = undefined;
        return from;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        this.depth++;
        if (this.inItems && this.depth === 3) {
          if (b !== OPEN_OBJECT) throw new SyntaxError('list items must be objects');
          this.skeleton.push(Buffer.from(chunk.subarray(from, i)));
          this.item = [];
          return i;
        }
        if (this.depth === 2 && b === OPEN_ARRAY && this.lastKey === 'items' && !this.split) {
          this.inItems = true;
          this.split = true;
        }
        return from;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        this.depth--;
        if (this.depth < 0) throw new SyntaxError('unbalanced JSON in a list response');
        if (this.inItems && this.depth === 2 && this.item) {
          this.item.push(chunk.subarray(from, i + 1));
          this.finishItem();
          return i + 1;
        }
        if (this.inItems && this.depth === 1) this.inItems = false;
        return from;
      case COMMA:
        // Between items: not copied (the skeleton's `items` stays an empty array).
        if (this.inItems && this.depth === 2) {
          this.skeleton.push(Buffer.from(chunk.subarray(from, i)));
          return i + 1;
        }
        return from;
      default:
        return from;
    }
  }

  /** The whole body's value, with `items` holding what `each` kept, in order. */
  end(): Record<string, unknown> {
    if (this.depth !== 0 || this.inString || this.item)
      throw new SyntaxError('a list response ended in the middle of its JSON');
    const text = Buffer.concat(this.skeleton).toString('utf8');
    const body: unknown = text.trim() ? JSON.parse(text) : {};
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new SyntaxError('a list response is not a JSON object');
    const whole = body as Record<string, unknown>;
    // `items` spelled in a way the splitter does not recognise (an escape in the key): parsed whole.
    if (!this.split && Array.isArray(whole.items)) for (const item of whole.items) this.offer(item);
    return { ...whole, items: this.kept };
  }

  private collectKey(chunk: Buffer, from: number, to: number): void {
    const key = this.keyBytes;
    if (!key) return;
    if (key.length + (to - from) > MAX_KEY_BYTES) {
      this.keyBytes = undefined;
      return;
    }
    for (let j = from; j < to; j++) key.push(chunk[j] ?? 0);
  }

  private finishItem(): void {
    const parts = this.item ?? [];
    this.item = undefined;
    const bytes = parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts);
    if (this.mayKeep && !this.mayKeep(bytes)) return;
    this.offer(JSON.parse(bytes.toString('utf8')));
  }

  private offer(item: unknown): void {
    const kept = this.each(item);
    if (kept !== undefined) this.kept.push(kept);
  }
}

/** Names a pre-filter can look for: none of JSON's structural characters, quotes or escapes. */
const PLAIN_NAME = /^[A-Za-z0-9._/-]+$/;

/** More names than this and `mentioning` gives up (every item is parsed). */
export const MAX_MENTIONED = 10_000;

/** What a list item must name to be kept (WorkloadFilters.mentionsToKeep). */
export interface Mentions {
  /** A key or string value that alone may get an item kept (an annotation's key). */
  readonly anywhere: readonly string[];
  /** `namespace/name`: kept only if the item names `name` and is in `namespace`. */
  readonly namespaced: readonly string[];
}

/**
 * A byte-level pre-filter for list items (ListItemParser's `mayKeep`): false only for an item that
 * holds none of `anywhere` as a whole JSON string, and no `name` of `namespaced` as one while its
 * namespace (a string value of a "namespace" key, or "default") is that name's namespace. Such an
 * item is not parsed. Exact, whatever wrote the JSON: a JSON string's bytes between its quotes are
 * its value's UTF-8 unless it holds an escape, and every escape starts with a backslash, so items
 * with a backslash are always kept, and in the others a value is found exactly where its quoted
 * bytes are. Names are looked for only when every one is plain (PLAIN_NAME: a match then starts at
 * a string's own quote, never across two strings); otherwise undefined (no pre-filter).
 */
export function mentioning(m: Mentions): ((bytes: Buffer) => boolean) | undefined {
  const namespaces = new Map<string, Set<string>>();
  for (const key of m.namespaced) {
    const slash = key.indexOf('/');
    const name = key.slice(slash + 1);
    const inNs = namespaces.get(name) ?? new Set<string>();
    inNs.add(key.slice(0, slash));
    namespaces.set(name, inNs);
  }
  const names = [...new Set([...m.anywhere, ...namespaces.keys()])];
  if (names.length === 0) return () => false;
  if (names.length > MAX_MENTIONED || !names.every((n) => PLAIN_NAME.test(n))) return undefined;
  // Plain names are ASCII: their bytes are their latin1 characters, as the item's are.
  const quoted = new RegExp(`"(${names.map((n) => n.replace(/[.]/g, '\\.')).join('|')})"`, 'g');
  const anywhere = new Set(m.anywhere);
  return (bytes) => {
    if (bytes.includes(BACKSLASH)) return true;
    const text = bytes.toString('latin1');
    let own: Set<string> | undefined;
    for (const [, name = ''] of text.matchAll(quoted)) {
      if (anywhere.has(name)) return true;
      own ??= namespacesOf(text);
      for (const ns of namespaces.get(name) ?? []) if (own.has(ns)) return true;
    }
    return false;
  };
}

/** Every string value of a "namespace" key in an item's text (latin1), and "default". */
function namespacesOf(text: string): Set<string> {
  const out = new Set<string>(['default']);
  for (const [, ns = ''] of text.matchAll(/"namespace"[ \t\r\n]*:[ \t\r\n]*"([^"]*)"/g))
    out.add(Buffer.from(ns, 'latin1').toString('utf8'));
  return out;
}
