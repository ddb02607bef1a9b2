// The real Secrets Store CSI driver (sigs.k8s.io/secrets-store-csi-driver) and its real GCP provider
// (github.com/GoogleCloudPlatform/secrets-store-csi-driver-provider-gcp), built by
// infra/local/build-csi.sh, as host processes next to the real node (test/harness/realNode.ts),
// reading the Secret Manager stand-in through the CONNECT proxy of test/harness/secretManagerProxy.ts.
//
// What runs, as a cluster's DaemonSet would run it, minus the pod around it (the kubelet only needs
// the sockets, and host processes share the host's mount namespace, so the driver's tmpfs mounts
// under /var/lib/kubelet/pods are the ones the containers get):
//   provider    --kubeconfig (admin), TARGET_DIR=<dir>/providers (its socket: gcp.sock), and the
//               proxy's environment; auth is `provider-adc`: GOOGLE_APPLICATION_CREDENTIALS names a
//               service-account key whose token_uri is on loopback (pod workload identity would need
//               the IAM and STS endpoints, which have no stand-in);
//   driver      --endpoint in the kubelet's plugins dir, --nodeid = the node, provider sockets only in
//               <dir>/providers, --enable-secret-rotation --rotation-poll-interval (default 10s);
//   registrar   infra/local/csi-registrar (stand-in for node-driver-registrar): the kubelet's plugin
//               registration socket in plugins_registry, naming the driver's socket;
// plus the driver's own CRDs of the same module version (SecretProviderClass,
// SecretProviderClassPodStatus: infra/crds has minimal ones) and its CSIDriver object (podInfoOnMount,
// Ephemeral), as the driver's deploy/ manifests declare them.
//
// Everything it creates is its own: a temporary directory, the driver's socket directory under the
// kubelet's plugins dir, the registration socket, three processes (own process groups, PDEATHSIG),
// stopped by PID on stop(), on a failed start and at process exit.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deathSignalPrefix, onExit } from './cleanup';
import { REPO_ROOT, applyManifests, installCrds } from './controlPlane';
import type { ControlPlane } from './controlPlane';
import { freePort } from './freePort';
import { PLUGINS_DIR, PLUGINS_REGISTRY_DIR } from './realNode';
import { startSecretManagerProxy } from './secretManagerProxy';
import type { SecretManagerProxy, SecretManagerProxyStats } from './secretManagerProxy';
import { runBuildScript } from './cachedBuild';

const BUILD_SCRIPT = join(REPO_ROOT, 'infra', 'local', 'build-csi.sh');
/** The open-source driver's name (Rotor reads its volumes as provider `gcp`). */
export const CSI_DRIVER = 'secrets-store.csi.k8s.io';
const DRIVER_SOCKET_DIR = join(PLUGINS_DIR, 'csi-secrets-store');
const DRIVER_SOCKET = join(DRIVER_SOCKET_DIR, 'csi.sock');
const REGISTRATION_SOCKET = join(PLUGINS_REGISTRY_DIR, `${CSI_DRIVER}-reg.sock`);

/**
 * The directory holding the three binaries and `crds/`: $ROTOR_CSI_DIR (what scripts/test.mjs
 * passes after building), else the build script's output (it reuses its cache).
 */
export async function locateCsi(): Promise<string> {
  if (process.env.ROTOR_CSI_DIR) return process.env.ROTOR_CSI_DIR;
  return runBuildScript(BUILD_SCRIPT);
}

