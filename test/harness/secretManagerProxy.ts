// How a real Google client (the External Secrets Operator's GCP provider, the Secrets Store CSI
// driver's GCP provider) reaches the Secret Manager stand-in (test/harness/secretManagerStandIn.ts)
// without any change to it.
//
// Those clients have no endpoint setting: they dial secretmanager.googleapis.com:443 over TLS with
// the system roots, with an OAuth token from a service-account key. So they run with
//   HTTPS_PROXY   → a CONNECT proxy on loopback that accepts only secretmanager.googleapis.com:443
//                   and terminates TLS itself, then hands the HTTP/2 stream to the stand-in. gRPC
//                   sends the host name in the CONNECT request and does not resolve it (grpc-go's
//                   proxy resolver), so no name is ever looked up or dialled off this machine.
//                   Every other host (the CSI provider also dials iamcredentials.googleapis.com,
//                   every ~2 s) is refused and recorded;
//   SSL_CERT_FILE → a throwaway CA that signed the proxy's certificate for that name;
// and a service-account key whose `token_uri` is a token endpoint on loopback (Go's HTTP proxy
// rules never proxy loopback, nor the API server).
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
/** The only host the proxy tunnels to (the stand-in): Secret Manager's global endpoint. */
const SECRET_MANAGER_HOST = 'secretmanager.googleapis.com:443';

export interface SecretManagerProxyStats {
  /** CONNECT tunnels opened to the stand-in. */
  tunnels: number;
  /** OAuth tokens the token endpoint issued. */
  tokens: number;
  /** Every CONNECT target refused (anything but Secret Manager), in order. */
  refused: string[];
}

export interface SecretManagerProxy {
  /** HTTPS_PROXY, NO_PROXY and SSL_CERT_FILE for the client's process. */
  readonly env: Readonly<Record<string, string>>;
  readonly stats: SecretManagerProxyStats;
  /** A service-account key (JSON text) for `clientEmail` whose token_uri is the loopback token endpoint. */
  serviceAccountKey(clientEmail: string): string;
  close(): Promise<void>;
}

/**
 * Starts the token endpoint and the CONNECT proxy in front of the stand-in at `standInEndpoint`
 * (`127.0.0.1:PORT`); the CA and certificate files go to `dir` (the caller's, removed by it).
 */
export async function startSecretManagerProxy(
  standInEndpoint: string,
  dir: string,
): Promise<SecretManagerProxy> {
  const m = /^(.*):(\d+)$/.exec(standInEndpoint);
  if (!m) throw new Error(`secretManagerEndpoint "${standInEndpoint}" is not host:port`);
  const [standInHost, standInPort] = [m[1], Number(m[2])];
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const stats: SecretManagerProxyStats = { tunnels: 0, tokens: 0, refused: [] };
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  };

  try {
    await makeCertificates(dir);
    const key = readFileSync(join(dir, 'sm.key'));
    const cert = readFileSync(join(dir, 'sm.crt'));

    // Any signed JWT gets a token (the stand-in checks no IAM).
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

    return {
      env: {
        HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
        NO_PROXY: '127.0.0.1,localhost',
        SSL_CERT_FILE: join(dir, 'ca.crt'),
      },
      stats,
      serviceAccountKey(clientEmail) {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return JSON.stringify({
          type: 'service_account',
          project_id: 'rotor-demo',
          private_key_id: randomBytes(8).toString('hex'),
          private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          client_email: clientEmail,
          client_id: '1',
          token_uri: `http://127.0.0.1:${tokenPort}/token`,
        });
      },
      close,
    };
  } catch (err) {
    await close();
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
    '/CN=rotor-secret-manager-test-ca',
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
