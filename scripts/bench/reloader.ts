// Stakater Reloader as a peer in the benchmark (`npm run bench -- --peers reloader`): what users
// run today to restart workloads when a Kubernetes Secret changes. The binary is the user's
// (ROTOR_RELOADER_BIN): the Go module proxy refuses github.com/stakater/Reloader, and nothing here
// builds it. It runs as its own token user, bound to the same permissions Reloader's manifest
// (deployments/kubernetes/reloader.yaml, ClusterRole `reloader-reloader-role`) grants its service
// account, against the bench's control plane and fleet, with `--auto-reload-all` (the fleet carries
// no Reloader annotations: every workload referencing a changed Secret is restarted, as Rotor needs
// no annotation either).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deathSignalPrefix } from '../../test/harness/cleanup';

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

export const RELOADER_SKIPPED =
  'peer reloader skipped: set ROTOR_RELOADER_BIN to a Stakater Reloader binary. This repository never builds ' +
  "Reloader (the Go module proxy refuses its module); take the one in its release image, e.g. `docker create --name reloader ghcr.io/stakater/reloader:v1.4.21 && docker cp reloader:/manager ./reloader` (the image's entrypoint is /manager)";

/** The binary to run, or why the peer is skipped. A variable that names no executable is an error. */
export function reloaderBinary(
  env: Readonly<Record<string, string | undefined>>,
): { bin: string } | { skipped: string } {
  const bin = env.ROTOR_RELOADER_BIN;
  if (!bin) return { skipped: RELOADER_SKIPPED };
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
