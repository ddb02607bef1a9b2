// ClusterExternalSecret: offline, expanded into the namespaces its selectors / namespaces list pick
// from the Namespace objects given; live, its children (ExternalSecrets ESO created, owned by it)
// are followed without counting a workload twice, and force-synced through the parent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandClusterExternalSecrets, matchesSelector } from '../../functions/core/clusterExternalSecret';
import type { EventContext } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import { forceSyncTarget, forceSyncTargets } from '../../functions/core/forceSync';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { buildPlan, decideAll } from '../../functions/core/plan';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { InputError } from '../../functions/errors';
import { container, deployment, envFromKey, externalSecret, store } from './k8s';

const projects = new ProjectMap();
const ADD7: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: parseSecretName('projects/my-proj/secrets/db-password').id,
  version: '7',
  time: '2024-05-01T10:00:00Z',
};
const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const esSpec = {
  refreshInterval: '1h',
  secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
  target: { name: 'db' },
  data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
};
const ces = (spec: Record<string, unknown>, name = 'db-everywhere'): KubeObject => ({
  apiVersion: 'external-secrets.io/v1',
  kind: 'ClusterExternalSecret',
  metadata: { name },
  spec: { externalSecretSpec: esSpec, ...spec },
});
const app = (namespace: string): KubeObject =>
  deployment(
    'api',
    { containers: [container('app', { env: [envFromKey('DB_PASSWORD', 'db', 'pw')] })] },
    { namespace },
  );
const gcp = store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' });

function planOf(objects: KubeObject[]) {
  const problems: string[] = [];
  const index = new DependencyIndex(inventoryFrom('c', [gcp, ...objects]), {
    projects,
    onProblem: (m) => problems.push(m),
  });
  return { plan: buildPlan(ADD7, decideAll(index, ADD7), projects), problems, index };
}
const where = (objects: KubeObject[]): string[] =>
  planOf(objects).plan.workloads.map((w) => `${w.namespace}/${w.name}:${w.action}`);

describe('ClusterExternalSecret offline: expanded into the namespaces it picks', () => {
  const namespaces = [ns('team-a', { db: 'yes' }), ns('team-b', { db: 'yes', tier: 'prod' }), ns('team-c')];
  const apps = [app('team-a'), app('team-b'), app('team-c')];

  it('namespaceSelectors (ORed): a workload in each picked namespace restarts, the others are not dependents', () => {
    const picked = where([
      ces({ namespaceSelectors: [{ matchLabels: { db: 'yes' } }] }),
      ...namespaces,
      ...apps,
    ]);
    assert.deepEqual(picked, ['team-a/api:restart', 'team-b/api:restart']);
  });

  it('the deprecated namespaceSelector and namespaces list count too, ORed with the selectors', () => {
    assert.deepEqual(
      where([ces({ namespaceSelector: { matchLabels: { tier: 'prod' } } }), ...namespaces, ...apps]),
      ['team-b/api:restart'],
    );
    assert.deepEqual(
      where([
        ces({ namespaces: ['team-c'], namespaceSelectors: [{ matchLabels: { tier: 'prod' } }] }),
        ...namespaces,
        ...apps,
      ]),
      ['team-b/api:restart', 'team-c/api:restart'],
    );
  });

  it('the reason names the ClusterExternalSecret behind the ExternalSecret', () => {
    const { plan } = planOf([ces({ namespaces: ['team-a'] }), app('team-a')]);
    assert.match(
      plan.workloads[0].dependencies[0].detail,
      /synced by ExternalSecret team-a\/db-everywhere \(from ClusterExternalSecret db-everywhere\)/,
    );
  });

  it('externalSecretName names the children; kubernetes.io/metadata.name selects by name', () => {
    const [child] = expandClusterExternalSecrets(
      [
        ces({
          externalSecretName: 'db-copy',
          externalSecretMetadata: { annotations: { team: 'x' } },
          namespaceSelectors: [
            {
              matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-c'] }],
            },
          ],
        }),
      ],
      namespaces,
      [],
      () => undefined,
    );
    assert.equal(child.metadata?.name, 'db-copy');
    assert.equal(child.metadata?.namespace, 'team-c');
    assert.deepEqual(child.metadata?.annotations, { team: 'x' });
    assert.deepEqual(child.metadata?.ownerReferences, [
      { kind: 'ClusterExternalSecret', name: 'db-everywhere', controller: true },
    ]);
    // With the ClusterExternalSecret's uid when the manifest has one, as ESO's owner reference.
    const [withUid] = expandClusterExternalSecrets(
      [{ ...ces({ namespaces: ['team-c'] }), metadata: { name: 'db-everywhere', uid: 'ces-uid-1' } }],
      [],
      [],
      () => undefined,
    );
    assert.deepEqual(withUid.metadata?.ownerReferences, [
      { kind: 'ClusterExternalSecret', name: 'db-everywhere', uid: 'ces-uid-1', controller: true },
    ]);
    assert.deepEqual(child.spec, esSpec);
  });

  it('says when no Namespace objects were given: selectors pick nothing', () => {
    const { plan, problems } = planOf([
      ces({ namespaceSelectors: [{ matchLabels: { db: 'yes' } }] }),
      ...apps,
    ]);
    assert.deepEqual(plan.workloads, []);
    assert.deepEqual(problems, [
      'ClusterExternalSecret db-everywhere: no Namespace objects were given, so its namespace selectors pick no namespace (add the Namespace manifests to expand it)',
    ]);
  });

  it('a malformed ClusterExternalSecret is a clear error naming it', () => {
    assert.throws(
      () =>
        expandClusterExternalSecrets([ces({ namespaceSelectors: ['db'] })], namespaces, [], () => undefined),
      (e: unknown) =>
        e instanceof InputError &&
        /ClusterExternalSecret db-everywhere: a namespace selector is not an object/.test(e.message),
    );
    assert.throws(
      () =>
        matchesSelector(
          { matchExpressions: [{ key: 'a', operator: 'Like' }] },
          {},
          'ClusterExternalSecret x',
        ),
      /operator "Like" is not In, NotIn, Exists or DoesNotExist/,
    );
  });

  it('label selectors: NotIn, Exists, DoesNotExist, and the empty selector matches every namespace', () => {
    const labels = { tier: 'prod' };
    assert.equal(
      matchesSelector(
        { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['prod'] }] },
        labels,
        'x',
      ),
      false,
    );
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels, 'x'),
      true,
    );
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels, 'x'),
      false,
    );
    assert.equal(matchesSelector({}, labels, 'x'), true);
  });
});

