// rotor.dev/reload-endpoint: `PORT` or `PORT/PATH`, the endpoint Rotor POSTs through the API
// server's pod proxy (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`). Tenant input reaching a
// request made with Rotor's cluster-wide pods/proxy permission: anything URL normalisation could
// reinterpret (dot segments, percent-encoding, backslashes, a query or a fragment) would let the
// path climb out of the pod's proxy prefix to another pod, namespace or, through a Connect Gateway
// base path, another cluster. So the grammar is deliberately narrow, and a rejection says why. Pure.
import { quoteTenant } from './tenantText';

export interface ReloadEndpoint {
  /** A container port number (1-65535) or a container port name (IANA service name syntax). */
  readonly port: string;
  /** `/` followed by segments of RFC 3986 unreserved characters, none empty, none `.` or `..`. */
  readonly path: string;
}

export type ReloadEndpointParse =
  | { readonly kind: 'valid'; readonly endpoint: ReloadEndpoint }
  | { readonly kind: 'rejected'; readonly reason: string };

/** Generous for any real reload path; bounds what a reason or a log line can carry. */
const MAX_LENGTH = 256;
/** RFC 3986 section 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
const UNRESERVED = /^[A-Za-z0-9._~-]+$/;

function rejected(reason: string): ReloadEndpointParse {
  return { kind: 'rejected', reason };
}

/**
 * Why `port` is not a container port number or name, or undefined when it is one. Names follow
 * Kubernetes' IsValidPortName (IANA service names, RFC 6335 section 5.1): 1-15 characters of
 * [a-z0-9-], at least one letter, no leading, trailing or doubled hyphen.
 */
function portProblem(port: string): string | undefined {
  if (port === '') return 'no port before the path';
  if (/^[0-9]+$/.test(port)) {
    if (port.length > 1 && port.startsWith('0')) return `port ${quoteTenant(port)} has a leading zero`;
    const n = Number(port);
    return n >= 1 && n <= 65535 ? undefined : `port ${port} is outside 1-65535`;
  }
  const name = `port ${quoteTenant(port)} is neither a number 1-65535 nor a container port name`;
  if (port.length > 15) return `${name} (a name has at most 15 characters)`;
  if (!/^[a-z0-9-]+$/.test(port)) return `${name} (a name has only a-z, 0-9 and "-")`;
  if (!/[a-z]/.test(port)) return `${name} (a name has at least one letter)`;
  if (port.startsWith('-') || port.endsWith('-') || port.includes('--'))
    return `${name} (a name does not start or end with "-" or contain "--")`;
  return undefined;
}

/** Why `path` (everything after the port, starting with `/`) is unsafe, or undefined when it is fine. */
function pathProblem(path: string): string | undefined {
  // Named first: each is a way URL parsing or the API server would reinterpret the path.
  if (path.includes('\\')) return 'the path contains "\\" (URL parsing turns it into "/")';
  if (path.includes('%')) return 'the path contains "%" (percent-encoding is not allowed)';
  if (path.includes('?')) return 'the path contains "?" (a query string is not allowed)';
  if (path.includes('#')) return 'the path contains "#" (a fragment is not allowed)';
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') return 'the path has an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `the path has a "${segment}" segment`;
    if (!UNRESERVED.test(segment))
      return `path segment ${quoteTenant(segment)} has characters other than A-Z a-z 0-9 - . _ ~`;
  }
  return undefined;
}

/** Parses a rotor.dev/reload-endpoint value (surrounding whitespace ignored). */
export function parseReloadEndpoint(raw: string): ReloadEndpointParse {
  const value = raw.trim();
  if (value === '') return rejected('it is empty');
  if (value.length > MAX_LENGTH) return rejected(`it is longer than ${MAX_LENGTH} characters`);
  const slash = value.indexOf('/');
  const port = slash < 0 ? value : value.slice(0, slash);
  const path = slash < 0 ? '/' : value.slice(slash);
  const badPort = portProblem(port);
  if (badPort) return rejected(`${badPort}; expected PORT or PORT/PATH`);
  // `8080` alone is the root path; `8080/` would be an empty segment, but means the same.
  if (path === '/') return { kind: 'valid', endpoint: { port, path } };
  const badPath = pathProblem(path);
  if (badPath) return rejected(badPath);
  return { kind: 'valid', endpoint: { port, path } };
}
