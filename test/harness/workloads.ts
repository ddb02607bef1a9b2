// Workloads the rollout tests and the storm bench create on the real control plane: a Deployment
// that mounts one file of a SecretProviderClass with subPath, so a new version needs a restart
// (the controller manager then rolls it, and the kubelet stand-in runs its pods).

export interface SubPathDeployment {
  readonly name: string;
  readonly namespace: string;
  /** The SecretProviderClass whose file `f0.txt` it mounts. */
  readonly spc: string;
  readonly replicas: number;
  readonly annotations?: Record<string, string>;
  /** The `app` label of its pods (default: its name; a label value has at most 63 characters). */
  readonly app?: string;
}

export function subPathCsiDeployment(d: SubPathDeployment): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: d.name,
      namespace: d.namespace,
      ...(d.annotations ? { annotations: d.annotations } : {}),
    },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: { app: d.app ?? d.name } },
      template: {
        metadata: { labels: { app: d.app ?? d.name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example.invalid/app:1',
              volumeMounts: [{ name: 'secrets', mountPath: '/etc/app/key', subPath: 'f0.txt' }],
            },
          ],
          volumes: [
            {
              name: 'secrets',
              csi: {
                driver: 'secrets-store-gke.csi.k8s.io',
                readOnly: true,
                volumeAttributes: { secretProviderClass: d.spc },
              },
            },
          ],
        },
      },
    },
  };
}
