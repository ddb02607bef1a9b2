// Many clusters in one event, at most ROTOR_CLUSTER_CONCURRENCY at once: a cluster that hangs and
// one that refuses connections do not delay the actions in the others (two views of a real API
// server, each seeing only its own labelled workloads). The hung one is reported, and the event
// retried, once its requests end.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { installCrds, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { CLUSTER_LABEL, LabelledCluster } from '../harness/labelledCluster';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { HttpKubeApi } from '../../functions/cluster/kubeApi';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';

/** A cluster whose requests never answer until released; counts how many were sent. */
class HangingCluster implements KubeApi {
  sent = 0;
  constructor(readonly cluster = 'hanging') {}
  private readonly waiting: Array<(e: Error) => void> = [];
  request<T>(_req: KubeRequest): Promise<T> {
    this.sent++;
    return new Promise<T>((_resolve, reject) => this.waiting.push(reject));
  }
  release(): void {
    for (const reject of this.waiting.splice(0)) reject(new Error('timed out after 30000 ms'));
  }
  requestCount(): number {
    return this.sent;
  }
  close(): void {}
}

const NS = 'shop';
const SECRET = 'projects/my-proj/secrets/db-password';

/** A Deployment in `cluster` that mounts db-password through a CSI subPath (a restart on rotation). */
function csiReader(name: string, cluster: string, spc: string): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { [CLUSTER_LABEL]: cluster } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example.invalid/app:1',
              volumeMounts: [{ name: 's', mountPath: '/etc/db/pw', subPath: 'pw' }],
            },
          ],
          volumes: [
            {
              name: 's',
              csi: { driver: 'secrets-store-gke.csi.k8s.io', volumeAttributes: { secretProviderClass: spc } },
            },
          ],
        },
      },
    },
  };
}

describe('many clusters per event, bounded and independent', { timeout: 240_000 }, () => {
  let cp: ControlPlane;
  const apis: KubeApi[] = [];

  before(async () => {
    cp = await startControlPlane({ controllerManager: false });
    await installCrds(cp.kubeConfig());
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    for (const cluster of ['east', 'west']) {
      await cp.admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClass',
        metadata: { name: cluster === 'east' ? 'db' : 'db-west', labels: { [CLUSTER_LABEL]: cluster } },
        spec: {
          provider: 'gke',
          parameters: { secrets: `- resourceName: "${SECRET}/versions/latest"\n  path: "pw"\n` },
        },
      });
    }
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, csiReader('east-app', 'east', 'db'));
    await cp.admin(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      csiReader('west-app', 'west', 'db-west'),
    );
  });

  after(async () => {
    for (const a of apis) a.close();
    await cp?.stop();
  });

  it('acts in the reachable clusters while another hangs; reports the hung and the refused', async () => {
    const hanging = new HangingCluster();
    const kc = cp.kubeConfig();
    kc.clusters = kc.clusters.map((c) => ({ ...c, server: 'https://127.0.0.1:1' }));
    const refused = new HttpKubeApi(kc, 'refused', { timeoutMs: 2000 });
    const east = new LabelledCluster(kubeApiFromKubeconfig(cp.kubeconfigPath, undefined, 'e'), 'east');
    const west = new LabelledCluster(kubeApiFromKubeconfig(cp.kubeconfigPath, undefined, 'w'), 'west');
    apis.push(refused, east, west);

    const done = reconcileEvent(
      {
        type: 'SECRET_VERSION_ADD',
        secret: parseSecretName(SECRET).id,
        version: '2',
        time: new Date().toISOString(),
      },
      {},
      {
        clusters: [hanging, refused, east, west],
        clusterConcurrency: 2,
        projects: new ProjectMap(),
        dryRun: false,
        maxWaitMs: 600_000,
        concurrency: 4,
        reload: { retries: 0, backoffMs: 0 },
        logger: memoryLogger(),
      },
    );
    // Both reachable clusters' workloads are restarted while the hung cluster still holds its slot.
    const restartedAt = async (name: string): Promise<string | undefined> => {
      const d = await cp.admin<KubeObject>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
      const t = (d.spec as { template: { metadata?: { annotations?: Record<string, string> } } }).template;
      return t.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    };
    await waitFor(
      async () => ((await restartedAt('east-app')) && (await restartedAt('west-app')) ? true : undefined),
      { what: 'both reachable clusters restarted' },
    );
    assert.ok(
      // One request per small kind listed at once (classes, ExternalSecrets, the two store kinds,
      // SecretSyncs), then nothing more while they hang.
      hanging.sent > 0 && hanging.sent <= 5,
      `the hung cluster was asked and still waits (${hanging.sent})`,
    );
    hanging.release();
    const outcome = await done;
    assert.deepEqual(
      outcome.workloads.map((w) => [w.cluster, w.name, w.result]),
      [
        ['east', 'east-app', 'restarted'],
        ['west', 'west-app', 'restarted'],
      ],
    );
    assert.deepEqual(outcome.clusterErrors.map((e) => e.cluster).sort(), ['hanging', 'refused']);
    assert.equal(outcome.converged, false, 'the unreachable clusters make the event retry');
  });

  it('reconciles at most clusterConcurrency clusters at once', async () => {
    const hung = ['a', 'b', 'c'].map((n) => new HangingCluster(n));
    const done = reconcileEvent(
      { type: 'SECRET_VERSION_ADD', secret: parseSecretName(SECRET).id, version: '3' },
      {},
      {
        clusters: hung,
        clusterConcurrency: 2,
        projects: new ProjectMap(),
        dryRun: true,
        maxWaitMs: 600_000,
        concurrency: 4,
        reload: { retries: 0, backoffMs: 0 },
        logger: memoryLogger(),
      },
    );
    await waitFor(async () => Promise.resolve(hung[0].sent > 0 && hung[1].sent > 0), { what: 'two started' });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(hung[2].sent, 0, 'the third waits for a slot');
    hung[0].release();
    await waitFor(async () => Promise.resolve(hung[2].sent > 0), { what: 'the third started' });
    hung[1].release();
    hung[2].release();
    assert.equal((await done).clusterErrors.length, 3);
  });
});
