// A real, throwaway Kubernetes control plane for integration tests, the demo and the benchmark:
// etcd + kube-apiserver (RBAC on, token users) + kube-controller-manager, on free loopback ports,
// everything in one temp dir that `stop()` removes.
//
// Why a real one: Rotor's job is to patch live workloads and to be refused by RBAC when it should
// be; patch content types, RBAC, conflicts and controllers reacting to a restart are exactly what a
// fake server would get wrong.
//
// Binaries: $KUBEBUILDER_ASSETS (the envtest convention), else $ROTOR_CONTROL_PLANE_BIN (what
// `scripts/test.mjs` passes after building), else infra/local/build-control-plane.sh is run
// (reuses its cache; the first build takes a long while and says so on stderr).
//
// Identities (a static token file; tokens are random per start):
//   admin          group system:masters, used by `kubeConfig()` and by the controller manager
//   each of `users` (default ["rotor"]) with no groups but the implicit system:authenticated, so
//                  it can do nothing beyond discovery until a test binds a role (infra/k8s/rbac.yaml
//                  binds the `rotor` user)
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { deathSignalPrefix, onExit } from './cleanup';
import { freePort } from './freePort';
import { runBuildScript } from './cachedBuild';

const execFileP = promisify(execFile);

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const CRD_DIR = join(REPO_ROOT, 'infra', 'crds');
const BUILD_SCRIPT = join(REPO_ROOT, 'infra', 'local', 'build-control-plane.sh');
const ADMIN = 'admin';
const FIELD_MANAGER = 'rotor-test-harness';

export interface ControlPlaneUser {
  name: string;
  groups?: string[];
}