describe('ClusterExternalSecret live: its children, once', () => {
  /** The child ESO created in team-a, as the API server lists it. */
  const child: KubeObject = {
    ...externalSecret('db-everywhere', esSpec, { namespace: 'team-a' }),
    metadata: {
      name: 'db-everywhere',
      namespace: 'team-a',
      ownerReferences: [
        { kind: 'ClusterExternalSecret', name: 'db-everywhere', uid: 'u1', controller: true },
      ],
    },
  };

  it('a namespace that already holds the child is not expanded again: one dependency, not two', () => {
    const { plan } = planOf([ces({ namespaces: ['team-a'] }), child, app('team-a')]);
    assert.equal(plan.workloads.length, 1);
    assert.equal(plan.workloads[0].dependencies.length, 1);
  });

  it('a child force-syncs through its ClusterExternalSecret (ESO reverts annotations set on a child)', () => {
    const { index } = planOf([child, app('team-a')]);
    const [wd] = index.dependentsOf(ADD7.secret);
    const targets = forceSyncTargets(
      wd.dependencies,
      new Map([['team-a/db-everywhere', child]]),
      ADD7.time,
      Date.parse('2024-05-01T10:00:10Z'),
    );
    assert.deepEqual(
      targets.map((t) => [t.key, t.clusterExternalSecret]),
      [['team-a/db-everywhere', { name: 'db-everywhere', uid: 'u1' }]],
    );
  });

  it("the parent is named with the owner reference's uid (the patch's precondition); without one, the ExternalSecret itself is forced", () => {
    // A tenant's ExternalSecret that names a platform ClusterExternalSecret by name only.
    const claimsParent: KubeObject = {
      ...child,
      metadata: {
        ...child.metadata,
        ownerReferences: [{ kind: 'ClusterExternalSecret', name: 'db-everywhere', controller: true }],
      },
    };
    const { index } = planOf([claimsParent, app('team-a')]);
    const [wd] = index.dependentsOf(ADD7.secret);
    const targets = forceSyncTargets(
      wd.dependencies,
      new Map([['team-a/db-everywhere', claimsParent]]),
      ADD7.time,
      Date.parse('2024-05-01T10:00:10Z'),
    );
    assert.deepEqual(
      targets.map((t) => [t.key, t.clusterExternalSecret, forceSyncTarget(t)]),
      [['team-a/db-everywhere', undefined, 'ExternalSecret team-a/db-everywhere']],
    );
  });
});
