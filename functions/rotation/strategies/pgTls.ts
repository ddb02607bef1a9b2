// How Rotor's PostgreSQL connections use TLS, read from the database credential's fields once.
//
// The admin password travels over these connections, so TLS verifies the server by default:
// the certificate must chain to a trusted CA (the credential's `sslca`, else Node's bundled
// roots) and name the host Rotor connects to (libpq's `verify-full`). Encrypting without
// checking who answers is an explicit opt-in (`"sslmode": "no-verify"`), logged as a warning on
// every connection. libpq's `require`/`verify-ca`/`prefer`/`allow` are refused rather than
// guessed at: `require` means "no verification" to libpq and would silently mean the opposite here.
import { InputError } from '../../errors';

export type PgTls =
  /** Verify the chain (against `ca` if given, else the system roots) and the host name. */
  | { readonly mode: 'verify-full'; readonly ca?: string }
  /** Encrypt, but accept any certificate: an active man-in-the-middle is not detected. */
  | { readonly mode: 'no-verify' };

export const SSL_MODES = ['disable', 'verify-full', 'no-verify'] as const;

/** The credential fields this reads (the rest of the credential is someone else's business). */
export interface TlsFields {
  readonly ssl?: unknown;
  readonly sslmode?: unknown;
  readonly sslca?: unknown;
}

/**
 * The TLS settings a credential asks for; `undefined` when it says nothing about TLS (so a
 * fallback credential's settings apply), `null` when it asks for no TLS.
 */
export function tlsOf(cred: TlsFields, where: string): PgTls | null | undefined {
  const { ssl, sslmode, sslca } = cred;
  if (ssl === undefined && sslmode === undefined && sslca === undefined) return undefined;
  if (ssl !== undefined && typeof ssl !== 'boolean')
    throw new InputError('"ssl" must be true or false', where);
  if (sslca !== undefined && (typeof sslca !== 'string' || !sslca.includes('-----BEGIN CERTIFICATE-----')))
    throw new InputError(
      '"sslca" must be the PEM text of the CA certificate(s) that signed the server\'s certificate',
      where,
    );
  if (sslmode !== undefined && (typeof sslmode !== 'string' || !isSslMode(sslmode)))
    throw new InputError(
      `"sslmode" ${JSON.stringify(sslmode)} is not supported: use "verify-full" (the default with TLS: the server's certificate and name are checked), "no-verify" (encrypts, but anyone on the network path can impersonate the server) or "disable"`,
      where,
    );
  const mode = sslmode ?? (ssl === true || sslca !== undefined ? 'verify-full' : 'disable');
  if (mode === 'disable') {
    if (ssl === true || sslca !== undefined)
      throw new InputError('"sslmode": "disable" contradicts "ssl": true or "sslca"', where);
    return null;
  }
  if (ssl === false) throw new InputError(`"ssl": false contradicts "sslmode": "${mode}"`, where);
  if (mode === 'no-verify') {
    if (sslca !== undefined)
      throw new InputError(
        '"sslca" is given but "sslmode" is "no-verify": the CA would not be checked',
        where,
      );
    return { mode };
  }
  return typeof sslca === 'string' ? { mode, ca: sslca } : { mode };
}

function isSslMode(v: string): v is (typeof SSL_MODES)[number] {
  return (SSL_MODES as readonly string[]).includes(v);
}

/** node-pg's `ssl` option for these settings. Node checks the host name whenever it verifies. */
export function nodeTlsOptions(tls: PgTls): { rejectUnauthorized: boolean; ca?: string } {
  return tls.mode === 'no-verify'
    ? { rejectUnauthorized: false }
    : { rejectUnauthorized: true, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) };
}
