// The JSON value of a database secret (the field names AWS Secrets Manager uses, so existing
// tooling reads it): {"engine","host","port","dbname","username","password"}. Extra fields are
// kept as they are across rotations.
import { InputError } from '../../errors';
import { SecretValue } from '../../secretmanager/secretValue';

export interface DbCredential {
  readonly engine?: string;
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
  readonly username: string;
  readonly password: string;
  /** true: connect with TLS, verifying the server (see pgTls.ts for `sslmode` and `sslca`). */
  readonly ssl?: boolean;
  /** `verify-full` (the default with TLS), `no-verify` or `disable`. */
  readonly sslmode?: string;
  /** PEM text of the CA certificate(s) the server's certificate must chain to. */
  readonly sslca?: string;
  readonly [extra: string]: unknown;
}

export function parseDbCredential(value: SecretValue, where: string): DbCredential {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.reveal());
  } catch {
    // The parser's message can quote the input: say only that it is not JSON.
    throw new InputError(
      'value is not JSON: a database secret holds {"username","password","host","port","dbname"}',
      where,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InputError('value must be a JSON object with username and password', where);
  }
  const o = parsed as Record<string, unknown>;
  if (typeof o.username !== 'string' || o.username === '')
    throw new InputError('value has no "username"', where);
  if (typeof o.password !== 'string') throw new InputError('value has no "password"', where);
  if (o.port !== undefined && (typeof o.port !== 'number' || !Number.isInteger(o.port))) {
    const port = Number(o.port);
    if (!Number.isInteger(port)) throw new InputError('"port" must be a number', where);
    o.port = port;
  }
  for (const k of ['host', 'dbname', 'engine'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string')
      throw new InputError(`"${k}" must be a string`, where);
  }
  return o as DbCredential;
}

export function dbCredentialValue(cred: DbCredential): SecretValue {
  return SecretValue.fromString(JSON.stringify(cred));
}

/** Same database endpoint (host, port, dbname): an adopted value must point where we expect. */
export function sameEndpoint(a: DbCredential, b: DbCredential): boolean {
  return a.host === b.host && a.port === b.port && a.dbname === b.dbname;
}