export interface ControlPlaneOptions {
  /** Non-admin token users to provision (the token file is read once, at start). Default: ["rotor"]. */
  users?: Array<string | ControlPlaneUser>;
  /** Start kube-controller-manager (Deployments get ReplicaSets, namespaces get cleaned up). Default true. */
  controllerManager?: boolean;
  /** Extra kube-apiserver flags, appended last so they win (e.g. `--max-requests-inflight=...` for the bench). */
  apiServerArgs?: string[];
  /** Directory with etcd, kube-apiserver, kube-controller-manager; default: see `locateBinaries`. */
  binDir?: string;
  /** How long to wait for readiness. Default 90 s: two busy cores can make the first start slow. */
  startTimeoutMs?: number;
  /** No progress line on stderr. */
  quiet?: boolean;
  /**
   * Serve a real kubelet (test/harness/realNode.ts) named `name`: authorization Node,RBAC, the
   * NodeRestriction admission plugin, a token user `system:node:NAME` in `system:nodes` (the
   * kubelet's identity), and a client certificate the API server presents to the kubelet (logs,
   * exec), signed by the cluster CA the kubelet trusts. Default: none (RBAC only, as before).
   */
  node?: { name: string };
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface ControlPlane {
  /** `https://127.0.0.1:PORT` */
  readonly server: string;
  /** The temp dir holding data, certificates, kubeconfigs and logs (removed by `stop()`). */
  readonly dir: string;
  readonly binDir: string;
  /** The admin kubeconfig (system:masters). */
  readonly kubeconfigPath: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  readonly caPem: string;
  /** The CA file (PEM) the API server's kubelet client certificate chains to (for the kubelet's clientCAFile). */
  readonly caPath: string;
  /** A fresh KubeConfig for the admin. */
  kubeConfig(): KubeConfig;
  /** A fresh KubeConfig for a token user provisioned at start (throws for unknown users). */
  kubeConfigFor(user: string): KubeConfig;
  /** The kubeconfig file of a token user provisioned at start (for the CLI under test). */
  kubeconfigPathFor(user: string): string;
  /** The bearer token of `admin` or a provisioned user. */
  tokenFor(user: string): string;
  /**
   * A raw HTTPS request to the API server as `admin` or a provisioned user: for paths the typed
   * clients make awkward (pods/proxy, status patches with a chosen content type).
   */
  request(
    user: string,
    method: string,
    path: string,
    options?: { body?: string | object; contentType?: string },
  ): Promise<HttpResult>;
  /**
   * Test setup as `admin`: a request that must succeed (it throws with the API server's answer
   * otherwise), its JSON body returned.
   */
  admin<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: object,
    contentType?: string,
  ): Promise<T>;
  /** The last lines of every component's log, for failure messages. */
  logTail(lines?: number): string;
  /** Kills every process and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Where the binaries are: KUBEBUILDER_ASSETS, else ROTOR_CONTROL_PLANE_BIN, else the build script's output. */
export async function locateBinaries(): Promise<string> {
  const fromEnv = process.env.KUBEBUILDER_ASSETS || process.env.ROTOR_CONTROL_PLANE_BIN;
  if (fromEnv) return fromEnv;
  return runBuildScript(BUILD_SCRIPT);
}

function binary(binDir: string, name: string): string {
  const path = join(binDir, name);
  if (!existsSync(path)) {
    const hint =
      name === 'kube-controller-manager' && process.env.KUBEBUILDER_ASSETS
        ? ' (envtest assets ship no controller manager: add one there, or unset KUBEBUILDER_ASSETS to build it)'
        : '';
    throw new Error(`no ${name} in ${binDir}${hint}`);
  }
  return path;
}

/** A CA and a serving certificate for 127.0.0.1/localhost and the in-cluster names. EC keys: fast to make. */
async function makeCertificates(dir: string): Promise<void> {
  const ca = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'];
  await execFileP('openssl', [
    'req',
    '-x509',
    ...ca,
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.crt'),
    '-subj',
    '/CN=rotor-local-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  // OpenSSL 3's `req -x509 -CA` signs with the CA in one step.
  await execFileP('openssl', [
    'req',
    '-x509',
    ...ca,
    '-keyout',
    join(dir, 'apiserver.key'),
    '-out',
    join(dir, 'apiserver.crt'),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-subj',
    '/CN=kube-apiserver',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'extendedKeyUsage=serverAuth',
    '-addext',
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
  ]);
  // Service-account signing key (the API server signs tokens, the controller manager's token
  // controller needs it too). PKCS#8 EC is accepted by both.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

/** The API server's client certificate for kubelet requests (logs, exec, port-forward). */
async function makeKubeletClientCertificate(dir: string): Promise<void> {
  await execFileP('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '3650',
    '-keyout',
    join(dir, 'kubelet-client.key'),
    '-out',
    join(dir, 'kubelet-client.crt'),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-subj',
    '/O=system:masters/CN=kube-apiserver-kubelet-client',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'extendedKeyUsage=clientAuth',
  ]);
}

/** The flags that let a real kubelet join (besides the Node authorizer): NodeRestriction, the kubelet client certificate. */
function nodeAuthorizationArgs(dir: string): string[] {
  return [
    '--enable-admission-plugins=NodeRestriction',
    `--kubelet-client-certificate=${join(dir, 'kubelet-client.crt')}`,
    `--kubelet-client-key=${join(dir, 'kubelet-client.key')}`,
    // The node's InternalIP is 127.0.0.1 (the kubelet's --hostname-override): logs and exec go there.
    '--kubelet-preferred-address-types=InternalIP',
  ];
}

interface KubeconfigDoc {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ name: string; user: { token: string } }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string; namespace: string } }>;
  'current-context': string;
}

function kubeconfigDoc(server: string, caPem: string, user: string, token: string): KubeconfigDoc {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'rotor-local',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [
      { name: `${user}@rotor-local`, context: { cluster: 'rotor-local', user, namespace: 'default' } },
    ],
    'current-context': `${user}@rotor-local`,
  };
}

