// The naive baseline: what a shell script run on every rotation would do, e.g.
//
//   for ns in $(kubectl get ns -o name); do
//     kubectl get deploy,secretproviderclass,externalsecret -n "$ns" -o json > objs.json
//     # SecretProviderClasses naming .../secrets/NAME/..., ExternalSecrets whose remoteRef key is NAME
//     # -> the Kubernetes Secret / class names; Deployments mentioning one of them (or NAME itself)
//     for d in $(jq ... | grep ...); do kubectl rollout restart -n "$ns" "deploy/$d"; done
//   done
//
// One request per kind per namespace, a plain text match (no versions, projects, keys or
// annotations understood), one strategic merge patch of restartedAt per match, no idempotency.
// Requests are sequential, as in the loop above, but over one keep-alive connection with no process
// start per command: kept cheaper than the real script, never more expensive.
import type { KubeObject } from '../../functions/core/kube';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { isNotFound } from '../../functions/cluster/kubeApi';

interface List {
  items?: KubeObject[];
}

export interface BaselineResult {
  readonly restarted: string[];
  readonly patches: number;
}

async function listIn(api: KubeApi, path: string): Promise<KubeObject[]> {
  try {
    // kubectl's default --chunk-size.
    return (await api.request<List>({ method: 'GET', path, query: { limit: 500 } })).items ?? [];
  } catch (e) {
    if (isNotFound(e)) return []; // the CRD is not installed: `kubectl get` says so and goes on
    throw e;
  }
}

/** kubectl rollout restart: RFC 3339 to the second. */
function restartedAt(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export async function naiveRestart(api: KubeApi, secretName: string): Promise<BaselineResult> {
  const namespaces = await api.request<List>({ method: 'GET', path: '/api/v1/namespaces' });
  const restarted: string[] = [];
  let patches = 0;
  for (const nsObject of namespaces.items ?? []) {
    const ns = nsObject.metadata?.name ?? '';
    const deployments = await listIn(api, `/apis/apps/v1/namespaces/${ns}/deployments`);
    const classes = await listIn(
      api,
      `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${ns}/secretproviderclasses`,
    );
    const externalSecrets = await listIn(
      api,
      `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets`,
    );
    // grep: which classes and synced Secrets carry the secret?
    const needles = new Set<string>([secretName]);
    for (const c of classes)
      if (JSON.stringify(c).includes(`/secrets/${secretName}/`)) needles.add(c.metadata?.name ?? '');
    for (const es of externalSecrets) {
      if (!JSON.stringify(es).includes(`"key":"${secretName}"`)) continue;
      const spec = (es.spec ?? {}) as { target?: { name?: string } };
      needles.add(spec.target?.name ?? es.metadata?.name ?? '');
    }
    for (const d of deployments) {
      const text = JSON.stringify(d);
      if (
        ![...needles].some(
          (n) => text.includes(`"${n}"`) || (n === secretName && text.includes(`/secrets/${n}"`)),
        )
      )
        continue;
      const name = d.metadata?.name ?? '';
      await api.request({
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
        query: { fieldManager: 'kubectl-rollout' },
        contentType: 'application/strategic-merge-patch+json',
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt() } } },
          },
        },
      });
      patches++;
      restarted.push(`${ns}/${name}`);
    }
  }
  return { restarted, patches };
}
