// A Resource Manager stand-in on loopback: v3 projects.get (`GET /v3/projects/NUMBER`) answers
// `{name, projectId, state}` for the projects it knows and the caller may read, and 403
// PERMISSION_DENIED otherwise (Google answers 403 for a project that does not exist, too). Every
// request is recorded, so tests can count lookups. A test can make the next answers fail the way
// Google's front end does when it is in trouble (503 UNAVAILABLE, 429 RESOURCE_EXHAUSTED), or
// never come (a request that hangs until the caller gives up).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ResourceManagerStandIn {
  readonly url: string;
  /** `GET /v3/projects/42` ... in arrival order. */
  readonly requests: string[];
  /** The next `times` requests are answered `status` (e.g. 503, 429) before anything else. */
  failNext(status: number, times?: number): void;
  /** The next `times` requests are never answered (until close). */
  stallNext(times?: number): void;
  close(): Promise<void>;
}

export async function startResourceManagerStandIn(opts: {
  /** project number → project id */
  readonly projects: Readonly<Record<string, string>>;
  /** The bearer token a caller must present. */
  readonly token: string;
  /** Numbers the caller may not read (403, as without resourcemanager.projects.get). */
  readonly denied?: readonly string[];
}): Promise<ResourceManagerStandIn> {
  const requests: string[] = [];
  const upcoming: Array<number | 'stall'> = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(`${req.method ?? ''} ${url}`);
    const json = (status: number, body: object) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const next = upcoming.shift();
    if (next === 'stall') return;
    if (next !== undefined)
      return json(next, {
        error: {
          code: next,
          message: next === 429 ? 'Quota exceeded.' : 'The service is currently unavailable.',
          status: next === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE',
        },
      });
    const m = /^\/v3\/projects\/([0-9]+)$/.exec(url);
    if (req.method !== 'GET' || !m) return json(404, { error: { code: 404, status: 'NOT_FOUND' } });
    const number = m[1];
    const id = opts.projects[number];
    if (req.headers.authorization !== `Bearer ${opts.token}`)
      return json(401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
    if (!id || opts.denied?.includes(number))
      return json(403, {
        error: {
          code: 403,
          message: `Permission 'resourcemanager.projects.get' denied on resource '//cloudresourcemanager.googleapis.com/projects/${number}' (or it may not exist).`,
          status: 'PERMISSION_DENIED',
        },
      });
    return json(200, { name: `projects/${number}`, projectId: id, state: 'ACTIVE' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) upcoming.push(status);
    },
    stallNext(times = 1) {
      for (let i = 0; i < times; i++) upcoming.push('stall');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
