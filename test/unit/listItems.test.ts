// The streaming list parser (functions/cluster/listItems.ts): fed in chunks cut anywhere, it must
// give what JSON.parse of the whole body gives, with `items` mapped through the caller's filter;
// and HttpKubeApi using it for a request with eachItem, over a real HTTP connection.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { HttpKubeApi } from '../../functions/cluster/kubeApi';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import { ListItemParser, MAX_MENTIONED, mentioning } from '../../functions/cluster/listItems';
import type { KubeObject } from '../../functions/core/kube';
import { kubeApiOn } from './localKubeApi';

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

describe('ListItemParser with mayKeep: items dropped before they are parsed', () => {
  it('neither parses nor offers an item mayKeep refuses; the others as without it', () => {
    // The second item is not JSON a parser accepts (`tru`): refused, it is never parsed.
    const text = '{"kind":"L","items":[{"n":"keep-1"},{"n":"drop","x":tru},{"n":"keep-2"}],"metadata":{}}';
    const offered: unknown[] = [];
    const p = new ListItemParser(
      (o) => {
        offered.push(o);
        return o;
      },
      (bytes) => !bytes.toString('utf8').includes('drop'),
    );
    const bytes = Buffer.from(text);
    p.write(bytes.subarray(0, 30));
    p.write(bytes.subarray(30));
    assert.deepEqual(p.end(), { kind: 'L', items: [{ n: 'keep-1' }, { n: 'keep-2' }], metadata: {} });
    assert.deepEqual(offered, [{ n: 'keep-1' }, { n: 'keep-2' }]);
    // Without mayKeep the same body is parsed item by item, and the bad one fails it.
    assert.throws(() => parseInChunks(text, [30], keepAll), SyntaxError);
  });
});

describe('mentioning: an item may be kept only if its JSON names what is wanted, in its namespace', () => {
  const may = mentioning({
    anywhere: ['rotor.dev/secrets'],
    namespaced: ['shop/db-creds', 'shop/db.csi', 'data/token'],
  });
  const item = (
    namespace: string | undefined,
    spec: unknown,
    extra: object = {},
  ): Record<string, unknown> => ({
    metadata: { name: 'w', ...(namespace ? { namespace } : {}), ...extra },
    spec,
  });
  const envFrom = (name: string): unknown => ({ containers: [{ envFrom: [{ secretRef: { name } }] }] });
  const check = (o: unknown, space?: number): boolean =>
    may?.(Buffer.from(JSON.stringify(o, null, space))) ?? true;
  it('finds a name as a whole value in its namespace, compact or pretty-printed', () => {
    assert.equal(check(item('shop', envFrom('db-creds'))), true);
    assert.equal(check(item('shop', envFrom('db-creds')), 2), true);
    const csi = { volumes: [{ csi: { volumeAttributes: { secretProviderClass: 'db.csi' } } }] };
    assert.equal(check(item('shop', csi)), true);
    assert.equal(check(item('data', { volumes: [{ secret: { secretName: 'token' } }] })), true);
    // No namespace at all: "default", as discovery reads it (always a candidate: which
    // "namespace" key is the item's own is not known without parsing).
    const inDefault = mentioning({ anywhere: [], namespaced: ['default/db-creds'] });
    assert.equal(inDefault?.(Buffer.from(JSON.stringify(item(undefined, envFrom('db-creds'))))), true);
    assert.equal(inDefault?.(Buffer.from(JSON.stringify(item('shop', envFrom('db-creds'))))), true);
    assert.equal(inDefault?.(Buffer.from(JSON.stringify(item('shop', envFrom('token'))))), false);
  });
  it('the annotation key anywhere, in any namespace', () => {
    assert.equal(check(item('elsewhere', {}, { annotations: { 'rotor.dev/secrets': 'x' } })), true);
    assert.equal(
      check(item('elsewhere', { template: { metadata: { annotations: { 'rotor.dev/secrets': 'x' } } } })),
      true,
    );
  });
  it('refuses the name in another namespace, a part of a longer string, a near key, nothing wanted', () => {
    assert.equal(check(item('other', envFrom('db-creds'))), false);
    assert.equal(check(item('shop', envFrom('token'))), false); // token is wanted in data only
    assert.equal(check(item('shop', envFrom('db-creds-old'))), false);
    assert.equal(check(item('shop', envFrom('old-db-creds'))), false);
    assert.equal(check(item('shop', envFrom('dbxcsi'))), false); // the dot is not a wildcard
    assert.equal(check(item('shop', { args: ['db-creds is read from a file'] })), false);
    assert.equal(check(item('x', {}, { annotations: { 'rotor.dev/secrets-note': 'db-creds' } })), false);
    assert.equal(check(item('shop', {}, { labels: { 'ünïcode-ø': 'é' } })), false);
    assert.equal(check({}), false);
  });
  it('conservative: any "namespace" key counts, the name as a key counts', () => {
    assert.equal(check(item('other', envFrom('db-creds'), { owner: { namespace: 'shop' } })), true);
    assert.equal(check(item('shop', {}, { labels: { 'db-creds': 'yes' } })), true);
  });
  it('keeps every item with a backslash: an escape may spell a name otherwise', () => {
    // "db-cred\u0073" in JSON is db-creds.
    const escaped = '{"metadata":{"namespace":"shop"},"spec":{"secretName":"db-cred\\u0073"}}';
    assert.equal((JSON.parse(escaped) as { spec: { secretName: string } }).spec.secretName, 'db-creds');
    assert.equal(may?.(Buffer.from(escaped)), true);
    assert.equal(check(item('other', { args: ['echo a\nb'] })), true);
    assert.equal(check(item('other', { args: ['say "hi"'] })), true);
  });
  it('no pre-filter for names a match could straddle (quotes, commas, colons, spaces) or past MAX_MENTIONED', () => {
    assert.equal(mentioning({ anywhere: [], namespaced: ['ns/a","b'] }), undefined);
    assert.equal(mentioning({ anywhere: [], namespaced: ['ns/,'] }), undefined);
    assert.equal(mentioning({ anywhere: ['a:b'], namespaced: [] }), undefined);
    assert.equal(mentioning({ anywhere: [], namespaced: ['ns/a b'] }), undefined);
    const many = Array.from({ length: MAX_MENTIONED + 1 }, (_, i) => `ns/s${i}`);
    assert.equal(mentioning({ anywhere: [], namespaced: many }), undefined);
    // The same name in several namespaces counts once.
    const same = Array.from({ length: MAX_MENTIONED + 1 }, (_, i) => `ns${i}/s`);
    assert.notEqual(mentioning({ anywhere: [], namespaced: same }), undefined);
  });
  it('nothing wanted: every item refused', () => {
    assert.equal(mentioning({ anywhere: [], namespaced: [] })?.(Buffer.from('{"a":"b"}')), false);
  });
});

