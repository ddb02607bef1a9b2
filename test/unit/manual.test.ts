// The `manual` decision: kinds Rotor reads but never acts on (bare Pods, Jobs a CronJob does not
// own), and workloads that ask a person to approve (rotor.dev/on-rotate: manual).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvals } from '../../functions/cli/apply';
import type { Decision, EventContext } from '../../functions/core/decision';
import { decide } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { decideLive } from '../../functions/core/liveDecision';
import { buildPlan, decideAll } from '../../functions/core/plan';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { renderTable } from '../../functions/render/table';
import { InputError } from '../../functions/errors';
import { container, envFromKey, externalSecret, mount, secretVolume, store, workload } from './k8s';

const projects = new ProjectMap();
const ADD7: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: parseSecretName('projects/my-proj/secrets/db-password').id,
  version: '7',
  time: '2024-05-01T10:00:00Z',
};
const world: KubeObject[] = [
  store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' }),
  externalSecret('creds', {
    secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
    data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
  }),
];
const envPod = { containers: [container('app', { env: [envFromKey('DB_PASSWORD', 'creds', 'pw')] })] };
const volumePod = {
  containers: [container('app', { volumeMounts: [mount('c', '/etc/creds')] })],
  volumes: [secretVolume('c', 'creds', [{ key: 'pw', path: 'pw' }])],
};

function index(...objects: KubeObject[]): DependencyIndex {
  return new DependencyIndex(inventoryFrom('c', [...world, ...objects]), { projects });
}
function decideOne(w: KubeObject, approved?: boolean): Decision {
  const ix = index(w);
  const found = ix.dependentsOf(ADD7.secret);
  assert.equal(found.length, 1, `${w.metadata?.name} should depend on db-password`);
  return decide(found[0], ADD7, {
    secretKey: ix.keyOf(ADD7.secret),
    ...(approved !== undefined ? { approved } : {}),
  });
}
const owned = (o: KubeObject, kind: string, controller = true): KubeObject => ({
  ...o,
  metadata: { ...o.metadata, ownerReferences: [{ kind, name: 'owner', uid: 'u1', controller }] },
});

