// Stakater Reloader as a peer in the benchmark (`npm run bench -- --peers reloader`): what users
// run today to restart workloads when a Kubernetes Secret changes. The binary is built from the Go
// module proxy by infra/local/build-reloader.sh (cached by version outside the repository; the
// first build takes ~9 min on 2 cores), or is the user's own (ROTOR_RELOADER_BIN). It runs as its
// own token user, bound to the same permissions Reloader's manifest
// (deployments/kubernetes/reloader.yaml, ClusterRole `reloader-reloader-role`) grants its service
// account, against the bench's control plane and fleet, with `--auto-reload-all` (the fleet carries
// no Reloader annotations: every workload referencing a changed Secret is restarted, as Rotor needs
// no annotation either).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deathSignalPrefix } from '../../test/harness/cleanup';
import { REPO_ROOT } from '../../test/harness/controlPlane';

export const RELOADER_USER = 'reloader';

/**
 * The permissions Reloader's own manifest gives it, for the `reloader` user: read every Secret and
 * ConfigMap in the cluster (and watch them), patch any Deployment, DaemonSet or StatefulSet, run
 * Jobs for CronJobs, write Events.
 */
export const RELOADER_RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: bench-reloader }
rules:
  - { apiGroups: [""], resources: [secrets, configmaps], verbs: [list, get, watch] }
  - { apiGroups: [apps], resources: [deployments, daemonsets, statefulsets], verbs: [list, get, update, patch] }
  - { apiGroups: [extensions], resources: [deployments, daemonsets], verbs: [list, get, update, patch] }
  - { apiGroups: [batch], resources: [cronjobs], verbs: [list, get] }
  - { apiGroups: [batch], resources: [jobs], verbs: [create, delete, list, get] }
  - { apiGroups: [""], resources: [events], verbs: [create, patch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: bench-reloader }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bench-reloader }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: ${RELOADER_USER} }]
`;

export const RELOADER_BUILD_SCRIPT = join(REPO_ROOT, 'infra', 'local', 'build-reloader.sh');

/** Why the peer is skipped when the build script fails (no Go, no module proxy). */
export function reloaderSkipped(exit: string): string {
  return (
    `peer reloader skipped: ${RELOADER_BUILD_SCRIPT} failed (${exit}). It builds Stakater Reloader from the Go ` +
    'module proxy with Go; without Go, set ROTOR_RELOADER_BIN to a Reloader binary, e.g. the one in its release ' +
    'image: `docker create --name reloader ghcr.io/stakater/reloader:v1.4.22 && docker cp reloader:/manager ./reloader`'
  );
}

/**
 * Runs the build script (it reuses its cache, or builds: progress on our stderr) and returns the
 * directory it printed last, or why it failed.
 */
export function buildReloader(
  env: Readonly<Record<string, string | undefined>>,
): { dir: string } | { failed: string } {
  const r = spawnSync('bash', [RELOADER_BUILD_SCRIPT], {
    env: { ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = r.stdout?.toString().trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !dir) return { failed: r.error?.message ?? `exit ${r.status ?? r.signal ?? '?'}` };
  return { dir };
}

/**
 * The binary to run, or why the peer is skipped: ROTOR_RELOADER_BIN when set (a variable that
 * names no executable is an error), else the one build-reloader.sh built or reuses.
 */
export function reloaderBinary(
  env: Readonly<Record<string, string | undefined>>,
  build: typeof buildReloader = buildReloader,
): { bin: string } | { skipped: string } {
  const bin = env.ROTOR_RELOADER_BIN;
  if (!bin) {
    const built = build(env);
    return 'dir' in built ? { bin: join(built.dir, 'reloader') } : { skipped: reloaderSkipped(built.failed) };
  }
  if (!existsSync(bin) || !statSync(bin).isFile())
    throw new Error(`ROTOR_RELOADER_BIN=${bin} is not a file: point it at a Reloader binary`);
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`ROTOR_RELOADER_BIN=${bin} is not executable (chmod +x it)`);
  }
  return { bin };
}

/** VmRSS of a /proc/PID/status text, in MiB (undefined when absent: the process is gone). */
export function vmRssMb(procStatus: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(procStatus);
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : undefined;
}

export interface RunningReloader {
  readonly pid: number;
  /** Its resident memory now, in MiB. */
  rssMb(): number | undefined;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * Starts Reloader as the `reloader` user (its kubeconfig), logging into `dir`. Reloader serves
 * metrics and probes on :9090, which it does not let one change: that port must be free.
 */
export function startReloader(bin: string, kubeconfig: string, dir: string): RunningReloader {
  const log = join(dir, 'reloader.log');
  const fd = openSync(log, 'a');
  const [cmd, ...prefix] = [...deathSignalPrefix(), bin];
  const child: ChildProcess = spawn(cmd, [...prefix, '--auto-reload-all=true', '--log-format=json'], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig },
  });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${bin}`);
  return {
    pid,
    rssMb: () => {
      try {
        return vmRssMb(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return undefined;
      }
    },
    logTail: (lines = 20) =>
      existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '',
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}
