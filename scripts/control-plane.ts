// Manual work against the same local control plane the integration tests use:
//
//   npm run control-plane -- start [--users a,b] [--bare] [--no-controller-manager]
//
// Starts etcd, kube-apiserver and kube-controller-manager (building or reusing the binaries as the
// tests do), installs the CRDs from infra/crds/ and the role from infra/k8s/rbac.yaml unless --bare,
// prints the kubeconfig paths and an export line, and runs until Ctrl-C, which removes everything.
// Token users (default: rotor) are the ones infra/k8s/rbac.yaml can bind; the admin kubeconfig is
// in system:masters.
import { parseArgs } from 'node:util';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../test/harness/controlPlane';
import { onExit } from '../test/harness/cleanup';
import { join } from 'node:path';

const USAGE = `usage: npm run control-plane -- start [--users NAME,...] [--bare] [--no-controller-manager]
  --users                  token users besides the admin (default: rotor)
  --bare                   do not install infra/crds/ and infra/k8s/rbac.yaml
  --no-controller-manager  only etcd and kube-apiserver`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        users: { type: 'string', default: 'rotor' },
        bare: { type: 'boolean', default: false },
        'no-controller-manager': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'start') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const users = values.users
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  const cp = await startControlPlane({ users, controllerManager: !values['no-controller-manager'] });
  // The harness removes the processes and the temp dir on Ctrl-C; this only says so.
  onExit(() => process.stderr.write('\n[control-plane] stopped, temp dir removed\n'));
  if (!values.bare) {
    const admin = cp.kubeConfig();
    const crds = await installCrds(admin);
    await applyManifests(admin, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    process.stderr.write(`[control-plane] installed ${crds.length} CRDs and infra/k8s/rbac.yaml\n`);
  }
  const lines = [
    `server:               ${cp.server}`,
    `kubeconfig (admin):   ${cp.kubeconfigPath}`,
    ...users.map(
      (u) => `kubeconfig (${u}):${' '.repeat(Math.max(1, 8 - u.length))}${cp.kubeconfigPathFor(u)}`,
    ),
    `logs:                 ${cp.dir}/*.log`,
    '',
    `export KUBECONFIG=${cp.kubeconfigPath}`,
    '',
    'Ctrl-C stops it and removes everything.',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  // Keep the process (and so the control plane) alive until a signal.
  setInterval(() => undefined, 1 << 30);
  return new Promise<number>(() => undefined);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[control-plane] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
