// The real External Secrets Operator controller (github.com/external-secrets/external-secrets, built
// by infra/local/build-eso.sh), run against the local control plane, reading Rotor's Secret Manager
// stand-in (test/harness/secretManagerStandIn.ts) through its own, unmodified GCP provider.
//
// ESO's GCP provider has no endpoint setting: it dials secretmanager.googleapis.com:443 (or
// secretmanager.LOCATION.rep.googleapis.com with `location`), over TLS with the system roots, with
// an OAuth token from the store's credentials. So the controller runs with
//   HTTPS_PROXY   → a CONNECT proxy on loopback that accepts only secretmanager.googleapis.com:443
//                   and terminates TLS itself, then hands the HTTP/2 stream to the stand-in. gRPC
//                   sends the host name in the CONNECT request and does not resolve it (grpc-go's
//                   proxy resolver), so no name is ever looked up or dialled off this machine;
//   SSL_CERT_FILE → a throwaway CA that signed the proxy's certificate for that name;
// and the ClusterSecretStore's `auth.secretRef` names a service-account key whose `token_uri` is a
// token endpoint on loopback (Go's HTTP proxy rules never proxy loopback, nor the API server).
//
// Identity: the admin kubeconfig (ESO's own RBAC is not what these tests are about).
// Flags: only the controller (the binary's root command; webhook and cert-controller are separate
// subcommands that are not run), leader election off, metrics on a free loopback port.
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { deathSignalPrefix, onExit } from './cleanup';
import { REPO_ROOT } from './controlPlane';
import type { ControlPlane } from './controlPlane';
import { freePort } from './freePort';

const execFileP = promisify(execFile);
const BUILD_SCRIPT = join(REPO_ROOT, 'infra', 'local', 'build-eso.sh');
/** The only host the proxy tunnels to (the stand-in): ESO's global Secret Manager endpoint. */
const SECRET_MANAGER_HOST = 'secretmanager.googleapis.com:443';
/** Where the store's credentials live (ESO reads the key from this Secret). */
export const ESO_CREDENTIALS = { namespace: 'external-secrets', name: 'gcpsm-credentials', key: 'key.json' };

/**
 * The directory holding `external-secrets` and `crds/`: $ROTOR_ESO_DIR (what scripts/test.mjs
 * passes after building), else the build script's output (it reuses its cache; it honours
 * ROTOR_ESO_BIN and ROTOR_ESO_VERSION).
 */
export async function locateEso(): Promise<string> {
  if (process.env.ROTOR_ESO_DIR) return process.env.ROTOR_ESO_DIR;
  const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const dir = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !dir) throw new Error(`${BUILD_SCRIPT} failed (exit ${code})`);
  return dir;
}

export interface RealEso {
  /** A ClusterSecretStore using ESO's GCP Secret Manager provider with the credentials Secret. */
  clusterSecretStore(name: string, projectId: string): string;
  /** The credentials Secret the store names (apply it before the store). */
  credentialsSecret(): string;
  /** CONNECT tunnels the proxy opened to the stand-in, and OAuth tokens the token endpoint issued. */
  readonly stats: { tunnels: number; tokens: number; refused: string[] };
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
  const m = /^(.*):(\d+)$/.exec(options.secretManagerEndpoint);
  if (!m) throw new Error(`secretManagerEndpoint "${options.secretManagerEndpoint}" is not host:port`);
  const [standInHost, standInPort] = [m[1], Number(m[2])];

  const dir = mkdtempSync(join(tmpdir(), 'rotor-eso-'));
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
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
  const stats = { tunnels: 0, tokens: 0, refused: [] as string[] };

  const stop = async (): Promise<void> => {
    killSync();
    if (child && child.exitCode === null && child.signalCode === null)
      await new Promise((r) => child?.once('exit', r));
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
    removeExitHook();
  };

  try {
    await makeCertificates(dir);
    const key = readFileSync(join(dir, 'sm.key'));
    const cert = readFileSync(join(dir, 'sm.crt'));

    // The OAuth token endpoint the service-account key names: any signed JWT gets a token (the
    // stand-in checks no IAM).
    const tokenServer = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        stats.tokens++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            access_token: randomBytes(16).toString('hex'),
            token_type: 'Bearer',
            expires_in: 3600,
          }),
        );
      });
    });
    servers.push(tokenServer);
    const tokenPort = await listen(tokenServer);

    const proxy = createServer((_req, res) => {
      res.writeHead(405);
      res.end('CONNECT only\n');
    });
    proxy.on('connect', (req, socket: Socket, head: Buffer) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      if (req.url !== SECRET_MANAGER_HOST) {
        // Nothing but Secret Manager is tunnelled, and only to the stand-in.
        stats.refused.push(req.url ?? '');
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      stats.tunnels++;
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) socket.unshift(head);
      const tls = new TLSSocket(socket, { isServer: true, key, cert, ALPNProtocols: ['h2'] });
      const upstream = connect(standInPort, standInHost);
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        tls.destroy();
      });
      tls.on('close', () => upstream.destroy());
      tls.on('error', () => upstream.destroy());
      upstream.on('error', () => tls.destroy());
      tls.pipe(upstream).pipe(tls);
    });
    servers.push(proxy);
    const proxyPort = await listen(proxy);

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const credentials = JSON.stringify({
      type: 'service_account',
      project_id: 'rotor-demo',
      private_key_id: randomBytes(8).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: 'external-secrets@rotor-demo.iam.gserviceaccount.com',
      client_id: '1',
      token_uri: `http://127.0.0.1:${tokenPort}/token`,
    });

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
          HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
          NO_PROXY: '127.0.0.1,localhost',
          SSL_CERT_FILE: join(dir, 'ca.crt'),
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
      stats,
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

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** A throwaway CA and a certificate for secretmanager.googleapis.com it signed (EC: fast to make). */
async function makeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
  await execFileP('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.crt'),
    '-subj',
    '/CN=rotor-eso-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await execFileP('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    join(dir, 'sm.key'),
    '-out',
    join(dir, 'sm.crt'),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-subj',
    '/CN=secretmanager.googleapis.com',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'extendedKeyUsage=serverAuth',
    '-addext',
    'subjectAltName=DNS:secretmanager.googleapis.com',
  ]);
}
