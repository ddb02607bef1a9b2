// A small fake of the Cloud SQL Admin REST API (v1) for the endpoints Rotor calls: users.list,
// users.update and operations.get. users.update really applies the password to the local
// PostgreSQL (ALTER ROLE as superuser), and its operation reports PENDING/RUNNING for a few
// polls before DONE, like the real asynchronous API. Requests must carry a Bearer token.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { PostgresServer } from '../../harness/postgres';

export interface CloudSqlAdminFake {
  readonly url: string;
  /** Requests received, as `METHOD path` (no bodies: they hold passwords). */
  readonly requests: string[];
  /** Fail the next users.update operation with this error (a password policy rejection). */
  rejectNextUpdate(message: string): void;
  /** Answer the next users.update with HTTP 409 "operation in progress", as Cloud SQL does while
   * another operation (backup, maintenance) runs on the instance; nothing is changed. */
  busyNextUpdate(): void;
  close(): Promise<void>;
}

interface Op {
  polls: number;
  error?: string;
}

export async function startCloudSqlAdminFake(
  pg: PostgresServer,
  project: string,
  instance: string,
  token: string,
): Promise<CloudSqlAdminFake> {
  const requests: string[] = [];
  const ops = new Map<string, Op>();
  let nextId = 1;
  let reject: string | undefined;
  let busy = false;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(401, { error: { code: 401, message: 'missing or wrong token' } });
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      void (async () => {
        const base = `/v1/projects/${project}`;
        if (req.method === 'GET' && url.pathname === `${base}/instances/${instance}/users`) {
          const rows = await pg.query(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname NOT LIKE 'pg\\_%'",
          );
          return send(200, {
            kind: 'sql#usersList',
            items: rows.map((r) => ({ kind: 'sql#user', name: r.rolname, instance, project })),
          });
        }
        if (req.method === 'PUT' && url.pathname === `${base}/instances/${instance}/users`) {
          if (busy) {
            busy = false;
            const message =
              'Operation failed because another operation was already in progress. Try your request after the current operation is complete.';
            return send(409, {
              error: {
                code: 409,
                message,
                errors: [{ message, domain: 'global', reason: 'operationInProgress' }],
              },
            });
          }
          const name = url.searchParams.get('name') ?? '';
          const body = JSON.parse(raw || '{}') as { password?: string };
          const id = `op-${nextId++}`;
          if (reject) {
            ops.set(id, { polls: 1, error: reject });
            reject = undefined;
          } else {
            if (!body.password) return send(400, { error: { code: 400, message: 'password required' } });
            await pg.query(
              `ALTER ROLE ${escapeIdentifier(name)} WITH PASSWORD ${escapeLiteral(body.password)}`,
            );
            ops.set(id, { polls: 2 });
          }
          return send(200, {
            kind: 'sql#operation',
            name: id,
            status: 'PENDING',
            operationType: 'UPDATE_USER',
            targetProject: project,
            targetId: instance,
          });
        }
        const opMatch = new RegExp(`^${base}/operations/([^/]+)$`).exec(url.pathname);
        if (req.method === 'GET' && opMatch) {
          const op = ops.get(opMatch[1]);
          if (!op) return send(404, { error: { code: 404, message: 'operation not found' } });
          op.polls--;
          if (op.polls > 0) return send(200, { kind: 'sql#operation', name: opMatch[1], status: 'RUNNING' });
          return send(200, {
            kind: 'sql#operation',
            name: opMatch[1],
            status: 'DONE',
            ...(op.error
              ? {
                  error: {
                    kind: 'sql#operationErrors',
                    errors: [{ kind: 'sql#operationError', code: 'INVALID_PASSWORD', message: op.error }],
                  },
                }
              : {}),
          });
        }
        return send(404, { error: { code: 404, message: `no such endpoint ${req.method} ${url.pathname}` } });
      })().catch((err: unknown) => send(500, { error: { code: 500, message: String(err) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    rejectNextUpdate: (m) => void (reject = m),
    busyNextUpdate: () => void (busy = true),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