export interface RealCsi {
  /** CONNECT tunnels to the stand-in, tokens issued, hosts refused (the provider's IAM dials). */
  readonly stats: SecretManagerProxyStats;
  /** The driver's --rotation-poll-interval. */
  readonly rotationPollInterval: string;
  /**
   * A SecretProviderClass of the GCP provider mounting each `resourceName` at `path`, with the
   * provider's own credentials (auth: provider-adc).
   */
  secretProviderClass(
    ns: string,
    name: string,
    secrets: Array<{ resourceName: string; path: string }>,
  ): string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface RealCsiOptions {
  /** The stand-in's `127.0.0.1:PORT`. */
  secretManagerEndpoint: string;
  /** The node the driver serves (its --nodeid; the real node's name). */
  nodeName: string;
  /** Default: locateCsi(). */
  dir?: string;
  /** The driver's --rotation-poll-interval; default 10s. */
  rotationPollInterval?: string;
  /** Until the kubelet registered the driver; default 60 s. */
  startTimeoutMs?: number;
}

interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
}

/** Starts provider, driver and registrar; resolves once the kubelet has registered the driver. */
export async function startRealCsi(cp: ControlPlane, options: RealCsiOptions): Promise<RealCsi> {
  const csiDir = options.dir ?? (await locateCsi());
  const binaries = ['secrets-store-csi-driver', 'secrets-store-csi-driver-provider-gcp', 'csi-registrar'];
  for (const b of binaries)
    if (!existsSync(join(csiDir, b))) throw new Error(`no ${b} in ${csiDir} (infra/local/build-csi.sh)`);
  if (!existsSync(PLUGINS_REGISTRY_DIR) || !existsSync(PLUGINS_DIR))
    throw new Error(`${PLUGINS_REGISTRY_DIR} or ${PLUGINS_DIR} is missing: start the real node first`);
  if (existsSync(DRIVER_SOCKET_DIR) || existsSync(REGISTRATION_SOCKET))
    throw new Error(
      `${DRIVER_SOCKET_DIR} or ${REGISTRATION_SOCKET} exists: another CSI driver serves this node`,
    );
  const rotationPollInterval = options.rotationPollInterval ?? '10s';

  const dir = mkdtempSync(join(tmpdir(), 'rotor-csi-'));
  const providers = join(dir, 'providers');
  mkdirSync(providers);
  const processes: Started[] = [];
  let proxy: SecretManagerProxy | undefined;
  const killSync = (): void => {
    for (const p of [...processes].reverse()) {
      if (!p.child.pid || p.child.exitCode !== null || p.child.signalCode !== null) continue;
      try {
        process.kill(-p.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const removeOwnFiles = (): void => {
    rmSync(REGISTRATION_SOCKET, { force: true });
    rmSync(DRIVER_SOCKET_DIR, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  const removeExitHook = onExit(() => {
    killSync();
    removeOwnFiles();
  });
  const stop = async (): Promise<void> => {
    killSync();
    await Promise.all(
      processes.map((p) =>
        p.child.exitCode !== null || p.child.signalCode !== null
          ? Promise.resolve()
          : new Promise((r) => p.child.once('exit', r)),
      ),
    );
    await proxy?.close();
    removeOwnFiles();
    removeExitHook();
  };
  const logTail = (lines = 30): string =>
    processes.map((p) => `--- ${p.name} (${p.log})\n${tail(p.log, lines)}`).join('\n');

  try {
    // The driver's own CRDs replace the minimal ones of infra/crds (same names); the CSIDriver
    // object makes the kubelet pass the pod's identity and accept inline (Ephemeral) volumes.
    await installCrds(cp.kubeConfig(), { dir: join(csiDir, 'crds') });
    await applyManifests(
      cp.kubeConfig(),
      `
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: ${CSI_DRIVER}}
spec: {podInfoOnMount: true, attachRequired: false, volumeLifecycleModes: [Ephemeral]}
`,
    );

    proxy = await startSecretManagerProxy(options.secretManagerEndpoint, dir);
    const keyFile = join(dir, 'provider-key.json');
    writeFileSync(keyFile, proxy.serviceAccountKey('csi-provider@rotor-demo.iam.gserviceaccount.com'), {
      mode: 0o600,
    });
    const started = Date.now();
    const deadline = started + (options.startTimeoutMs ?? 60_000);
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };

    processes.push(
      startProcess(dir, 'provider', join(csiDir, 'secrets-store-csi-driver-provider-gcp'), {
        args: [
          `--kubeconfig=${cp.kubeconfigPath}`,
          `--metrics_addr=127.0.0.1:${await freePort()}`,
          '--log-format-json=false',
          '--v=3',
        ],
        env: {
          ...base,
          ...proxy.env,
          TARGET_DIR: providers,
          GOOGLE_APPLICATION_CREDENTIALS: keyFile,
        },
      }),
    );
    await waitUntil(processes, deadline, 'the provider socket', () =>
      existsSync(join(providers, 'gcp.sock')),
    );

    mkdirSync(DRIVER_SOCKET_DIR);
    processes.push(
      startProcess(dir, 'driver', join(csiDir, 'secrets-store-csi-driver'), {
        args: [
          `--endpoint=unix://${DRIVER_SOCKET}`,
          `--nodeid=${options.nodeName}`,
          `--provider-volume=${providers}`,
          // Its default is a path in /etc: providers are looked for only where ours is.
          `--additional-provider-volume-paths=${providers}`,
          `--metrics-addr=127.0.0.1:${await freePort()}`,
          '--enable-secret-rotation=true',
          `--rotation-poll-interval=${rotationPollInterval}`,
          '--v=3',
        ],
        // The driver talks only to the API server (loopback) and the provider's socket.
        env: { ...base, KUBECONFIG: cp.kubeconfigPath },
      }),
    );
    await waitUntil(processes, deadline, 'the driver socket', () => existsSync(DRIVER_SOCKET));

    processes.push(
      startProcess(dir, 'registrar', join(csiDir, 'csi-registrar'), {
        args: [
          `--socket=${REGISTRATION_SOCKET}`,
          `--driver-name=${CSI_DRIVER}`,
          `--csi-endpoint=${DRIVER_SOCKET}`,
        ],
        env: base,
      }),
    );
    // The kubelet records a registered driver in the node's CSINode object.
    await waitUntil(processes, deadline, `the kubelet registering ${CSI_DRIVER}`, async () => {
      const r = await cp.request('admin', 'GET', `/apis/storage.k8s.io/v1/csinodes/${options.nodeName}`);
      if (r.status !== 200) return false;
      const csiNode = JSON.parse(r.body) as { spec?: { drivers?: Array<{ name: string }> } };
      return (csiNode.spec?.drivers ?? []).some((d) => d.name === CSI_DRIVER);
    });
    process.stderr.write(
      `[real-csi] driver, provider and registrar registered in ${((Date.now() - started) / 1000).toFixed(1)}s (logs in ${dir})\n`,
    );

    const stats = proxy.stats;
    return {
      stats,
      rotationPollInterval,
      secretProviderClass: (ns, name, secrets) =>
        JSON.stringify({
          apiVersion: 'secrets-store.csi.x-k8s.io/v1',
          kind: 'SecretProviderClass',
          metadata: { name, namespace: ns },
          spec: {
            provider: 'gcp',
            parameters: {
              auth: 'provider-adc',
              secrets: secrets
                .map((s) => `- resourceName: "${s.resourceName}"\n  path: "${s.path}"\n`)
                .join(''),
            },
          },
        }),
      logTail,
      stop,
    };
  } catch (err) {
    const logs = logTail(40);
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
}

function startProcess(
  dir: string,
  name: string,
  binary: string,
  spec: { args: string[]; env: Record<string, string> },
): Started {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const [cmd, ...prefix] = [...deathSignalPrefix(), binary];
  const child = spawn(cmd, [...prefix, ...spec.args], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: spec.env,
  });
  closeSync(fd);
  return { name, child, log };
}

/** Polls `probe` until true; fails fast, with the logs, if a started process exits. */
async function waitUntil(
  processes: Started[],
  deadline: number,
  what: string,
  probe: () => boolean | Promise<boolean>,
): Promise<void> {
  for (;;) {
    const dead = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead)
      throw new Error(
        `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}`,
      );
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(file: string, lines: number): string {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