describe('kinds Rotor reads but never acts on', () => {
  it('a bare Pod reading the secret from env is manual, awaiting replacement, with the reason', () => {
    const d = decideOne(workload('Pod', 'debug', envPod));
    assert.equal(d.action, 'manual');
    assert.equal(d.action === 'manual' ? d.awaiting : undefined, 'replacement');
    assert.match(
      d.reason,
      /^a bare Pod keeps the old value until it is replaced; Rotor does not delete Pods \(it would restart: env DB_PASSWORD/,
    );
  });

  it('a Job no CronJob owns is manual; approval does not change that', () => {
    const d = decideOne(workload('Job', 'migrate', envPod), true);
    assert.equal(d.action, 'manual');
    assert.match(d.reason, /^a running Job keeps the old value until its pods finish/);
  });

  it('a CronJob`s Job and a ReplicaSet`s Pod are not discovered on their own (counted once, by their owner)', () => {
    const ix = index(
      owned(workload('Job', 'nightly-123', envPod), 'CronJob'),
      owned(workload('Pod', 'api-5d9-abc', envPod), 'ReplicaSet'),
    );
    assert.deepEqual(ix.dependentsOf(ADD7.secret), []);
  });

  it('a Pod with a non-controller owner reference is still bare', () => {
    assert.equal(decideOne(owned(workload('Pod', 'p', envPod), 'ConfigMap', false)).action, 'manual');
  });

  it('what needs nothing stays none: a bare Pod that says on-rotate none', () => {
    const d = decideOne(workload('Pod', 'p', volumePod, { annotations: { 'rotor.dev/on-rotate': 'none' } }));
    assert.equal(d.action, 'none');
  });

  it('a plan that finds only such consumers counts them, not "0 dependent workloads"', () => {
    const ix = index(workload('Pod', 'debug', envPod), workload('Job', 'migrate', envPod));
    const plan = buildPlan(ADD7, decideAll(ix, ADD7), projects);
    assert.deepEqual(
      plan.workloads.map((w) => [w.kind, w.name, w.action]),
      [
        ['Pod', 'debug', 'manual'],
        ['Job', 'migrate', 'manual'],
      ],
    );
    assert.match(renderTable(plan), /\n2 dependent workloads: 2 manual\n/);
  });
});

describe('rotor.dev/on-rotate: manual', () => {
  const asksPerson = workload('Deployment', 'ledger', envPod, {
    annotations: { 'rotor.dev/on-rotate': 'manual' },
  });

  it('holds a restart for approval and says what approval would do', () => {
    const d = decideOne(asksPerson);
    assert.equal(d.action, 'manual');
    assert.equal(d.action === 'manual' ? d.awaiting : undefined, 'approval');
    assert.match(
      d.reason,
      /^rotor\.dev\/on-rotate: manual — approve with rotor apply --workload shop\/ledger \(it would restart: env DB_PASSWORD/,
    );
  });

  it('once approved, decides as without the annotation', () => {
    const d = decideOne(asksPerson, true);
    assert.equal(d.action, 'restart');
    assert.deepEqual('records' in d ? d.records : undefined, [
      { key: 'projects/my-proj/secrets/db-password', version: '7' },
    ]);
  });

  it('an event already applied is none, not a request for approval', () => {
    const w = workload('Deployment', 'ledger', envPod, {
      annotations: {
        'rotor.dev/on-rotate': 'manual',
        'rotor.dev/applied': JSON.stringify({ 'projects/my-proj/secrets/db-password': '7' }),
      },
    });
    assert.equal(decideOne(w).action, 'none');
  });

  it('live: reported as manual awaiting approval, not a wait (the event is acked)', () => {
    const ix = index(asksPerson);
    const [wd] = ix.dependentsOf(ADD7.secret);
    const live = {
      secretKey: ix.keyOf(ADD7.secret),
      projects,
      externalSecrets: new Map(),
      spcPodStatuses: [],
      pods: [],
      dryRun: false,
      now: Date.parse('2024-05-01T10:01:00Z'),
      maxWaitMs: 60_000,
      waitSince: Date.parse('2024-05-01T10:01:00Z'),
    };
    const held = decideLive(wd, ADD7, live);
    assert.equal(held.action, 'manual');
    assert.equal(held.action === 'manual' ? held.awaiting : undefined, 'approval');
    // The ExternalSecret has no status: approved, the restart waits for ESO's sync like any other.
    assert.equal(decideLive(wd, ADD7, { ...live, approved: true }).action, 'wait');
  });
});

describe('rotor apply --workload / --all-manual', () => {
  const ref = (namespace: string, name: string) => ({
    cluster: 'c',
    kind: 'Deployment' as const,
    namespace,
    name,
  });
  it('approves exactly the workloads named NAMESPACE/NAME', () => {
    const approve = approvals(['shop/ledger', 'billing/api'], false);
    assert.equal(approve(ref('shop', 'ledger')), true);
    assert.equal(approve(ref('billing', 'api')), true);
    assert.equal(approve(ref('shop', 'api')), false);
  });
  it('--all-manual approves every workload', () => {
    assert.equal(approvals([], true)(ref('x', 'y')), true);
  });
  it('nothing given approves nothing', () => {
    assert.equal(approvals([], false)(ref('shop', 'ledger')), false);
  });
  it('rejects a malformed --workload and both flags together', () => {
    assert.throws(() => approvals(['ledger'], false), InputError);
    assert.throws(() => approvals(['shop/Ledger;rm'], false), /is not NAMESPACE\/NAME/);
    assert.throws(() => approvals(['shop/ledger'], true), /not both/);
  });
});
