// A real Kubernetes node for the local control plane: kube-scheduler + kubelet (built with the
// control plane by infra/local/build-control-plane.sh) on Debian's containerd, runc and CNI
// plugins, running busybox pods for real (images from test/harness/nodeImage.ts).
//
// API (stable: the CSI e2e builds on it)
//   startRealNode(cp, options)      cp must be started with `node: { name: NODE_NAME }`
//                                   (authorization Node,RBAC, NodeRestriction, the node's identity)
//     options.hostProcesses        host processes started after containerd and before the kubelet
//                                   (e.g. a CSI driver and its plugin registration: their sockets go in
//                                   PLUGINS_REGISTRY_DIR and PLUGINS_DIR, which exist by then); each
//                                   may say when it is ready; all are stopped with the node
//     options.kubeletConfig        merged over the KubeletConfiguration below (shallow)
//     options.kubeletArgs          extra kubelet flags (e.g. --feature-gates=...)
//     options.syncFrequency        the kubelet's syncFrequency (default 10s: Secret volumes refresh)
//   node.startHostProcess(spec)    one more host process after start
//   node.images.app / .pause       image references (imagePullPolicy: Never)
//   node.bridgeIp                  the host's address on the pods' bridge: pods reach host
//                                   services (PostgreSQL) there, and nowhere else
//   node.logTail(), node.stop()
//   podLog, podProxyGet, sha256Hex  reading what a container serves (by hash, never the value)
//   servingContainerScript(...)    a busybox app serving hashes of env vars and files on :8080
//   kernelSetting(name)            e.g. 'net/ipv4/ip_forward' (must stay 0)
//   machineKernelSetting(name)     the value from before any node changed it (the lock's record)
//
// Machine state, all of it created here and undone on every exit path (stop(), a failure, process
// exit, SIGINT/SIGTERM/SIGHUP through ./cleanup; after a SIGKILL the next start recovers it):
//   - a lock (LOCK_FILE): one node per machine, a second start waits. It records the owner's PID and
//     the kernel settings as they were before the kubelet changed them (vm.overcommit_memory,
//     kernel.panic, kernel.panic_on_oops, ...), restored at stop or by the next start;
//   - the bridge BRIDGE with BRIDGE_IP/24 (inside 198.18.0.0/15, at the top, away from the /24s
//     podNetwork.ts hands out from the bottom), CNI `isGateway: false`, `ipMasq: false`, no routes
//     in pods: net.ipv4.ip_forward stays as it was (0), pods reach only the bridge and each other;
//   - WORK_DIR (containerd's own config, root, state, socket; CNI config; logs) and KUBELET_ROOT,
//     unmounted and removed at stop; the kubepods cgroups (their processes killed, then removed);
//   - processes: scheduler, kubelet, host processes (own process groups, PDEATHSIG), containerd,
//     its shims (every process whose `-address` is our containerd socket, found in /proc) and the
//     containers (by the kubepods cgroups' process lists).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { deathSignalPrefix, onExit } from './cleanup';
import type { ControlPlane } from './controlPlane';
import { buildNodeImages } from './nodeImage';
import type { NodeImages } from './nodeImage';

/** The node's name and InternalIP (`--hostname-override`): the API server reaches the kubelet on loopback. */
export const NODE_NAME = '127.0.0.1';
export const KUBELET_ROOT = '/var/lib/kubelet';
export const PLUGINS_REGISTRY_DIR = `${KUBELET_ROOT}/plugins_registry`;
export const PLUGINS_DIR = `${KUBELET_ROOT}/plugins`;
export const WORK_DIR = '/var/lib/rotor-node';
export const LOCK_FILE = '/run/rotor-node.lock';
export const BRIDGE = 'rotor-node0';
export const POD_SUBNET = '198.19.254.0/24';
export const BRIDGE_IP = '198.19.254.1';
/** The kubelet's syncFrequency unless a start says otherwise: Secret volumes refresh within 1.5 × this. */
export const DEFAULT_SYNC_FREQUENCY_SECONDS = 10;
const KUBELET_PORT = 10250;
const MARKER = '.rotor-node';
const CNI_BIN_DIR = '/usr/lib/cni';
/** Every setting the kubelet's kernel tunables may change, plus ip_forward (which must not change). */
const KERNEL_SETTINGS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/ip_forward',
];
const CGROUP_ROOT = '/sys/fs/cgroup';

