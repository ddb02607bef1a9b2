// A private PostgreSQL for tests: initdb into a temp dir, pg_ctl start on a free loopback port,
// password (SCRAM) authentication so a wrong password really fails, torn down with stop().
// Uses the PostgreSQL installed on the machine (initdb/pg_ctl on PATH or in
// /usr/lib/postgresql/<major>/bin). initdb and postgres refuse to run as root, and CI runs as
// root: then every server process runs as the `postgres` OS user (or `nobody`) via spawn's uid/gid.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { freePort } from './freePort';

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  /** The superuser's password: test-only, generated per server. */
  readonly superPassword: string;
  readonly dataDir: string;
  /** Stops the server, keeping its data (for "backend down" tests). */
  stop(): Promise<void>;
  /** Starts it again after stop(), on the same port. */
  start(): Promise<void>;
  /** Runs SQL as the superuser. */
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Whether `user`/`password` can log in (a real connection + SELECT 1). */
  canLogin(user: string, password: string, database?: string): Promise<boolean>;
  /**
   * Puts these pg_hba.conf lines first (the first matching line decides) and reloads the server;
   * the returned function removes them and reloads again.
   */
  prependHbaRules(rules: string[]): Promise<() => Promise<void>>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

export interface PostgresOptions {
  /** Serve TLS (ssl=on) with this certificate chain and key (PEM). Plain connections still work. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** Loopback addresses to listen on besides 127.0.0.1 (e.g. 127.0.0.2, a name a certificate lacks). */
  readonly extraListenAddresses?: readonly string[];
}

/** Where initdb and pg_ctl live: PATH first, then the newest /usr/lib/postgresql/N/bin. */
export function findPostgresBin(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const majors = readdirSync(base)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) {
      const dir = join(base, m, 'bin');
      if (existsSync(join(dir, 'initdb'))) return dir;
    }
  }
  throw new Error(
    'PostgreSQL not found: need initdb and pg_ctl on PATH or in /usr/lib/postgresql/<major>/bin (apt-get install postgresql)',
  );
}

/** uid/gid to run the server as: ourselves unless root, then `postgres` or `nobody`. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'));
  for (const name of ['postgres', 'nobody']) {
    const entry = passwd.find((f) => f[0] === name);
    if (entry) return { uid: Number(entry[2]), gid: Number(entry[3]) };
  }
  throw new Error(
    'running as root and neither a "postgres" nor a "nobody" user exists: initdb refuses to run as root',
  );
}

function run(
  cmd: string,
  args: string[],
  ident: { uid: number; gid: number } | undefined,
  cwd: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      ...(ident ? { uid: ident.uid, gid: ident.gid } : {}),
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`)),
    );
  });
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const ident = serverIdentity();
  const dir = mkdtempSync(join(tmpdir(), 'rotor-pg-'));
  const dataDir = join(dir, 'data');
  const superPassword = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, superPassword + '\n', { mode: 0o600 });
  if (ident) {
    chownSync(dir, ident.uid, ident.gid);
    chownSync(pwfile, ident.uid, ident.gid);
  }
  chmodSync(dir, 0o700);
  await run(
    join(bin, 'initdb'),
    [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '-A',
      'scram-sha-256',
      '--no-sync',
      '-E',
      'UTF8',
      '--no-instructions',
    ],
    ident,
    dir,
  );
  rmSync(pwfile);
  // The server refuses a key file others can read, and must own it.
  let tlsOpts = '';
  if (options.tls) {
    const certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    writeFileSync(certFile, options.tls.certPem, { mode: 0o600 });
    writeFileSync(keyFile, options.tls.keyPem, { mode: 0o600 });
    if (ident) {
      chownSync(certFile, ident.uid, ident.gid);
      chownSync(keyFile, ident.uid, ident.gid);
    }
    tlsOpts = ` -c ssl=on -c ssl_cert_file=${certFile} -c ssl_key_file=${keyFile}`;
  }
  const listen = ['127.0.0.1', ...(options.extraListenAddresses ?? [])].join(',');

  let port = 0;
  const pgctl = join(bin, 'pg_ctl');
  const start = async (): Promise<void> => {
    // A port is taken fresh only the first time: restarts keep it so clients reconnect.
    for (let attempt = 0; ; attempt++) {
      if (port === 0 || attempt > 0) port = await freePort();
      const opts = `-p ${port} -h ${listen} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200${tlsOpts}`;
      try {
        await run(
          pgctl,
          ['start', '-D', dataDir, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', opts],
          ident,
          dir,
        );
        return;
      } catch (err) {
        if (attempt >= 2) throw err;
      }
    }
  };
  const stop = async (): Promise<void> => {
    if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
    await run(pgctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], ident, dir);
  };
  await start();

  const connect = async (user: string, password: string, database = 'postgres'): Promise<Client> => {
    const client = new Client({
      host: '127.0.0.1',
      port,
      user,
      password,
      database,
      connectionTimeoutMillis: 5000,
    });
    // A refused login must surface as a rejected promise, not as an unhandled 'error' event.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  const superQuery = async (sql: string): Promise<Array<Record<string, unknown>>> => {
    const client = await connect('postgres', superPassword);
    try {
      return (await client.query(sql)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };
  // pg_reload_conf() only signals the postmaster; a new session reports the postmaster's load
  // time, so wait until one reports a newer time than before the signal.
  const reload = async (): Promise<void> => {
    const loaded = async (): Promise<number> =>
      Number((await superQuery('SELECT extract(epoch FROM pg_conf_load_time()) AS t'))[0]?.t);
    const before = await loaded();
    await superQuery('SELECT pg_reload_conf()');
    for (let i = 0; i < 100 && (await loaded()) <= before; i++) await new Promise((r) => setTimeout(r, 50));
  };

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    superuser: 'postgres',
    superPassword,
    dataDir,
    stop,
    start,
    async query(sql, params = []) {
      const client = await connect('postgres', superPassword);
      try {
        const res = await client.query(sql, params);
        return res.rows as Array<Record<string, unknown>>;
      } finally {
        await client.end();
      }
    },
    async canLogin(user, password, database = 'postgres') {
      let client: Client | undefined;
      try {
        client = await connect(user, password, database);
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client?.end().catch(() => undefined);
      }
    },
    async prependHbaRules(rules) {
      const hbaFile = join(dataDir, 'pg_hba.conf');
      const original = readFileSync(hbaFile, 'utf8');
      // Rewriting the existing file keeps its owner (the server's user when we run as root).
      writeFileSync(hbaFile, rules.join('\n') + '\n' + original);
      await reload();
      return async () => {
        writeFileSync(hbaFile, original);
        await reload();
      };
    },
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
