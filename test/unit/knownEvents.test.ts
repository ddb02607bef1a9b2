// What a warm instance reuses between deliveries: the Kubernetes Events it created or found
// (functions/cluster/events.ts). A known Event costs no request; an unknown one is read or
// created as before; the memo is bounded and forgets the oldest first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import { KnownEvents, createEvent, eventExists } from '../../functions/cluster/events';
import type { KubeEvent } from '../../functions/core/kubeEvents';
import { memoryLogger } from '../../functions/log';

const event = (name: string, namespace = 'shop'): KubeEvent => ({
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name, namespace },
  eventTime: '2026-12-02T10:00:00.000000Z',
  type: 'Normal',
  reason: 'Restarted',
  action: 'Restart',
  reportingController: 'rotor',
  reportingInstance: 'onSecretEvent/host',
  regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: 'api' },
  note: 'projects/p/secrets/db version 7: restarted',
});

/** Answers every request with `status` (200: an empty object) and records it. */
class FakeApi implements KubeApi {
  readonly requests: string[] = [];
  constructor(
    readonly cluster: string,
    private readonly status: number,
  ) {}
  request<T>(req: KubeRequest): Promise<T> {
    this.requests.push(`${req.method} ${req.path}`);
    if (this.status === 200) return Promise.resolve({} as T);
    return Promise.reject(new KubeApiError(this.status, 'x', `status ${this.status}`, req.method, req.path));
  }
  requestCount(): number {
    return this.requests.length;
  }
  close(): void {}
}

describe('KnownEvents: the Events a warm instance need not read or create again', () => {
  it('an Event it created is known: a later check and a later create send nothing', async () => {
    const known = new KnownEvents();
    const api = new FakeApi('prod', 200);
    await createEvent(api, event('api.rotor.1'), memoryLogger(), known);
    assert.equal(await eventExists(api, event('api.rotor.1'), known), true);
    await createEvent(api, event('api.rotor.1'), memoryLogger(), known);
    assert.deepEqual(api.requests, ['POST /apis/events.k8s.io/v1/namespaces/shop/events']);
  });

  it('an Event another delivery created (409 on create, or found by a read) becomes known', async () => {
    const known = new KnownEvents();
    const conflict = new FakeApi('prod', 409);
    await createEvent(conflict, event('a'), memoryLogger(), known);
    assert.equal(known.has('prod', event('a')), true);
    const found = new FakeApi('prod', 200);
    assert.equal(await eventExists(found, event('b'), known), true);
    assert.equal(await eventExists(found, event('b'), known), true);
    assert.equal(found.requests.length, 1, 'read once');
  });

  it('a missing Event is not remembered: every delivery asks again until it is created', async () => {
    const known = new KnownEvents();
    const api = new FakeApi('prod', 404);
    assert.equal(await eventExists(api, event('gone'), known), false);
    assert.equal(await eventExists(api, event('gone'), known), false);
    assert.equal(api.requests.length, 2);
    assert.equal(known.size, 0);
  });

  it('a refused create (RBAC, validation) is not remembered', async () => {
    const known = new KnownEvents();
    const logger = memoryLogger();
    await createEvent(new FakeApi('prod', 403), event('denied'), logger, known);
    assert.equal(known.size, 0);
    assert.match(
      logger.entries[0]?.message ?? '',
      /^Kubernetes Event Restarted on Deployment shop\/api not created/,
    );
  });

  it('names are per cluster and namespace', () => {
    const known = new KnownEvents();
    known.add('prod', event('x', 'shop'));
    assert.equal(known.has('prod', event('x', 'shop')), true);
    assert.equal(known.has('staging', event('x', 'shop')), false);
    assert.equal(known.has('prod', event('x', 'billing')), false);
  });

  it('bounded: past the limit the oldest is forgotten (it costs a request again, never a wrong answer)', () => {
    const known = new KnownEvents(2);
    known.add('c', event('1'));
    known.add('c', event('2'));
    known.add('c', event('2'));
    known.add('c', event('3'));
    assert.equal(known.size, 2);
    assert.equal(known.has('c', event('1')), false);
    assert.equal(known.has('c', event('2')), true);
    assert.equal(known.has('c', event('3')), true);
  });

  it('without a memo (tests, the CLI) every check is a request, as before', async () => {
    const api = new FakeApi('prod', 200);
    await eventExists(api, event('e'));
    await eventExists(api, event('e'));
    assert.equal(api.requests.length, 2);
  });
});
