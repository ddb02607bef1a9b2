// Exact API request counts per contender, from the API server's audit log: every request a user
// made, as the server saw it, whatever client library (or foreign binary, like Reloader) made it.
// The bench's control plane runs with AUDIT_POLICY; `AuditLog` reads the JSON-lines log it writes.
import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';

/** The users whose requests are counted; everyone else (the seeding admin) is not logged at all. */
export const AUDITED_USERS = ['rotor', 'baseline', 'reloader'] as const;

/** Metadata only (never a request or response body: Secret values stay out of the log). */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: [${AUDITED_USERS.join(', ')}]
  - level: None
`;

/** kube-apiserver flags that write the log to `path` with the policy in `policyPath` (written here). */
export function auditFlags(policyPath: string, path: string): string[] {
  writeFileSync(policyPath, AUDIT_POLICY);
  return [
    `--audit-policy-file=${policyPath}`,
    `--audit-log-path=${path}`,
    '--audit-log-format=json',
    '--audit-log-maxbackup=0',
    '--audit-log-maxsize=0',
  ];
}

export interface AuditRequest {
  readonly auditId: string;
  readonly user: string;
  readonly verb: string;
  readonly uri: string;
  /** requestReceivedTimestamp, ms. */
  readonly at: number;
}

/**
 * The requests in a chunk of audit log lines: one per auditID (a watch logs ResponseStarted and
 * ResponseComplete; both are one request), timed by when the server received it. Lines that are
 * not audit events (a torn last line) are skipped.
 */
export function parseAuditLines(text: string): AuditRequest[] {
  const out: AuditRequest[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof e !== 'object' || e === null) continue;
    const ev = e as {
      kind?: unknown;
      auditID?: unknown;
      user?: { username?: unknown };
      verb?: unknown;
      requestURI?: unknown;
      requestReceivedTimestamp?: unknown;
    };
    if (ev.kind !== 'Event' || typeof ev.auditID !== 'string' || seen.has(ev.auditID)) continue;
    const at =
      typeof ev.requestReceivedTimestamp === 'string' ? Date.parse(ev.requestReceivedTimestamp) : NaN;
    if (Number.isNaN(at) || typeof ev.user?.username !== 'string') continue;
    seen.add(ev.auditID);
    out.push({
      auditId: ev.auditID,
      user: ev.user.username,
      verb: typeof ev.verb === 'string' ? ev.verb : '',
      uri: typeof ev.requestURI === 'string' ? ev.requestURI : '',
      at,
    });
  }
  return out;
}

/** Requests `user` made that the server received in [fromMs, toMs]. */
export function requestsIn(
  requests: readonly AuditRequest[],
  user: string,
  fromMs: number,
  toMs: number,
): AuditRequest[] {
  return requests.filter((r) => r.user === user && r.at >= fromMs && r.at <= toMs);
}

/** Reads an audit log as it grows (only complete lines), keeping every request seen. */
export class AuditLog {
  private offset = 0;
  private partial = '';
  private readonly ids = new Set<string>();
  readonly requests: AuditRequest[] = [];

  constructor(readonly path: string) {}

  /** Reads what was appended since the last call. */
  refresh(): void {
    if (!existsSync(this.path)) return;
    const size = statSync(this.path).size;
    if (size <= this.offset) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      const text = this.partial + buf.toString('utf8');
      const cut = text.lastIndexOf('\n');
      this.partial = text.slice(cut + 1);
      for (const r of parseAuditLines(text.slice(0, cut + 1))) {
        if (this.ids.has(r.auditId)) continue;
        this.ids.add(r.auditId);
        this.requests.push(r);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Requests `user` made in [fromMs, toMs], reading the log first. */
  count(user: string, fromMs: number, toMs: number): number {
    this.refresh();
    return requestsIn(this.requests, user, fromMs, toMs).length;
  }
}
