// Fake pod IPs that the API server's pod proxy will actually reach.
//
// There is no kubelet in the local control plane: a test fakes a running pod by creating a Pod and
// setting status.podIP (and a Ready condition) through the status subresource. The API server
// proxies `POST /api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH` to status.podIP:PORT, but refuses
// loopback and link-local pod IPs, so a server on 127.0.0.1 cannot play the pod. This helper gives
// each test a Linux network namespace joined to the host by a veth pair, with routable pod
// addresses inside it, and runs a small recording HTTP server there:
//
//   host: rpn-S  198.18.S.1/24  <── veth ──>  netns rotor-pn-S: eth0 198.18.S.2/24 (+ .3, .4, ...)
//
// Addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking, never routed publicly),
// one /24 per network, skipping any /24 the host already routes. Not 192.0.2.0/24: on this project's
// machines that TEST-NET block is the real eth0 network (host 192.0.2.2, gateway 192.0.2.1), and
// adding 192.0.2.1 to a veth hijacks the default gateway.
//
// Concurrency: the netns name encodes the /24 (`rotor-pn-S`), so `ip netns add` is an atomic
// reservation across processes; an owner file (/run/rotor-podnet/S) lets a later run reclaim a
// network whose process died without cleaning up.
//
// Needs CAP_NET_ADMIN (root here, and in CI). Without it, run the whole test process under
// `unshare -rnm` (a user + network + mount namespace where the test is root of its own network);
// the API server then runs in that namespace too and this helper works unchanged. Tests that need
// a pod network skip without one (`podNetworkSkipReason`), except under CI, where they fail.
import { spawn, execFile, spawnSync } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { deathSignalPrefix, onExit } from './cleanup';
import { Arrivals } from './arrivals';

const execFileP = promisify(execFile);

const OWNER_DIR = '/run/rotor-podnet';
const NETNS_DIR = '/run/netns';
/** 198.18.0.0/15 as /24 slots: 198.18.0.0 ... 198.19.255.0. */
const SLOTS = 512;

export interface PodResponse {
  status: number;
  body?: string;
  /** Delay before answering, to exercise client timeouts. */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as the pod saw them (the part after `/proxy` in the API server URL). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The pod address the request reached: tells which fake pod was pinged. */
  localAddress: string;
  remoteAddress: string;
  at: number;
}

export interface PodServer {
  readonly port: number;
  /** Every request so far, in arrival order (a live array). */
  readonly requests: RecordedRequest[];
  /** Resolves once at least `count` requests have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Answers the next requests with these, in order; then the default again. */
  queueResponses(...responses: PodResponse[]): Promise<void>;
  /** The answer once the queue is empty (initially 200 "ok"). */
  setDefaultResponse(response: PodResponse): Promise<void>;
  close(): Promise<void>;
}

export interface PodNetwork {
  /** The network namespace's name (`ip netns exec NAME ...`). */
  readonly name: string;
  /** The host side of the veth: what the pod sees as its gateway and the API server's source address. */
  readonly hostIp: string;
  /** The first pod address, added at creation. */
  readonly podIp: string;
  readonly cidr: string;
  /** Adds one more address inside the namespace (one per extra fake pod) and returns it. */
  addPodIp(): Promise<string>;
  /** Starts a recording HTTP server in the namespace on 0.0.0.0:port (every pod address). */
  startServer(options?: { port?: number; defaultResponse?: PodResponse }): Promise<PodServer>;
  close(): Promise<void>;
}

/** Why pod networks cannot be created here, or undefined when they can. */
export function podNetworkUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (spawnSync('ip', ['-V']).status !== 0) return 'the `ip` command (iproute2) is missing';
  const status = readFileSync('/proc/self/status', 'utf8');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const CAP_NET_ADMIN = 12n;
  if (!capEff || ((BigInt(`0x${capEff}`) >> CAP_NET_ADMIN) & 1n) === 0n) {
    return 'CAP_NET_ADMIN is needed (run as root, or under `unshare -rnm`)';
  }
  return undefined;
}

/**
 * What a test that needs a pod network passes as its `skip` option: why it cannot run here, or
 * undefined when it can. Always undefined when the CI environment variable is set: CI runs as root
 * and can create network namespaces, so there a missing capability must fail the test (through
 * `podNetworkRequiredError`, which `createPodNetwork` throws) instead of skipping it unnoticed.
 */
export function podNetworkSkipReason(): string | undefined {
  const reason = podNetworkUnsupportedReason();
  return reason && !process.env.CI ? `needs a pod network: ${reason}` : undefined;
}

/** The failure for a test that needs a pod network when it cannot have one. */
export function podNetworkRequiredError(reason: string): Error {
  if (!process.env.CI) return new Error(`cannot create a pod network: ${reason}`);
  return new Error(
    `cannot create a pod network: ${reason}. CI is set (CI=${process.env.CI}), so tests that need one fail instead of ` +
      'skipping: CI runs as root and must be able to create network namespaces (unset CI to skip them locally)',
  );
}

