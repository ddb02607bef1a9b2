// Scenario B's fleet (./scenarioB.ts): Deployments whose every secret comes through an
// ExternalSecret the real ESO syncs from the Secret Manager stand-in. Pure and deterministic, with
// the ground truth both contenders are judged against.
//
// Workload w sits in namespace w mod M and reads the Kubernetes Secret `<name>-secrets` that its own
// ExternalSecret writes. By w mod 10:
//   0–5  dependent: the Secret carries one rotated ("hot") secret under TOKEN and the namespace's
//        config under CONFIG; the app reads both as env (a new version must restart it);
//   6–7  other key: the same two keys, but the app reads only CONFIG (a restart is needless; Reloader
//        sees its Secret change and restarts it anyway);
//   8–9  cold: the Secret carries only the config (nothing changes for it).
// The hot secrets are dealt in turn among the dependents, and among the other-key readers.
import type { KubeObject } from '../../functions/core/kube';
import type { SeedObject } from './fleet';
import { HOT_SECRETS, PROJECT_ID } from './fleet';

export { HOT_SECRETS, PROJECT_ID };
/** The ClusterSecretStore every ExternalSecret names (test/harness/realEso.ts makes it). */
export const ESO_STORE = 'gcp';
/** The key the rotated secret's value is synced under. */
export const HOT_KEY = 'TOKEN';
export const CONFIG_KEY = 'CONFIG';

export interface EsoFleetOptions {
  readonly workloads: number;
  readonly namespaces: number;
  /** spec.refreshInterval of every ExternalSecret, e.g. `1h`. */
  readonly refreshInterval: string;
}

export interface EsoFleet {
  readonly namespaces: readonly string[];
  /** The Secret Manager secrets to create (hot ones and one config per namespace). */
  readonly sourceSecrets: readonly string[];
  readonly externalSecrets: readonly SeedObject[];
  readonly deployments: readonly SeedObject[];
  /** Per hot secret: each Deployment (`ns/name`) a new version must restart → the Secret it reads. */
  readonly dependents: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Per hot secret: Deployments that read a Secret carrying it, but not its key. */
  readonly otherKeyReaders: ReadonlyMap<string, ReadonlySet<string>>;
}

export type EsoMode = 'dependent' | 'other-key' | 'cold';

export function esoModeOf(w: number): EsoMode {
  const r = w % 10;
  return r <= 5 ? 'dependent' : r <= 7 ? 'other-key' : 'cold';
}

const envFrom = (name: string, secret: string, key: string): Record<string, unknown> => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

export function buildEsoFleet(opts: EsoFleetOptions): EsoFleet {
  const namespaces = Array.from({ length: opts.namespaces }, (_, i) => `eso-${String(i).padStart(3, '0')}`);
  const configOf = (ns: string): string => `${ns}-config`;
  const externalSecrets: SeedObject[] = [];
  const deployments: SeedObject[] = [];
  const dependents = new Map(HOT_SECRETS.map((h) => [h as string, new Map<string, string>()]));
  const otherKeyReaders = new Map(HOT_SECRETS.map((h) => [h as string, new Set<string>()]));
  // Dealt in turn per kind, so that every hot secret gets as many of each.
  const turns: Record<EsoMode, number> = { dependent: 0, 'other-key': 0, cold: 0 };

  for (let w = 0; w < opts.workloads; w++) {
    const ns = namespaces[w % opts.namespaces];
    const name = `app-${String(Math.floor(w / opts.namespaces)).padStart(3, '0')}`;
    const id = `${ns}/${name}`;
    const target = `${name}-secrets`;
    const mode = esoModeOf(w);
    const hot = mode === 'cold' ? undefined : HOT_SECRETS[turns[mode]++ % HOT_SECRETS.length];
    const data = [
      ...(hot ? [{ secretKey: HOT_KEY, remoteRef: { key: hot } }] : []),
      { secretKey: CONFIG_KEY, remoteRef: { key: configOf(ns) } },
    ];
    externalSecrets.push({
      path: `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets`,
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: target, namespace: ns },
        spec: {
          refreshInterval: opts.refreshInterval,
          secretStoreRef: { kind: 'ClusterSecretStore', name: ESO_STORE },
          target: { name: target, creationPolicy: 'Owner' },
          data,
        },
      },
    });
    const env = [envFrom('APP_CONFIG', target, CONFIG_KEY)];
    if (hot) {
      if (mode === 'dependent') {
        env.push(envFrom('API_TOKEN', target, HOT_KEY));
        dependents.get(hot)?.set(id, `${ns}/${target}`);
      } else otherKeyReaders.get(hot)?.add(id);
    }
    deployments.push({ path: `/apis/apps/v1/namespaces/${ns}/deployments`, body: deployment(ns, name, env) });
  }
  return {
    namespaces,
    sourceSecrets: [...HOT_SECRETS, ...namespaces.map(configOf)],
    externalSecrets,
    deployments,
    dependents,
    otherKeyReaders,
  };
}

function deployment(ns: string, name: string, env: Array<Record<string, unknown>>): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      // No kubelet runs here: replicas 0 still gets a new ReplicaSet on every pod template change.
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: `registry.acme.dev/${ns}/${name}:1`, env }] },
      },
    },
  };
}
