// The streaming list parser (functions/cluster/listItems.ts): fed in chunks cut anywhere, it must
// give what JSON.parse of the whole body gives, with `items` mapped through the caller's filter;
// and HttpKubeApi using it for a request with eachItem, over a real HTTP connection.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeApi, KubeApiError } from '../../functions/cluster/kubeApi';
import { ListItemParser } from '../../functions/cluster/listItems';
import type { KubeObject } from '../../functions/core/kube';

const keepAll = (o: unknown): unknown => o;

function parseInChunks<T>(
  text: string,
  cuts: readonly number[],
  each: (o: unknown) => T | undefined,
): unknown {
  const bytes = Buffer.from(text, 'utf8');
  const p = new ListItemParser(each);
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    p.write(bytes.subarray(from, cut));
    from = cut;
  }
  return p.end();
}

// Strings that contain every character the splitter must not mistake for structure: braces and
// brackets, commas and colons, escaped quotes after even and odd runs of backslashes, a key named
// "items" below the top level, and multi-byte UTF-8 (2, 3 and 4 bytes).
const tricky = {
  kind: 'DeploymentList',
  apiVersion: 'apps/v1',
  metadata: { resourceVersion: '4711', continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ', items: ['not the items'] },
  items: [
    { metadata: { name: 'a', annotations: { x: '{"items":[1,2]}', y: 'back\\slash\\\\', z: 'q"uo\\"te' } } },
    {
      metadata: { name: 'b-é-€-😀', labels: { 'k]': '[v}' } },
      spec: { items: [{ a: 1 }], n: [1, [2, [3]]] },
    },
    { metadata: { name: 'c' }, data: '\\\\"\\' },
  ],
};

describe('ListItemParser', () => {
  it('equals JSON.parse of the whole body, cut into two chunks at every byte', () => {
    const text = JSON.stringify(tricky);
    const bytes = Buffer.byteLength(text);
    for (let cut = 0; cut <= bytes; cut++)
      assert.deepEqual(parseInChunks(text, [cut], keepAll), tricky, `cut at byte ${cut}`);
  });

  it('equals JSON.parse when every byte is its own chunk, with pretty-printed whitespace', () => {
    const text = JSON.stringify(tricky, null, 2);
    const cuts = Array.from({ length: Buffer.byteLength(text) }, (_, i) => i);
    assert.deepEqual(parseInChunks(text, cuts, keepAll), tricky);
  });

  it('keeps only what the filter returns, in order, mapped', () => {
    const got = parseInChunks(JSON.stringify(tricky), [17, 90, 91], (o) => {
      const name = (o as { metadata: { name: string } }).metadata.name;
      return name === 'b-é-€-😀' ? undefined : name;
    });
    assert.deepEqual(got, { ...tricky, items: ['a', 'c'] });
  });

  it('a top-level key too long to keep does not inherit the name of the key before it', () => {
    const text = '{"items":null,"a-key-longer-than-sixteen-bytes":[{"x":1}]}';
    let seen = 0;
    const parsed = parseInChunks(text, [], (o) => {
      seen++;
      return o;
    });
    assert.deepEqual((parsed as Record<string, unknown>)['a-key-longer-than-sixteen-bytes'], [{ x: 1 }]);
    assert.equal(seen, 0, 'only `items` is split into items');
  });

  it('handles `items` before `metadata`, an empty list and a list without items', () => {
    const first = { items: [{ a: '}' }], metadata: { continue: 'x' } };
    assert.deepEqual(parseInChunks(JSON.stringify(first), [3, 12], keepAll), first);
    assert.deepEqual(parseInChunks('{"kind":"PodList","items":[]}', [10], keepAll), {
      kind: 'PodList',
      items: [],
    });
    assert.deepEqual(parseInChunks('{"kind":"Status","code":200}', [], keepAll), {
      kind: 'Status',
      code: 200,
      items: [],
    });
  });

  it('an escape in the key `items` still maps every item through the filter', () => {
    const got = parseInChunks('{"\\u0069tems":[{"n":1},{"n":2}]}', [5], (o) =>
      (o as { n: number }).n === 2 ? o : undefined,
    );
    assert.deepEqual(got, { items: [{ n: 2 }] });
  });

  it('rejects a truncated body and items that are not objects', () => {
    const text = JSON.stringify(tricky);
    const p = new ListItemParser(keepAll);
    p.write(Buffer.from(text.slice(0, 100)));
    assert.throws(() => p.end(), /ended in the middle/);
    const q = new ListItemParser(keepAll);
    assert.throws(() => q.write(Buffer.from('{"items":[[1]]}')), /must be objects/);
  });
});

describe('HttpKubeApi with eachItem, over HTTP', () => {
  const items = Array.from({ length: 300 }, (_, i) => ({
    metadata: { name: `w${i}`, managedFields: [{ manager: 'x' }] },
    spec: { note: `ünïcode "${'}'.repeat(i % 7)}" \\ ${i}` },
  }));
  const body = JSON.stringify({ kind: 'DeploymentList', metadata: { continue: 'next' }, items });
  let mode: 'ok' | 'forbidden' | 'truncated' = 'ok';
  const server = createServer((_req, res) => {
    if (mode === 'forbidden') {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'no list for you' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    // Many small writes: items are cut across chunks at odd places.
    const bytes = Buffer.from(body);
    const end = mode === 'truncated' ? bytes.length - 40 : bytes.length;
    for (let i = 0; i < end; i += 997) res.write(bytes.subarray(i, Math.min(end, i + 997)));
    if (mode === 'truncated') res.destroy();
    else res.end();
  });
  let api: HttpKubeApi;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    api = new HttpKubeApi(kc, 'c');
  });
  after(async () => {
    api.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('returns the body with only the items the filter kept, as it changed them', async () => {
    mode = 'ok';
    const got = await api.request<{ metadata: unknown; items: KubeObject[] }>({
      method: 'GET',
      path: '/apis/apps/v1/deployments',
      eachItem: (o) => {
        if (o.metadata) delete (o.metadata as { managedFields?: unknown }).managedFields;
        return Number((o.metadata?.name ?? '').slice(1)) % 100 === 7 ? o : undefined;
      },
    });
    assert.deepEqual(got.metadata, { continue: 'next' });
    assert.deepEqual(
      got.items,
      [7, 107, 207].map((i) => ({ metadata: { name: `w${i}` }, spec: items[i]?.spec })),
    );
  });

  it('an error status is still a KubeApiError with the server reason', async () => {
    mode = 'forbidden';
    await assert.rejects(
      api.request({ method: 'GET', path: '/apis/apps/v1/deployments', eachItem: (o) => o }),
      (e: unknown) => e instanceof KubeApiError && e.status === 403 && e.reason === 'Forbidden',
    );
  });

  it('a body cut short fails the request instead of returning part of the list', async () => {
    mode = 'truncated';
    await assert.rejects(
      api.request({ method: 'GET', path: '/apis/apps/v1/deployments', eachItem: (o) => o }),
    );
  });
});