export interface HostProcessSpec {
  name: string;
  command: string;
  args?: string[];
  env?: Record<string, string>;
  /** Polled until true before the next step (e.g. its socket exists); default: started is enough. */
  ready?: () => boolean | Promise<boolean>;
}

export interface RealNodeOptions {
  hostProcesses?: HostProcessSpec[];
  kubeletConfig?: Record<string, unknown>;
  kubeletArgs?: string[];
  /** Default `${DEFAULT_SYNC_FREQUENCY_SECONDS}s`. */
  syncFrequency?: string;
  /** Where kubelet and kube-scheduler are; default: the control plane's binDir. */
  binDir?: string;
  /** Node Ready within this; default 90 s. */
  startTimeoutMs?: number;
  /** How long to wait for another node on this machine to stop; default 30 min. */
  lockTimeoutMs?: number;
  quiet?: boolean;
}

export interface RealNode {
  readonly name: string;
  readonly images: NodeImages;
  readonly bridgeIp: string;
  readonly podSubnet: string;
  /** From the lock taken to node Ready (ms). */
  readonly startMs: number;
  startHostProcess(spec: HostProcessSpec): Promise<void>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

interface LockRecord {
  pid: number;
  /** /proc/PID/stat start time: a reused PID is not the owner. */
  pidStart: string;
  kernel: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Kernel settings

export function kernelSetting(name: string): string {
  return readFileSync(join('/proc/sys', name), 'utf8').trim();
}

/**
 * The machine's own value of `name`: while a node runs (here or in another process) the kubelet has
 * changed some, and the lock holds the values from before; else the current one.
 */
export function machineKernelSetting(name: string): string {
  return readLock()?.kernel[name] ?? kernelSetting(name);
}

function recordKernelSettings(): Record<string, string> {
  return Object.fromEntries(KERNEL_SETTINGS.map((s) => [s, kernelSetting(s)]));
}

function restoreKernelSettings(recorded: Record<string, string>): void {
  for (const [name, value] of Object.entries(recorded)) {
    if (!KERNEL_SETTINGS.includes(name)) continue; // the record is a file: only our names
    try {
      if (kernelSetting(name) !== value) writeFileSync(join('/proc/sys', name), value);
    } catch {
      // best effort: the others still get restored
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The lock

function processStart(pid: number): string | undefined {
  try {
    // Field 22 (starttime), after the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readLock(): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as LockRecord;
  } catch {
    return undefined;
  }
}

function ownerAlive(record: LockRecord | undefined): boolean {
  return record !== undefined && processStart(record.pid) === record.pidStart;
}

/** Takes the lock (waiting for a live owner), recovering what a dead owner left behind. */
async function acquireLock(timeoutMs: number, quiet: boolean): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      // Recorded before anything of ours runs: these are the machine's own values.
      const record: LockRecord = {
        pid: process.pid,
        pidStart: processStart(process.pid) ?? '',
        kernel: recordKernelSettings(),
      };
      writeSync(fd, JSON.stringify(record));
      closeSync(fd);
      return record.kernel;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readLock();
    if (owner && !ownerAlive(owner)) {
      process.stderr.write(`[real-node] recovering after a node whose process (${owner.pid}) died\n`);
      teardownMachineState(owner.kernel);
      continue;
    }
    if (!owner) {
      // Being written right now, or unreadable: give its writer a moment, then take it over.
      await sleep(500);
      if (!readLock()) {
        rmSync(LOCK_FILE, { force: true });
        continue;
      }
    }
    if (Date.now() > deadline)
      throw new Error(`another real node (pid ${owner?.pid}) held ${LOCK_FILE} too long`);
    if (!announced && !quiet) {
      process.stderr.write(
        `[real-node] waiting for the node of pid ${owner?.pid} to stop (one per machine)\n`,
      );
      announced = true;
    }
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// Tearing down (synchronous: it also runs from exit and signal handlers)

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Every cgroup directory under `kubepods` in one hierarchy, deepest first. */
function kubepodsCgroups(controller: string): string[] {
  const top = join(CGROUP_ROOT, controller, 'kubepods');
  if (!existsSync(top)) return [];
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory()) walk(join(dir, entry.name));
    dirs.push(dir);
  };
  walk(top);
  return dirs;
}

/** Kills every container process (they all live in the kubepods cgroups this node's kubelet made). */
function killContainerProcesses(): void {
  for (let round = 0; round < 20; round++) {
    let found = 0;
    for (const dir of kubepodsCgroups('pids')) {
      for (const pid of cgroupProcs(dir)) {
        found++;
        killQuietly(Number(pid));
      }
    }
    if (found === 0) return;
    sleepSync(100);
  }
}

function cgroupProcs(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function removeKubepodsCgroups(): void {
  const controllers = existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : [];
  for (const controller of controllers)
    for (const dir of kubepodsCgroups(controller)) {
      try {
        rmdirSync(dir);
      } catch {
        // still in use or already gone
      }
    }
}

/** The containerd socket of this node: a shim started for it carries it as its `-address`. */
export const CONTAINERD_SOCKET = join(WORK_DIR, 'containerd.sock');

/** argv of a process from /proc/PID/cmdline; undefined when it is gone or unreadable. */
function processArgv(pid: string): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** `-address X`, `--address X`, `-address=X` or `--address=X` in argv, else undefined. */
function addressArgument(argv: string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const m = /^--?address(?:=(.*))?$/.exec(argv[i]);
    if (m) return m[1] ?? argv[i + 1];
  }
  return undefined;
}

/**
 * The PIDs of containerd shims serving this node's containerd: a shim is ours exactly when its
 * `-address` is our socket (one node per machine, so also those a dead owner left). Other people's
 * shims (another containerd, Docker's) have another address and are never touched.
 */
function ourShims(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^[0-9]+$/.test(entry))
    .filter((pid) => {
      const argv = processArgv(pid);
      return (
        argv !== undefined &&
        argv.length > 0 &&
        /(^|\/)containerd-shim[^/]*$/.test(argv[0]) &&
        addressArgument(argv) === CONTAINERD_SOCKET
      );
    })
    .map(Number);
}

/**
 * Kills every shim of this node (one per pod). They re-parent to init and outlive containerd. Their
 * shim.pid files are not enough: with the containers killed first, a pod's shim outlived stop() on
 * every run, its task directory (shim.pid included) already gone; so they are found by address.
 */
function killShims(): void {
  for (let round = 0; round < 20; round++) {
    const shims = ourShims();
    if (shims.length === 0) return;
    for (const pid of shims) killQuietly(pid);
    for (const pid of shims) waitGoneSync(pid);
  }
}

function decodeMountPath(raw: string): string {
  return raw.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function mountsUnder(dirs: string[]): string[] {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  return mountinfo
    .split('\n')
    .map((line) => decodeMountPath(line.split(' ')[4] ?? ''))
    .filter((mp) => dirs.some((d) => mp === d || mp.startsWith(`${d}/`)))
    .sort((a, b) => b.length - a.length);
}

function unmountAndRemove(dirs: string[]): void {
  for (let round = 0; round < 3; round++) {
    const mounts = mountsUnder(dirs);
    if (mounts.length === 0) break;
    for (const mp of mounts) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
  if (mountsUnder(dirs).length > 0) return; // never delete through a mount
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** Undoes everything a node leaves on the machine; the processes we spawned are killed first by the caller. */
function teardownMachineState(kernel: Record<string, string>): void {
  killContainerProcesses();
  killShims();
  killContainerProcesses();
  removeKubepodsCgroups();
  // Pod network namespaces live under our state dir (netns_mounts_under_state_dir): unmounting them
  // frees the namespaces and, with them, the pods' ends of the veths.
  unmountAndRemove([KUBELET_ROOT, WORK_DIR]);
  spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
  restoreKernelSettings(kernel);
  rmSync(LOCK_FILE, { force: true });
}

// ---------------------------------------------------------------------------------------------
// Configuration files

function containerdConfig(images: NodeImages): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${WORK_DIR}/root"
state = "${WORK_DIR}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "${CONTAINERD_SOCKET}"
[ttrpc]
  address = "${CONTAINERD_SOCKET}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${WORK_DIR}/opt"
[${cri}]
  sandbox_image = "${images.pause}"
  # No CAP_SYS_RESOURCE here: without this every sandbox fails to start.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${WORK_DIR}/cni"
    max_conf_num = 1
`;
}

function cniConfig(): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'rotor-node',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          // Not the pods' gateway (that would turn net.ipv4.ip_forward on), no masquerading, no
          // routes: pods reach the bridge address and each other, nothing else.
          isGateway: false,
          ipMasq: false,
          hairpinMode: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: POD_SUBNET, rangeStart: '198.19.254.10', rangeEnd: '198.19.254.250' }]],
            dataDir: join(WORK_DIR, 'cni-ipam'),
          },
        },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(cp: ControlPlane, options: RealNodeOptions): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_NAME,
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzPort: 0,
    // The API server authenticates with its kubelet client certificate (controlPlane `node`).
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: cp.caPath },
    },
    authorization: { mode: 'AlwaysAllow' },
    // This machine: cgroup v1 only, cgroupfs, swap may be on.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    syncFrequency: options.syncFrequency ?? `${DEFAULT_SYNC_FREQUENCY_SECONDS}s`,
    // No host resolver in pods: nothing resolves or leaves the machine.
    resolvConf: '',
    // A shared machine's disk and memory are others' business: evict only near the very end.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    maxPods: 110,
    shutdownGracePeriod: '0s',
    ...options.kubeletConfig,
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Started {
  name: string;
  child: ChildProcess;
  log: string;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

function startHost(spec: HostProcessSpec, logDir: string): Started {
  const log = join(logDir, `${spec.name}.log`);
  const fd = openSync(log, 'a');
  const command = [...deathSignalPrefix(), spec.command, ...(spec.args ?? [])];
  // Its own process group (killed as one), PDEATHSIG (dies with this process even on SIGKILL).
  const child = spawn(command[0], command.slice(1), {
    stdio: ['ignore', fd, fd],
    detached: true,
    env: { ...process.env, ...spec.env },
  });
  closeSync(fd);
  child.unref();
  return { name: spec.name, child, log };
}

/** Waits (bounded) until a killed process is gone or a zombie: its mounts and sockets are released. */
function waitGoneSync(pid: number | undefined): void {
  if (!pid) return;
  for (let i = 0; i < 50; i++) {
    let state: string | undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    sleepSync(50);
  }
}

function killGroup(s: Started): void {
  if (s.child.pid && s.child.exitCode === null && s.child.signalCode === null) {
    try {
      process.kill(-s.child.pid, 'SIGKILL');
    } catch {
      killQuietly(s.child.pid);
    }
  }
}

async function waitUntil(
  what: string,
  deadline: number,
  started: Started[],
  probe: () => boolean | Promise<boolean>,
): Promise<void> {
  for (;;) {
    const dead = started.find((s) => s.child.exitCode !== null || s.child.signalCode !== null);
    if (dead)
      throw new Error(
        `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}\n${tail(dead.log, 30)}`,
      );
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what} not ready in time\n${started.map((s) => `--- ${s.name}\n${tail(s.log, 20)}`).join('\n')}`,
      );
    await sleep(100);
  }
}

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

function requireTool(path: string, pkg: string): string {
  if (!existsSync(path))
    throw new Error(`${path} is missing: install Debian's ${pkg} (scripts/ensure-prereqs.sh e2e does)`);
  return path;
}

/** The bridge with its address, up; refuses a subnet someone else routes. */
function createBridge(): void {
  const routes = spawnSync('ip', ['-o', 'route', 'show', 'to', 'match', BRIDGE_IP], {
    encoding: 'utf8',
  }).stdout;
  const foreign = routes
    .split('\n')
    .filter((l) => l && !l.startsWith('default') && !l.includes(`dev ${BRIDGE}`));
  if (foreign.length)
    throw new Error(`${POD_SUBNET} is already routed on this machine: ${foreign.join('; ')}`);
  spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
  run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${BRIDGE_IP}/24`, 'dev', BRIDGE]);
  run('ip', ['link', 'set', BRIDGE, 'up']);
}

/** Prepares the directories; refuses a kubelet root dir some other kubelet left. */
function prepareDirectories(): string {
  if (existsSync(KUBELET_ROOT) && !existsSync(join(KUBELET_ROOT, MARKER)))
    throw new Error(`${KUBELET_ROOT} exists and was not made by this harness: refusing to use it`);
  unmountAndRemove([KUBELET_ROOT, WORK_DIR]);
  for (const d of [PLUGINS_REGISTRY_DIR, PLUGINS_DIR]) mkdirSync(d, { recursive: true });
  writeFileSync(join(KUBELET_ROOT, MARKER), `made by rotor test/harness/realNode.ts (pid ${process.pid})\n`);
  const logDir = join(WORK_DIR, 'logs');
  for (const d of [logDir, join(WORK_DIR, 'cni')]) mkdirSync(d, { recursive: true });
  return logDir;
}

/** Starts the node; resolves when it is Ready. */
export async function startRealNode(cp: ControlPlane, options: RealNodeOptions = {}): Promise<RealNode> {
  const quiet = options.quiet ?? false;
  const binDir = options.binDir ?? cp.binDir;
  const kubelet = requireTool(join(binDir, 'kubelet'), 'kubelet (infra/local/build-control-plane.sh)');
  const scheduler = requireTool(
    join(binDir, 'kube-scheduler'),
    'kube-scheduler (infra/local/build-control-plane.sh)',
  );
  const containerd = requireTool('/usr/bin/containerd', 'containerd');
  const ctr = requireTool('/usr/bin/ctr', 'containerd');
  requireTool('/usr/sbin/runc', 'runc');
  requireTool(join(CNI_BIN_DIR, 'bridge'), 'containernetworking-plugins');
  const nodeUser = `system:node:${NODE_NAME}`;
  cp.tokenFor(nodeUser); // throws unless the control plane was started with `node`
  const images = buildNodeImages({ quiet });

  const kernel = await acquireLock(options.lockTimeoutMs ?? 30 * 60_000, quiet);
  const started = Date.now();
  const processes: Started[] = [];
  let stopped = false;
  const stopSync = (): void => {
    // The kubelet first (it would restart what is killed next), containerd last.
    for (const s of [...processes].reverse()) if (s.name !== 'containerd') killGroup(s);
    for (const s of processes) if (s.name !== 'containerd') waitGoneSync(s.child.pid);
    teardownBeforeContainerd();
    for (const s of processes) killGroup(s);
    for (const s of processes) waitGoneSync(s.child.pid);
    teardownMachineState(kernel);
  };
  const teardownBeforeContainerd = (): void => {
    killContainerProcesses();
    killShims();
  };
  const removeExitHook = onExit(() => {
    if (!stopped) stopSync();
  });

  try {
    const logDir = prepareDirectories();
    createBridge();
    const deadline = started + (options.startTimeoutMs ?? 90_000);

    const configPath = join(WORK_DIR, 'containerd.toml');
    writeFileSync(configPath, containerdConfig(images));
    writeFileSync(join(WORK_DIR, 'cni', '10-rotor-node.conflist'), cniConfig());
    const socket = CONTAINERD_SOCKET;
    processes.push(
      startHost({ name: 'containerd', command: containerd, args: ['--config', configPath] }, logDir),
    );
    await waitUntil('containerd', deadline, processes, () => existsSync(socket));
    run(ctr, ['--address', socket, '-n', 'k8s.io', 'images', 'import', images.archive]);

    processes.push(
      startHost(
        {
          name: 'kube-scheduler',
          command: scheduler,
          args: [
            `--kubeconfig=${cp.kubeconfigPath}`,
            '--leader-elect=false',
            '--secure-port=0',
            '--profiling=false',
          ],
        },
        logDir,
      ),
    );
    for (const spec of options.hostProcesses ?? []) {
      processes.push(startHost(spec, logDir));
      if (spec.ready) await waitUntil(spec.name, deadline, processes, spec.ready);
    }

    const kubeletConfigPath = join(WORK_DIR, 'kubelet.yaml');
    writeFileSync(kubeletConfigPath, stringify(kubeletConfig(cp, options)));
    processes.push(
      startHost(
        {
          name: 'kubelet',
          command: kubelet,
          args: [
            `--config=${kubeletConfigPath}`,
            `--kubeconfig=${cp.kubeconfigPathFor(nodeUser)}`,
            `--hostname-override=${NODE_NAME}`,
            `--root-dir=${KUBELET_ROOT}`,
            ...(options.kubeletArgs ?? []),
          ],
        },
        logDir,
      ),
    );
    await waitUntil('node Ready', deadline, processes, async () => {
      const r = await cp.request('admin', 'GET', `/api/v1/nodes/${NODE_NAME}`);
      if (r.status !== 200) return false;
      const node = JSON.parse(r.body) as {
        spec?: { taints?: Array<{ key: string }> };
        status?: { conditions?: Array<{ type: string; status: string }> };
      };
      const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      // The node lifecycle controller lifts the not-ready taint shortly after: pods schedule then.
      return (
        Boolean(ready) && !(node.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'))
      );
    });
    const startMs = Date.now() - started;
    if (!quiet)
      process.stderr.write(
        `[real-node] node ${NODE_NAME} Ready in ${(startMs / 1000).toFixed(1)}s (containerd, kube-scheduler, kubelet; logs in ${logDir})\n`,
      );

    return {
      name: NODE_NAME,
      images,
      bridgeIp: BRIDGE_IP,
      podSubnet: POD_SUBNET,
      startMs,
      async startHostProcess(spec) {
        const s = startHost(spec, logDir);
        processes.push(s);
        if (spec.ready) await waitUntil(spec.name, Date.now() + 60_000, processes, spec.ready);
      },
      logTail: (lines = 30) =>
        processes.map((s) => `--- ${s.name} (${s.log})\n${tail(s.log, lines)}`).join('\n'),
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const s of processes) s.child.ref(); // or Node could finish before the exit events
        const exited = processes.map((s) =>
          s.child.exitCode !== null || s.child.signalCode !== null
            ? Promise.resolve()
            : new Promise<void>((r) => s.child.once('exit', () => r())),
        );
        stopSync();
        await Promise.all(exited);
        removeExitHook();
      },
    };
  } catch (err) {
    const logs = processes.map((s) => `--- ${s.name}\n${tail(s.log, 30)}`).join('\n');
    stopped = true;
    stopSync();
    removeExitHook();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// Reading what a container serves

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A container's log (the current instance; `previous` for the one before its last restart). */
export async function podLog(
  cp: ControlPlane,
  ns: string,
  pod: string,
  container: string,
  previous = false,
): Promise<string> {
  const r = await cp.request(
    'admin',
    'GET',
    `/api/v1/namespaces/${ns}/pods/${pod}/log?container=${container}${previous ? '&previous=true' : ''}`,
  );
  if (r.status !== 200)
    throw new Error(`log of ${ns}/${pod}/${container}: ${r.status} ${r.body.slice(0, 200)}`);
  return r.body;
}

/** GET through the API server's pod proxy (the kubelet is not involved: it dials the pod IP). */
export async function podProxyGet(
  cp: ControlPlane,
  ns: string,
  pod: string,
  port: number,
  path: string,
): Promise<{ status: number; body: string }> {
  const r = await cp.request('admin', 'GET', `/api/v1/namespaces/${ns}/pods/${pod}:${port}/proxy${path}`);
  return { status: r.status, body: r.body };
}

/**
 * A busybox app for `sh -c`: serves on :8080, through CGI, the SHA-256 of what it holds, so a test
 * compares hashes and no value is ever printed:
 *   GET /cgi-bin/env?NAME    the hash of environment variable NAME as the process got it
 *   GET /cgi-bin/file?PATH   the hash of the file at PATH now (`missing` when there is none)
 * `prelude` runs first (e.g. exit when a value is unacceptable: a real crash loop).
 */
export function servingContainerScript(prelude = ''): string {
  const header = `printf 'Content-Type: text/plain\\r\\n\\r\\n'`;
  return [
    prelude,
    'mkdir -p /tmp/www/cgi-bin',
    `printf '%s\\n' '#!/bin/sh' "${header}" 'awk -v n="$QUERY_STRING" '"'"'BEGIN{printf "%s", ENVIRON[n]}'"'"' | sha256sum | cut -c1-64' > /tmp/www/cgi-bin/env`,
    `printf '%s\\n' '#!/bin/sh' "${header}" 'if [ -f "$QUERY_STRING" ]; then sha256sum < "$QUERY_STRING" | cut -c1-64; else echo missing; fi' > /tmp/www/cgi-bin/file`,
    'chmod +x /tmp/www/cgi-bin/*',
    'exec httpd -f -p 8080 -h /tmp/www',
  ]
    .filter(Boolean)
    .join('\n');
}
