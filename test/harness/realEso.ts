// The real External Secrets Operator controller (github.com/external-secrets/external-secrets, built
// by infra/local/build-eso.sh), run against the local control plane, reading Rotor's Secret Manager
// stand-in (test/harness/secretManagerStandIn.ts) through its own, unmodified GCP provider.
//
// ESO's GCP provider has no endpoint setting: it dials secretmanager.googleapis.com:443 (or
// secretmanager.LOCATION.rep.googleapis.com with `location`), so the controller runs behind the
// CONNECT proxy of test/harness/secretManagerProxy.ts, and the ClusterSecretStore's
// `auth.secretRef` names that proxy's service-account key (a token endpoint on loopback).
//
// Identity: the admin kubeconfig (ESO's own RBAC is not what these tests are about).
// Flags: only the controller (the binary's root command; webhook and cert-controller are separate
// subcommands that are not run), leader election off, metrics on a free loopback port.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deathSignalPrefix, onExit } from './cleanup';
import { REPO_ROOT } from './controlPlane';
import type { ControlPlane } from './controlPlane';
import { freePort } from './freePort';
import { startSecretManagerProxy } from './secretManagerProxy';
import type { SecretManagerProxy, SecretManagerProxyStats } from './secretManagerProxy';
import { runBuildScript } from './cachedBuild';

const BUILD_SCRIPT = join(REPO_ROOT, 'infra', 'local', 'build-eso.sh');
/** Where the store's credentials live (ESO reads the key from this Secret). */
export const ESO_CREDENTIALS = { namespace: 'external-secrets', name: 'gcpsm-credentials', key: 'key.json' };

/**
 * The directory holding `external-secrets` and `crds/`: $ROTOR_ESO_DIR (what scripts/test.mjs
 * passes after building), else the build script's output (it reuses its cache; it honours
 * ROTOR_ESO_BIN and ROTOR_ESO_VERSION).
 */
export async function locateEso(): Promise<string> {
  if (process.env.ROTOR_ESO_DIR) return process.env.ROTOR_ESO_DIR;
  return runBuildScript(BUILD_SCRIPT);
}

export interface RealEso {
  /** A ClusterSecretStore using ESO's GCP Secret Manager provider with the credentials Secret. */
  clusterSecretStore(name: string, projectId: string): string;
  /** The credentials Secret the store names (apply it before the store). */
  credentialsSecret(): string;
  /** CONNECT tunnels the proxy opened to the stand-in, and OAuth tokens the token endpoint issued. */
  readonly stats: SecretManagerProxyStats;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface RealEsoOptions {
  /** The stand-in's `127.0.0.1:PORT`. */
  secretManagerEndpoint: string;
  /** Default: locateEso(). */
  dir?: string;
  /** How long to wait for the controller's workers. Default 120 s (two busy cores). */
  startTimeoutMs?: number;
}

export async function startRealEso(cp: ControlPlane, options: RealEsoOptions): Promise<RealEso> {
  const esoDir = options.dir ?? (await locateEso());
  const binary = join(esoDir, 'external-secrets');
  if (!existsSync(binary)) throw new Error(`no external-secrets binary in ${esoDir}`);
  const dir = mkdtempSync(join(tmpdir(), 'rotor-eso-'));
  let proxy: SecretManagerProxy | undefined;
  let child: ChildProcess | undefined;
  const killSync = (): void => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const removeExitHook = onExit(() => {
    killSync();
    rmSync(dir, { recursive: true, force: true });
  });

  const stop = async (): Promise<void> => {
    killSync();
    if (child && child.exitCode === null && child.signalCode === null)
      await new Promise((r) => child?.once('exit', r));
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
    removeExitHook();
  };

  try {
    proxy = await startSecretManagerProxy(options.secretManagerEndpoint, dir);
    const credentials = proxy.serviceAccountKey('external-secrets@rotor-demo.iam.gserviceaccount.com');

    const metricsPort = await freePort();
    const log = join(dir, 'external-secrets.log');
    const fd = openSync(log, 'a');
    const [cmd, ...prefix] = [...deathSignalPrefix(), binary];
    child = spawn(
      cmd,
      [
        ...prefix,
        `--metrics-addr=127.0.0.1:${metricsPort}`,
        '--enable-leader-election=false',
        // Not what Rotor talks to: fewer informers on two busy cores.
        '--enable-push-secret-reconciler=false',
        '--enable-cluster-push-secret-reconciler=false',
        '--enable-cluster-external-secret-reconciler=false',
        '--loglevel=debug',
        '--zap-time-encoding=rfc3339nano',
      ],
      {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          KUBECONFIG: cp.kubeconfigPath,
          ...proxy.env,
        },
      },
    );
    closeSync(fd);
    const readLog = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
    // controller-runtime logs "Starting workers" per controller once its caches synced.
    while (!/"Starting workers".*"controller":"externalsecret"/.test(readLog())) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(
          `external-secrets exited (${child.exitCode ?? child.signalCode})\n${tail(readLog(), 40)}`,
        );
      if (Date.now() > deadline)
        throw new Error(`external-secrets not ready in time\n${tail(readLog(), 40)}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    return {
      stats: proxy.stats,
      // JSON is YAML: one document per object.
      credentialsSecret: () =>
        [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ESO_CREDENTIALS.namespace } },
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: ESO_CREDENTIALS.name, namespace: ESO_CREDENTIALS.namespace },
            stringData: { [ESO_CREDENTIALS.key]: credentials },
          },
        ]
          .map((o) => JSON.stringify(o))
          .join('\n---\n'),
      clusterSecretStore: (name, projectId) => `
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: ${name}}
spec:
  provider:
    gcpsm:
      projectID: ${projectId}
      auth:
        secretRef:
          secretAccessKeySecretRef: {name: ${ESO_CREDENTIALS.name}, namespace: ${ESO_CREDENTIALS.namespace}, key: ${ESO_CREDENTIALS.key}}
`,
      logTail: (lines = 30) => `--- external-secrets (${log})\n${tail(readLog(), lines)}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
