// The harness's list-and-watch of a collection (test/harness/listWatch.ts: the storm bench's Deployments,
// the kubelet stand-in's pods) against a local HTTP server
// standing in for the API server: list, watch from the list's version, re-list on 410 Gone, and a
// stop() that leaves no request running (the 2 000-dependents run died of an unhandled rejection
// from the bench's own poller after teardown).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { ControlPlane } from '../../test/harness/controlPlane';
import { ListWatch } from '../../test/harness/listWatch';

interface DeploymentView {
  metadata: { name: string; generation?: number; resourceVersion?: string };
  spec: { template: object };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

const deployment = (name: string, rv: string, available: number): DeploymentView => ({
  metadata: { name, generation: 1, resourceVersion: rv },
  spec: { template: {} },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: available },
});

describe('the storm bench watch of its Deployments', () => {
  const watches: string[] = [];
  const open = new Set<ServerResponse>();
  let lists = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('watch') !== 'true') return res.end();
    const rv = url.searchParams.get('resourceVersion') ?? '';
    watches.push(rv);
    res.writeHead(200, { 'content-type': 'application/json' });
    // As the API server does: the headers go out at once, events follow as they happen.
    res.flushHeaders();
    open.add(res);
    res.on('close', () => open.delete(res));
    if (rv === '10') {
      // One change, then the version is gone: the watch must re-list.
      res.write(JSON.stringify({ type: 'MODIFIED', object: deployment('a', '11', 1) }) + '\n');
      res.write(
        JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }) + '\n',
      );
    }
    // From the re-list's version (20): held open with nothing to say, until the client leaves.
  });
  after(() => server.close());

  it('lists, watches from the list, re-lists on 410 and stops with no request left open', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const plane = {
      kubeConfig: () => kc,
      admin: <T>(): Promise<T> => {
        lists++;
        // The first list: 'a' not yet Available; the re-list after 410: 'b' appeared too.
        const items =
          lists === 1 ? [deployment('a', '9', 0)] : [deployment('a', '11', 1), deployment('b', '20', 1)];
        return Promise.resolve({ metadata: { resourceVersion: lists === 1 ? '10' : '20' }, items } as T);
      },
    } as unknown as ControlPlane;

    const w = await ListWatch.start<DeploymentView>(plane, '/apis/apps/v1/namespaces/storm/deployments');
    const seen: string[] = [];
    w.listen((d) => seen.push(`${d.metadata.name}@${d.metadata.resourceVersion ?? ''}`));
    await w.until((current) => current.has('b'), 10_000, "'b' seen");
    // The next watch starts from the re-list's version.
    for (let i = 0; i < 100 && watches.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(watches.slice(0, 2), ['10', '20']);
    assert.equal(w.relists, 1);
    assert.deepEqual(seen, ['a@11', 'a@11', 'b@20']);
    assert.equal(w.current.get('a')?.status?.availableReplicas, 1);

    await w.stop();
    // The held watch is closed by the client: nothing of the bench talks to the server any more.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(open.size, 0);
    assert.equal(lists, 2);
  });

  it('until() rejects after its timeout naming what it waited for', async () => {
    const plane = {
      kubeConfig: () => {
        const kc = new KubeConfig();
        const port = (server.address() as AddressInfo).port;
        kc.loadFromOptions({
          clusters: [{ name: 'c', server: `http://127.0.0.1:${port}` }],
          users: [{ name: 'u' }],
          contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
          currentContext: 'x',
        });
        return kc;
      },
      admin: <T>(): Promise<T> => Promise.resolve({ metadata: { resourceVersion: '20' }, items: [] } as T),
    } as unknown as ControlPlane;
    const w = await ListWatch.start<DeploymentView>(plane, '/apis/apps/v1/namespaces/storm/deployments');
    await assert.rejects(
      w.until(() => false, 50, 'the impossible'),
      /timed out after 50 ms waiting for the impossible/,
    );
    await w.stop();
  });
});
