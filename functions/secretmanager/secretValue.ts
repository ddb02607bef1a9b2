// A secret payload that refuses to be printed. Values travel through loggers, error messages,
// JSON results and util.inspect in many places; wrapping them means a slip in any of those
// shows "[redacted]" instead of the credential. Only `reveal()`/`bytes()` hand out the value, so
// every place that really needs it is easy to find with grep.
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class SecretValue {
  readonly #bytes: Buffer;

  private constructor(bytes: Buffer) {
    // A private copy: callers cannot mutate what was stored or tested.
    this.#bytes = Buffer.from(bytes);
  }

  static fromString(value: string): SecretValue {
    return new SecretValue(Buffer.from(value, 'utf8'));
  }

  static fromBytes(bytes: Uint8Array): SecretValue {
    return new SecretValue(Buffer.from(bytes));
  }

  /** The value as UTF-8 text. Call only where the value must leave Rotor (backend, payload). */
  reveal(): string {
    return this.#bytes.toString('utf8');
  }

  /** The raw bytes (a copy). */
  bytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  get length(): number {
    return this.#bytes.length;
  }

  equals(other: SecretValue): boolean {
    return this.#bytes.equals(other.#bytes);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `SecretValue(${REDACTED}, ${this.#bytes.length} bytes)`;
  }
}