describe('HttpKubeApi with eachItem, over HTTP', () => {
  const items = Array.from({ length: 300 }, (_, i) => ({
    metadata: { name: `w${i}`, managedFields: [{ manager: 'x' }] },
    spec: { note: `ünïcode "${'}'.repeat(i % 7)}" \\ ${i}` },
  }));
  const body = JSON.stringify({ kind: 'DeploymentList', metadata: { continue: 'next' }, items });
  // The same names with notes free of backslashes: what a byte test can refuse.
  const plainBody = JSON.stringify({
    kind: 'DeploymentList',
    metadata: { continue: 'next' },
    items: items.map((o, i) => ({ ...o, spec: { note: `plain ${i}` } })),
  });
  let mode: 'ok' | 'plain' | 'forbidden' | 'truncated' = 'ok';
  const server = createServer((_req, res) => {
    if (mode === 'forbidden') {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'no list for you' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    // Many small writes: items are cut across chunks at odd places.
    const bytes = Buffer.from(mode === 'plain' ? plainBody : body);
    const end = mode === 'truncated' ? bytes.length - 40 : bytes.length;
    for (let i = 0; i < end; i += 997) res.write(bytes.subarray(i, Math.min(end, i + 997)));
    if (mode === 'truncated') res.destroy();
    else res.end();
  });
  let api: HttpKubeApi;
  before(async () => {
    api = await kubeApiOn(server);
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

  it('with mayKeepItem: the same kept items; refused ones are never offered, unless they hold a backslash', async () => {
    const request = async (): Promise<{ items: KubeObject[]; offered: string[] }> => {
      const offered: string[] = [];
      const got = await api.request<{ items: KubeObject[] }>({
        method: 'GET',
        path: '/apis/apps/v1/deployments',
        eachItem: (o) => {
          offered.push(o.metadata?.name ?? '');
          if (o.metadata) delete (o.metadata as { managedFields?: unknown }).managedFields;
          return Number((o.metadata?.name ?? '').slice(1)) % 100 === 7 ? o : undefined;
        },
        mayKeepItem: mentioning({ anywhere: ['w7', 'w107', 'w207'], namespaced: [] }),
      });
      return { items: got.items, offered };
    };
    mode = 'plain';
    const plain = await request();
    assert.deepEqual(
      plain.items,
      [7, 107, 207].map((i) => ({ metadata: { name: `w${i}` }, spec: { note: `plain ${i}` } })),
    );
    assert.deepEqual(plain.offered, ['w7', 'w107', 'w207']);
    // Every note of the other body holds a backslash: each item is parsed and offered.
    mode = 'ok';
    const escaped = await request();
    assert.deepEqual(
      escaped.items,
      [7, 107, 207].map((i) => ({ metadata: { name: `w${i}` }, spec: items[i]?.spec })),
    );
    assert.equal(escaped.offered.length, 300);
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
