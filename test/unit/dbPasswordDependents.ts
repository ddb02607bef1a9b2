// The secret and two of its dependents (an ESO-synced env var, a CSI file) that the status and
// served-versions tests both read, written once.
import type { Dependency } from '../../functions/core/discovery';

export const SECRET = { project: 'acme', secret: 'db-password' };
export const KEY = 'projects/acme/secrets/db-password';

export const envDep: Dependency = {
  via: 'env',
  container: 'app',
  detail: 'env DB_PASSWORD from Secret db (ExternalSecret db)',
  version: 'latest',
  secret: SECRET,
  source: { kind: 'eso', namespace: 'shop', externalSecret: 'db', secretName: 'db' },
  read: { kind: 'env', env: 'DB_PASSWORD', key: 'password' },
  inPlace: false,
};
export const csiDep: Dependency = {
  via: 'csi',
  container: 'app',
  detail: 'CSI file db-password',
  version: 'latest',
  secret: SECRET,
  source: {
    kind: 'csi',
    namespace: 'shop',
    spc: 'db',
    file: 'db-password',
    driver: 'secrets-store-gke.csi.k8s.io',
    resourceName: `${KEY}/versions/latest`,
  },
  read: { kind: 'csi', volume: 'secrets', mountPath: '/secrets', subPath: undefined },
  inPlace: true,
};
