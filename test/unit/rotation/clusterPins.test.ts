// Which versions the clusters still use: numeric pins, the last version Rotor applied to a
// `latest` consumer that has not moved yet, and what the CSI driver mounts right now.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inventoryFrom } from '../../../functions/core/inventory';
import type { KubeObject } from '../../../functions/core/kube';
import { ProjectMap, parseSecretName } from '../../../functions/core/secretName';
import { pinsFromInventory } from '../../../functions/rotation/clusterPins';

const SECRET = parseSecretName('projects/my-proj/secrets/db').id;
const projects = new ProjectMap([['my-proj', '42']]);

function spc(name: string, version: string): KubeObject {
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: { name, namespace: 'ns' },
    spec: {
      provider: 'gke',
      parameters: { secrets: `- resourceName: projects/42/secrets/db/versions/${version}\n  path: db\n` },
    },
  };
}

function deployment(name: string, spcName: string, applied?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: 'ns',
      ...(applied ? { annotations: { 'rotor.dev/applied': JSON.stringify(applied) } } : {}),
    },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'v', mountPath: '/s' }] }],
          volumes: [
            {
              name: 'v',
              csi: {
                driver: 'secrets-store-gke.csi.k8s.io',
                volumeAttributes: { secretProviderClass: spcName },
              },
            },
          ],
        },
      },
    },
  };
}

function podStatus(
  pod: string,
  spcName: string,
  version: number,
  secret = 'projects/42/secrets/db',
): KubeObject {
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClassPodStatus',
    metadata: { name: `${pod}-ns-${spcName}`, namespace: 'ns' },
    status: {
      podName: pod,
      secretProviderClassName: spcName,
      objects: [{ id: `${secret}/versions/latest`, version: `${secret}/versions/${version}` }],
    },
  };
}

describe('cluster pins for retirement', () => {
  it('collects numeric pins, applied versions of latest-consumers, and mounted versions', () => {
    const inv = inventoryFrom('c', [
      spc('pinned', '3'),
      spc('latest', 'latest'),
      deployment('old', 'pinned'),
      deployment('moved', 'latest', { 'projects/my-proj/secrets/db': '9' }),
      deployment('fresh', 'latest'),
    ]);
    const pins = pinsFromInventory(inv, SECRET, projects, [
      podStatus('fresh-1', 'latest', 8),
      podStatus('x', 'unrelated', 2),
      podStatus('y', 'latest', 5, 'projects/42/secrets/other'),
    ]);
    assert.deepEqual(
      [...pins].sort((a, b) => a - b),
      [3, 8, 9],
    );
  });

  it('pins nothing when no workload uses the secret', () => {
    const inv = inventoryFrom('c', [spc('latest', 'latest'), deployment('a', 'latest')]);
    assert.equal(
      pinsFromInventory(inv, parseSecretName('projects/my-proj/secrets/unused').id, projects, [
        podStatus('a-1', 'latest', 4),
      ]).size,
      0,
    );
  });
});