async function ip(...args: string[]): Promise<void> {
  try {
    await execFileP('ip', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`ip ${args.join(' ')}: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

function slotPrefix(slot: number): string {
  return `198.${18 + Math.floor(slot / 256)}.${slot % 256}`;
}

function ipToInt(a: string): number {
  return a.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** The IPv4 prefixes the host already uses (addresses and routes), as [first, last] ranges. */
function hostRanges(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const text = [
    spawnSync('ip', ['-4', '-o', 'addr', 'show']).stdout?.toString() ?? '',
    spawnSync('ip', ['-4', 'route', 'show', 'table', 'all']).stdout?.toString() ?? '',
  ].join('\n');
  for (const m of text.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)) {
    const bits = m[2] === undefined ? 32 : Number(m[2]);
    if (bits === 0) continue; // default route: overlaps everything, means nothing here
    const size = 2 ** (32 - bits);
    const first = Math.floor(ipToInt(m[1]) / size) * size;
    out.push([first, first + size - 1]);
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes a namespace left behind by a process that died (owner file names a dead pid). */
function reclaimIfStale(slot: number): void {
  const name = `rotor-pn-${slot}`;
  const ownerFile = `${OWNER_DIR}/${slot}`;
  let stale: boolean;
  if (existsSync(ownerFile)) {
    stale = !pidAlive(Number(readFileSync(ownerFile, 'utf8').trim()));
  } else {
    // Created but not yet claimed: another process may be between `netns add` and writing the
    // owner file. Only call it stale once it is clearly old.
    try {
      stale = Date.now() - statSync(`${NETNS_DIR}/${name}`).mtimeMs > 60_000;
    } catch {
      stale = false;
    }
  }
  if (!stale) return;
  destroySync(name, slot);
}

function destroySync(name: string, slot: number): void {
  // Processes left inside would keep the namespace (and the veth pair) alive.
  const pids = spawnSync('ip', ['netns', 'pids', name]).stdout?.toString().split(/\s+/).filter(Boolean) ?? [];
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['link', 'del', `rpn-${slot}`]);
  spawnSync('ip', ['netns', 'del', name]);
  rmSync(`${OWNER_DIR}/${slot}`, { force: true });
}

/** Removes every pod network whose owning process is gone (a test killed before its cleanup). */
function sweepStale(): void {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const slot = /^rotor-pn-(\d+)$/.exec(name)?.[1];
    if (slot !== undefined) reclaimIfStale(Number(slot));
  }
}

/** Reserves a free /24 by creating its namespace; the name is the lock. */
async function reserveSlot(): Promise<number> {
  sweepStale();
  const used = hostRanges();
  const start = Math.floor(Math.random() * SLOTS);
  for (let i = 0; i < SLOTS; i++) {
    const slot = (start + i) % SLOTS;
    const first = ipToInt(`${slotPrefix(slot)}.0`);
    if (used.some(([a, b]) => a <= first + 255 && first <= b)) {
      if (existsSync(`${NETNS_DIR}/rotor-pn-${slot}`)) reclaimIfStale(slot);
      continue;
    }
    try {
      await ip('netns', 'add', `rotor-pn-${slot}`);
    } catch {
      reclaimIfStale(slot);
      continue;
    }
    mkdirSync(OWNER_DIR, { recursive: true });
    writeFileSync(`${OWNER_DIR}/${slot}`, String(process.pid));
    return slot;
  }
  throw new Error('no free /24 in 198.18.0.0/15 for a pod network');
}

/**
 * Creates a network namespace with one pod address, joined to the host by a veth pair.
 * Call `close()` when done (it also runs at process exit).
 */
export async function createPodNetwork(): Promise<PodNetwork> {
  const reason = podNetworkUnsupportedReason();
  if (reason) throw podNetworkRequiredError(reason);
  const slot = await reserveSlot();
  const name = `rotor-pn-${slot}`;
  const prefix = slotPrefix(slot);
  const hostIf = `rpn-${slot}`;
  const hostIp = `${prefix}.1`;
  const podIp = `${prefix}.2`;
  const servers = new Set<PodServer>();
  let closed = false;
  const removeExitHook = onExit(() => destroySync(name, slot));
  try {
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
    await ip('addr', 'add', `${hostIp}/24`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    await ip('-n', name, 'addr', 'add', `${podIp}/24`, 'dev', 'eth0');
    await ip('-n', name, 'link', 'set', 'eth0', 'up');
    // Replies go back through the host end whatever the client's source address.
    await ip('-n', name, 'route', 'add', 'default', 'via', hostIp);
  } catch (err) {
    removeExitHook();
    destroySync(name, slot);
    throw err;
  }

  let nextHost = 3;
  return {
    name,
    hostIp,
    podIp,
    cidr: `${prefix}.0/24`,
    async addPodIp() {
      if (nextHost > 254) throw new Error(`pod network ${name} is full`);
      const address = `${prefix}.${nextHost++}`;
      await ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      return address;
    },
    async startServer(options = {}) {
      const server = await startPodServer(name, options.port ?? 8080, options.defaultResponse);
      servers.add(server);
      return server;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...servers].map((s) => s.close()));
      removeExitHook();
      destroySync(name, slot);
    },
  };
}

// The server inside the namespace. Plain CommonJS for `node -e`; it speaks JSON lines: requests and
// acknowledgements out on stdout, response settings in on stdin. It exits when stdin closes, so it
// cannot outlive the test process.
const SERVER_SOURCE = String.raw`
const http = require('node:http');
const readline = require('node:readline');
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const queue = [];
let fallback = JSON.parse(process.argv[2]);
readline.createInterface({ input: process.stdin })
  .on('line', (line) => {
    const m = JSON.parse(line);
    if (m.type === 'queue') queue.push(...m.responses);
    if (m.type === 'default') fallback = m.response;
    send({ type: 'ack', id: m.id });
  })
  .on('close', () => process.exit(0));
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const r = queue.length > 0 ? queue.shift() : fallback;
    send({ type: 'request', method: req.method, url: req.url, headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'), localAddress: req.socket.localAddress,
      remoteAddress: req.socket.remoteAddress, at: Date.now() });
    setTimeout(() => {
      res.writeHead(r.status, { 'content-type': 'text/plain' });
      res.end(r.body ?? '');
    }, r.delayMs ?? 0);
  });
});
server.on('error', (e) => { send({ type: 'error', message: e.message }); process.exit(1); });
server.listen(Number(process.argv[1]), '0.0.0.0', () => send({ type: 'listening', port: server.address().port }));
`;

type ServerMessage =
  | { type: 'listening'; port: number }
  | { type: 'ack'; id: number }
  | { type: 'error'; message: string }
  | ({ type: 'request' } & RecordedRequest);

async function startPodServer(
  netns: string,
  port: number,
  defaultResponse?: PodResponse,
): Promise<PodServer> {
  const command = [
    ...deathSignalPrefix(),
    'ip',
    'netns',
    'exec',
    netns,
    process.execPath,
    '-e',
    SERVER_SOURCE,
    String(port),
    JSON.stringify(defaultResponse ?? { status: 200, body: 'ok\n' }),
  ];
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(command[0], command.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const requests: RecordedRequest[] = [];
  const acks = new Map<number, () => void>();
  const arrivals = new Arrivals();
  let stderr = '';
  let nextId = 1;
  let exited = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exitPromise = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const listening = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as ServerMessage;
      if (m.type === 'listening') resolve(m.port);
      else if (m.type === 'error') reject(new Error(`pod server in ${netns}: ${m.message}`));
      else if (m.type === 'ack') acks.get(m.id)?.();
      else {
        const { type: _type, ...request } = m;
        requests.push(request);
        arrivals.notify();
      }
    });
    void exitPromise.then(() =>
      reject(new Error(`pod server in ${netns} exited before listening: ${stderr.trim()}`)),
    );
  });
  const actualPort = await listening;
  // From now on the server does not keep Node alive (a forgotten close() must not hang a test file;
  // the exit hook and PDEATHSIG end it). Before this point it must: nothing else would keep the
  // process running while it waits for `listening`.
  child.unref();
  for (const pipe of [child.stdin, child.stdout, child.stderr]) (pipe as Socket).unref();

  const control = (message: Record<string, unknown>): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (exited) return reject(new Error(`pod server in ${netns} is not running`));
      const id = nextId++;
      // Also what keeps Node alive while the (unref'd) server answers.
      const timer = setTimeout(() => {
        acks.delete(id);
        reject(new Error(`pod server in ${netns} did not acknowledge ${String(message.type)}`));
      }, 10_000);
      acks.set(id, () => {
        clearTimeout(timer);
        acks.delete(id);
        resolve();
      });
      child.stdin.write(JSON.stringify({ ...message, id }) + '\n');
    });

  return {
    port: actualPort,
    requests,
    waitForRequests(count, timeoutMs = 10_000) {
      return arrivals.until(
        () => (requests.length >= count ? requests.slice() : undefined),
        timeoutMs,
        () =>
          new Error(`pod server in ${netns}: ${requests.length} of ${count} requests after ${timeoutMs}ms`),
      );
    },
    queueResponses: (...responses) => control({ type: 'queue', responses }),
    setDefaultResponse: (response) => control({ type: 'default', response }),
    async close() {
      if (exited) return;
      // ref() again, or Node could finish before the exit event arrives.
      child.ref();
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