function send(
  url: string,
  options: {
    method?: string;
    ca?: string;
    token?: string;
    body?: string;
    contentType?: string;
    timeoutMs?: number;
  },
): Promise<HttpResult> {
  return new Promise((resolveSend, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const req = request(
      url,
      { method: options.method ?? 'GET', ca: options.ca, headers, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolveSend({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${options.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
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

class StartupError extends Error {
  constructor(
    message: string,
    readonly portClash: boolean,
  ) {
    super(message);
  }
}

interface Component {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
  exitCode?: number | null;
}

function startProcess(dir: string, name: string, bin: string, args: string[]): Component {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const command = [...deathSignalPrefix(), bin, ...args];
  // Logs go to files, never to the test's stdout; they are shown when startup fails.
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', fd, fd], cwd: dir });
  closeSync(fd);
  // Not keeping Node alive: a test file that forgets stop() still ends, and the exit hook kills these.
  child.unref();
  const component: Component = { name, child, log, exited: Promise.resolve() };
  component.exited = new Promise((done) =>
    child.on('exit', (code) => {
      component.exitCode = code;
      done();
    }),
  );
  return component;
}

function killAll(components: Component[]): void {
  for (const c of components) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  }
}

/** Kills and waits for the exits; ref() first, or Node could finish before the exit events arrive. */
async function killAndWait(components: Component[]): Promise<void> {
  for (const c of components) c.child.ref();
  killAll(components);
  await Promise.all(components.map((c) => c.exited));
}

/** Starts etcd, kube-apiserver and (by default) kube-controller-manager; resolves when they are ready. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = options.binDir ?? (await locateBinaries());
  // Ports are picked free and then bound by another process, so another test starting at the same
  // moment can take one in between: that one failure mode is retried with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, options);
    } catch (err) {
      if (!(err instanceof StartupError && err.portClash && attempt < 3)) throw err;
    }
  }
}

async function startOnce(binDir: string, options: ControlPlaneOptions): Promise<ControlPlane> {
  const started = Date.now();
  const etcdBin = binary(binDir, 'etcd');
  const apiserverBin = binary(binDir, 'kube-apiserver');
  const withControllerManager = options.controllerManager ?? true;
  const kcmBin = withControllerManager ? binary(binDir, 'kube-controller-manager') : '';
  const timeoutMs = options.startTimeoutMs ?? 90_000;

  const dir = mkdtempSync(join(tmpdir(), 'rotor-cp-'));
  const components: Component[] = [];
  let stopped = false;
  const cleanupSync = (): void => {
    killAll(components);
    rmSync(dir, { recursive: true, force: true });
  };
  const removeExitHook = onExit(cleanupSync);

  const users: ControlPlaneUser[] = (options.users ?? ['rotor']).map((u) =>
    typeof u === 'string' ? { name: u } : u,
  );
  if (options.node) users.push({ name: `system:node:${options.node.name}`, groups: ['system:nodes'] });
  const tokens = new Map<string, string>([[ADMIN, randomBytes(24).toString('hex')]]);
  for (const u of users) {
    if (tokens.has(u.name)) throw new Error(`duplicate control plane user ${u.name}`);
    tokens.set(u.name, randomBytes(24).toString('hex'));
  }

  try {
    const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const server = `https://127.0.0.1:${apiPort}`;
    await makeCertificates(dir);
    if (options.node) await makeKubeletClientCertificate(dir);
    const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');

    // static token file: token,user,uid,"group,group"
    writeFileSync(
      join(dir, 'tokens.csv'),
      [
        `${tokens.get(ADMIN)},${ADMIN},uid-${ADMIN},"system:masters"`,
        ...users.map(
          (u) =>
            `${tokens.get(u.name)},${u.name},uid-${u.name}${u.groups?.length ? `,"${u.groups.join(',')}"` : ''}`,
        ),
      ].join('\n') + '\n',
    );
    const kubeconfigPaths = new Map<string, string>();
    for (const [user, token] of tokens) {
      const path = join(dir, `${user}.kubeconfig`);
      writeFileSync(path, stringify(kubeconfigDoc(server, caPem, user, token)), { mode: 0o600 });
      kubeconfigPaths.set(user, path);
    }

    // etcd: its own data dir; no fsync (a throwaway store; fsync dominates write latency on a shared disk).
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    components.push(
      startProcess(dir, 'etcd', etcdBin, [
        '--name=rotor',
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=rotor=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ]),
    );
    const deadline = started + timeoutMs;
    await waitReady(
      components,
      deadline,
      'etcd',
      async () => (await send(`${etcdUrl}/health`, { timeoutMs: 2000 })).status === 200,
    );

    components.push(
      startProcess(dir, 'kube-apiserver', apiserverBin, [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // Without it the API server advertises the host's first interface; the endpoint reconciler
        // is off because it would publish a loopback address the Endpoints validation rejects.
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        // A string-slice flag (a repeat appends): set once, here.
        `--authorization-mode=${options.node ? 'Node,RBAC' : 'RBAC'}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        // Pods are only ever fakes here (no kubelet): the ServiceAccount admission plugin would make
        // every pod creation in a fresh namespace race the controller manager creating `default`.
        '--disable-admission-plugins=ServiceAccount',
        '--profiling=false',
        ...(options.node ? nodeAuthorizationArgs(dir) : []),
        ...(options.apiServerArgs ?? []),
      ]),
    );
    const adminToken = tokens.get(ADMIN)!;
    await waitReady(components, deadline, 'kube-apiserver', async () => {
      const r = await send(`${server}/readyz`, { ca: caPem, token: adminToken, timeoutMs: 2000 });
      return r.status === 200;
    });

    if (withControllerManager) {
      components.push(
        startProcess(dir, 'kube-controller-manager', kcmBin, [
          `--kubeconfig=${kubeconfigPaths.get(ADMIN)!}`,
          // Every default controller ("*"): deployment and replicaset are the ones tests observe,
          // garbage collector and namespace clean up after them.
          '--controllers=*',
          `--service-account-private-key-file=${join(dir, 'sa.key')}`,
          `--root-ca-file=${join(dir, 'ca.crt')}`,
          // One instance, nothing to elect: skips the lease round trips at start.
          '--leader-elect=false',
          // No serving endpoint is needed (readiness is observed through the API, below).
          '--secure-port=0',
          '--profiling=false',
        ]),
      );
      // The service-account controller creating `default` in `default` means the controllers and
      // their informers are running, so a Deployment created now gets its ReplicaSet promptly.
      await waitReady(components, deadline, 'kube-controller-manager', async () => {
        const r = await send(`${server}/api/v1/namespaces/default/serviceaccounts/default`, {
          ca: caPem,
          token: adminToken,
          timeoutMs: 2000,
        });
        return r.status === 200;
      });
    }

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (!options.quiet) {
      process.stderr.write(
        `[control-plane] ready in ${seconds}s: ${server} (etcd, kube-apiserver${withControllerManager ? ', kube-controller-manager' : ''}; logs in ${dir})\n`,
      );
    }

    const tokenFor = (user: string): string => {
      const token = tokens.get(user);
      if (!token) throw new Error(`no token user "${user}" on this control plane: pass it in options.users`);
      return token;
    };
    const configFor = (user: string): KubeConfig => {
      const path = kubeconfigPaths.get(user);
      if (!path) throw new Error(`no token user "${user}" on this control plane: pass it in options.users`);
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      return kc;
    };
    const requestAs: ControlPlane['request'] = (user, method, path, requestOptions = {}) => {
      const { body, contentType } = requestOptions;
      return send(`${server}${path}`, {
        method,
        ca: caPem,
        token: tokenFor(user),
        body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
        contentType,
      });
    };
    return {
      server,
      dir,
      binDir,
      caPem,
      caPath: join(dir, 'ca.crt'),
      kubeconfigPath: kubeconfigPaths.get(ADMIN)!,
      kubeConfig: () => configFor(ADMIN),
      kubeConfigFor: configFor,
      kubeconfigPathFor(user) {
        const path = kubeconfigPaths.get(user);
        if (!path) throw new Error(`no token user "${user}" on this control plane: pass it in options.users`);
        return path;
      },
      tokenFor,
      request: requestAs,
      async admin<T>(method: string, path: string, body?: object, contentType?: string): Promise<T> {
        const r = await requestAs('admin', method, path, {
          ...(body ? { body } : {}),
          ...(contentType ? { contentType } : {}),
        });
        if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
        return JSON.parse(r.body) as T;
      },
      logTail: (lines = 30) =>
        components.map((c) => `--- ${c.name} (${c.log})\n${tail(c.log, lines)}`).join('\n'),
      async stop() {
        if (stopped) return;
        stopped = true;
        // SIGKILL, not a graceful stop: the cluster and its data are thrown away, and a graceful
        // API server shutdown costs seconds per test file.
        await killAndWait(components);
        rmSync(dir, { recursive: true, force: true });
        removeExitHook();
      },
    };
  } catch (err) {
    const logs = components
      .map((c) => `--- ${c.name} (exit ${c.exitCode ?? 'running'})\n${tail(c.log, 40)}`)
      .join('\n');
    const portClash = /address already in use/.test(logs);
    await killAndWait(components);
    removeExitHook();
    rmSync(dir, { recursive: true, force: true });
    if (err instanceof StartupError) throw new StartupError(`${err.message}\n${logs}`, portClash);
    throw err;
  }
}

/** Polls `probe` until it is true; fails fast if any started component exits. */
async function waitReady(
  components: Component[],
  deadline: number,
  what: string,
  probe: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    const dead = components.find((c) => c.child.exitCode !== null || c.child.signalCode !== null);
    if (dead)
      throw new StartupError(
        `${dead.name} exited (code ${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}`,
        false,
      );
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new StartupError(`${what} not ready in time`, false);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Parses YAML (multi-document) into objects, skipping empty documents. */
export function parseManifests(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((obj): obj is KubernetesObject => obj !== null && typeof obj === 'object');
}

/**
 * Server-side applies every object of a manifest file (or YAML text) as the given identity, in
 * order, and returns what the server stored. Creates or updates: safe to run twice.
 */
export async function applyManifests(kc: KubeConfig, fileOrYaml: string): Promise<KubernetesObject[]> {
  const text =
    !fileOrYaml.includes('\n') && existsSync(fileOrYaml) ? readFileSync(fileOrYaml, 'utf8') : fileOrYaml;
  const client = KubernetesObjectApi.makeApiClient(kc);
  const applied: KubernetesObject[] = [];
  for (const obj of parseManifests(text)) {
    // KubernetesObjectApi serializes known kinds through client-node's typed models, which expect
    // their camelCase property names: a plain wire-format object silently loses fields whose wire
    // name differs (a CRD's `x-kubernetes-preserve-unknown-fields` becomes nothing, and the API
    // server then prunes every unknown field). loadYaml converts wire format to the typed model.
    const typed = loadYaml<KubernetesObject>(stringify(obj));
    applied.push(
      await client.patch(typed, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    );
  }
  return applied;
}

/**
 * Applies every CRD in infra/crds/ and waits until each is usable: Established, every served
 * version answering a list, and past the API server's create delay. Established alone is not
 * enough: the first request for a new resource can get 429 (Retry-After) while the API server
 * initialises its watch cache, and a create within 2 s of Established is held for 2 s (an HA
 * safeguard in the CRD handler), which would add a stray 2 s to whatever a test measures first.
 * Returns the CRD names.
 */
export async function installCrds(
  kc: KubeConfig,
  options: { dir?: string; timeoutMs?: number } = {},
): Promise<string[]> {
  const dir = options.dir ?? CRD_DIR;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const names: string[] = [];
  for (const file of files) {
    for (const obj of await applyManifests(kc, join(dir, file))) names.push(obj.metadata?.name ?? '');
  }
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  let lastEstablished = 0;
  await Promise.all(
    names.map(async (name) => {
      const crd = await waitFor(
        async () => {
          const c = await api.readCustomResourceDefinition({ name });
          const established = c.status?.conditions?.find(
            (x) => x.type === 'Established' && x.status === 'True',
          );
          if (!established) return undefined;
          lastEstablished = Math.max(
            lastEstablished,
            new Date(established.lastTransitionTime ?? 0).getTime(),
          );
          return c;
        },
        { timeoutMs, what: `CRD ${name} Established` },
      );
      for (const version of crd.spec.versions.filter((v) => v.served)) {
        await waitFor(
          async () => {
            await objects.list(
              `${crd.spec.group}/${version.name}`,
              crd.spec.names.kind,
              undefined,
              undefined,
              undefined,
              undefined,
              undefined,
              undefined,
              1,
            );
            return true;
          },
          { timeoutMs, what: `${crd.spec.names.plural}.${crd.spec.group}/${version.name} to be served` },
        );
      }
    }),
  );
  // lastTransitionTime has whole seconds, truncated: waiting from it errs on the safe side.
  const settle = lastEstablished + 2_100 - Date.now();
  if (settle > 0) await new Promise((r) => setTimeout(r, settle));
  return names;
}

/** Polls `check` until it returns something other than undefined/false; returns that value. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  options: {
    timeoutMs?: number;
    intervalMs?: number;
    /** What was awaited; a function is called at the timeout (diagnostics as they are then, not at the start). */
    what?: string | (() => string);
  } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const what = typeof options.what === 'function' ? options.what() : options.what;
      throw new Error(`timed out waiting for ${what ?? 'condition'}${detail}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
