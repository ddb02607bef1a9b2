// What a pod (or a broken API server) can make a request cost: a reload endpoint reached through
// the pod proxy may answer hundreds of MiB, or trickle a byte at a time to hold the request open.
// HttpKubeApi reads at most RAW_BODY_LIMIT bytes of a pod's answer and puts one deadline on the
// whole exchange. Against a real HTTP server on loopback, playing the API server and the pod.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { reloadPods } from '../../functions/cluster/actions';
import type { HttpKubeApi } from '../../functions/cluster/kubeApi';
import { KubeApiError, RAW_BODY_LIMIT } from '../../functions/cluster/kubeApi';
import { TransientError } from '../../functions/errors';
import type { KubeObject } from '../../functions/core/kube';
import { kubeApiOn } from './localKubeApi';

const PROXY = '/api/v1/namespaces/shop/pods/web-1%3A8080/proxy/';
const MiB = 1024 * 1024;
/** What the flooding pod offers to send. */
const FLOOD_BYTES = 64 * MiB;

/** Writes `total` bytes of `x` as fast as the client reads them; resolves with what was written. */
function flood(res: ServerResponse, total: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let written = 0;
  return new Promise((resolve) => {
    const more = (): void => {
      while (written < total && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('close', () => resolve(written));
    more();
  });
}

describe('HttpKubeApi bounds what an answer can cost', { timeout: 120_000 }, () => {
  let answer: (res: ServerResponse) => void = (res) => res.end('ok');
  let sent: Promise<number> = Promise.resolve(0);
  const trickles: NodeJS.Timeout[] = [];
  const server = createServer((_req, res) => answer(res));
  let api: HttpKubeApi;
  before(async () => {
    api = await kubeApiOn(server);
  });
  after(async () => {
    for (const t of trickles) clearInterval(t);
    api.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('a pod answering 64 MiB: the answer kept is RAW_BODY_LIMIT bytes, and reading stops there', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      sent = flood(res, FLOOD_BYTES);
    };
    const body = await api.request<string>({ method: 'POST', path: `${PROXY}reload`, raw: true, body: '' });
    assert.equal(body.length, RAW_BODY_LIMIT);
    assert.equal(body, 'x'.repeat(4096));
    const written = await sent;
    // The socket buffers take a few MiB before the pod sees the connection close; never the flood.
    assert.ok(written < 16 * MiB, `the pod wrote ${written} bytes before Rotor hung up`);
  });

  it('a pod answering a 64 MiB error: the reload result says why in a short line', async () => {
    answer = (res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      // A Status the pod forged, with a message that never ends.
      res.write('{"kind":"Status","reason":"InternalError","message":"');
      sent = flood(res, FLOOD_BYTES);
    };
    const pod: KubeObject = {
      metadata: { name: 'web-1', namespace: 'shop' },
      spec: { containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }] },
    };
    const [result] = await reloadPods(
      api,
      'shop',
      [pod],
      { port: '8080', path: '/reload' },
      { retries: 0, backoffMs: 0 },
    );
    assert.equal(result?.ok, false);
    assert.equal(
      result?.error,
      'POST /api/v1/namespaces/shop/pods/web-1%3A8080/proxy/reload: 500 Internal Server Error: the pod answered with an error (body not logged)',
    );
    assert.ok((await sent) < 16 * MiB);
  });

  it('a Status message the pod wrote is cut to a short, escaped prefix', async () => {
    answer = (res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ kind: 'Status', reason: 'Unavailable', message: `\u001b[2K${'y'.repeat(1000)}` }),
      );
    };
    await assert.rejects(
      api.request({ method: 'POST', path: `${PROXY}reload`, raw: true, body: '' }),
      (e: unknown) =>
        e instanceof KubeApiError &&
        e.status === 503 &&
        e.message ===
          `POST ${PROXY}reload: 503 Unavailable: \\x1b[2K${'y'.repeat(196)}… (+804 more characters)`,
    );
  });

  it('a server trickling its answer a byte at a time is cut off at the deadline, with a clear error', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":[');
      // Never idle for long: a socket idle timeout never fires on this.
      trickles.push(setInterval(() => res.write(' '), 100));
    };
    await assert.rejects(
      api.request({ method: 'GET', path: '/apis/apps/v1/deployments', timeoutMs: 1500 }),
      (e: unknown) =>
        e instanceof TransientError &&
        e.message === 'GET /apis/apps/v1/deployments on c: no complete answer within 1500 ms',
    );
  });

  it('the deadline holds through the pod proxy too', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      trickles.push(setInterval(() => res.write('.'), 100));
    };
    await assert.rejects(
      api.request({ method: 'POST', path: `${PROXY}reload`, raw: true, body: '', timeoutMs: 1500 }),
      /no complete answer within 1500 ms/,
    );
  });
});
