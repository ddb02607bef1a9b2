// The typed view of a pod spec: parsed once from untrusted input, with what discovery reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePodSpec, referencedSecretNames } from '../../functions/core/podSpec';

describe('parsePodSpec', () => {
  const view = parsePodSpec({
    initContainers: [
      { name: 'migrate', env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } }] },
      // A native sidecar runs as long as the pod: not an init-only reader.
      { name: 'proxy', restartPolicy: 'Always', envFrom: [{ secretRef: { name: 'proxy' }, prefix: 'P_' }] },
    ],
    containers: [
      {
        name: 'app',
        env: [
          { name: 'PLAIN', value: 'x' },
          { name: 'CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
          { name: 'NO_NAME', valueFrom: { secretKeyRef: { key: 'k' } } },
        ],
        volumeMounts: [
          { name: 'creds', mountPath: '/etc/creds', subPath: 'pw' },
          { name: 'all', mountPath: '/etc/all', subPath: '' },
          { name: 'csi', mountPath: '/s', subPathExpr: '$(POD)' },
          'not a mount',
        ],
      },
      'not a container',
    ],
    volumes: [
      { name: 'creds', secret: { secretName: 'creds', items: [{ key: 'pw', path: 'pw' }] } },
      {
        name: 'all',
        projected: {
          sources: [{ secret: { name: 'a' } }, { configMap: { name: 'cm' } }, { secret: { name: 'b' } }],
        },
      },
      {
        name: 'csi',
        csi: { driver: 'secrets-store-gke.csi.k8s.io', volumeAttributes: { secretProviderClass: 'spc' } },
      },
      { secret: { secretName: 'nameless-volume' } },
    ],
  });

  it('containers: init first, native sidecars not init; env and envFrom Secret references only', () => {
    assert.deepEqual(
      view.containers.map((c) => [c.name, c.init]),
      [
        ['migrate', true],
        ['proxy', false],
        ['app', false],
      ],
    );
    assert.deepEqual(view.containers[0].env, [{ env: 'PW', secretName: 'db', key: 'pw' }]);
    assert.deepEqual(view.containers[1].envFrom, [{ secretName: 'proxy', prefix: 'P_' }]);
    assert.deepEqual(view.containers[2].env, [], 'no plain values, ConfigMaps or nameless Secret references');
  });

  it('mounts with subPath (or subPathExpr; empty is none)', () => {
    assert.deepEqual(view.containers[2].mounts, [
      { volume: 'creds', mountPath: '/etc/creds', subPath: 'pw' },
      { volume: 'all', mountPath: '/etc/all', subPath: undefined },
      { volume: 'csi', mountPath: '/s', subPath: '$(POD)' },
    ]);
  });

  it('volumes: the Secrets they expose (items or all keys), CSI driver and class; nameless ones dropped', () => {
    assert.deepEqual([...view.volumes.keys()], ['creds', 'all', 'csi']);
    assert.deepEqual(view.volumes.get('creds')?.secrets, [
      { secretName: 'creds', items: [{ key: 'pw', path: 'pw' }] },
    ]);
    assert.deepEqual(view.volumes.get('all')?.secrets, [
      { secretName: 'a', items: undefined },
      { secretName: 'b', items: undefined },
    ]);
    assert.deepEqual(view.volumes.get('csi')?.csi, {
      driver: 'secrets-store-gke.csi.k8s.io',
      secretProviderClass: 'spc',
    });
    assert.deepEqual([...referencedSecretNames(view)].sort(), ['a', 'b', 'creds', 'db', 'proxy']);
  });
});
