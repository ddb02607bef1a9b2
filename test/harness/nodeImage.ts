// The container images the real node (test/harness/realNode.ts) runs, built from Debian packages on
// this machine: no registry is reachable, so a docker-archive tarball (one layer) is written here
// and imported with `ctr -n k8s.io images import`; pods use `imagePullPolicy: Never`.
//
// One layer, two images:
//   APP   busybox (Debian's busybox-static, every applet linked in /bin) and, when the machine has
//         it, psql (Debian's postgresql-client) with the shared libraries `ldd` names, so an app can
//         log in to the test's PostgreSQL. No entrypoint: pods give their command.
//   PAUSE the same layer with entrypoint `busybox sleep 2147483647`: containerd's sandbox_image.
//
// The archive is cached outside the repository, keyed by the package versions it holds
// (~/.cache/rotor/node-images/<tag>.tar), and rebuilt only when one changes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const BUSYBOX = '/bin/busybox';
const PSQL_GLOB_DIR = '/usr/lib/postgresql';

export interface NodeImages {
  /** The app image reference (busybox + psql when available). */
  readonly app: string;
  /** The sandbox (pause) image reference. */
  readonly pause: string;
  /** Whether the app image has `psql`. */
  readonly hasPsql: boolean;
  /** The docker-archive holding both. */
  readonly archive: string;
}

function cacheRoot(): string {
  return process.env.ROTOR_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rotor');
}

function packageVersion(pkg: string): string | undefined {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The real psql binary (Debian's /usr/bin/psql is a Perl wrapper around it). */
function findPsql(): string | undefined {
  if (!existsSync(PSQL_GLOB_DIR)) return undefined;
  const majors = execFileSync('ls', [PSQL_GLOB_DIR], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  for (const major of majors.reverse()) {
    const path = join(PSQL_GLOB_DIR, major, 'bin', 'psql');
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** The shared objects `ldd` resolves for `binary`, and its interpreter. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

function sanitizeTag(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120);
}

/** Builds (or reuses) the archive; throws when busybox-static is missing. */
export function buildNodeImages(options: { quiet?: boolean } = {}): NodeImages {
  const busyboxVersion = packageVersion('busybox-static');
  if (!busyboxVersion || !existsSync(BUSYBOX))
    throw new Error("Debian's busybox-static is not installed (scripts/ensure-prereqs.sh e2e installs it)");
  const psql = findPsql();
  const psqlVersion = psql
    ? (packageVersion(`postgresql-client-${psql.split('/')[4]}`) ?? 'unknown')
    : 'none';
  const tag = sanitizeTag(`bb${busyboxVersion}-pg${psqlVersion}-v2`);
  const images = {
    app: `rotor.local/node-app:${tag}`,
    pause: `rotor.local/node-pause:${tag}`,
    hasPsql: psql !== undefined,
  };
  const dir = join(cacheRoot(), 'node-images');
  const archive = join(dir, `${tag}.tar`);
  if (existsSync(archive)) return { ...images, archive };

  const started = Date.now();
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'rotor-image-'));
  try {
    const root = join(work, 'rootfs');
    for (const d of ['bin', 'usr/bin', 'etc', 'tmp', 'www/cgi-bin', 'lib64', 'lib/x86_64-linux-gnu'])
      mkdirSync(join(root, d), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
    );
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    if (psql) {
      copyFileSync(psql, join(root, 'usr/bin/psql'));
      for (const lib of sharedLibraries(psql)) {
        const target = join(root, lib);
        mkdirSync(dirname(target), { recursive: true });
        if (!existsSync(target)) copyFileSync(lib, target);
      }
    }
    const image = join(work, 'image');
    mkdirSync(image);
    execFileSync('tar', [
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-C',
      root,
      '-cf',
      join(image, 'layer.tar'),
      '.',
    ]);
    const diffId = `sha256:${createHash('sha256')
      .update(readFileSync(join(image, 'layer.tar')))
      .digest('hex')}`;
    const manifest = [
      imageConfig(image, diffId, images.app, { Cmd: ['sh'] }),
      imageConfig(image, diffId, images.pause, { Entrypoint: ['/bin/busybox', 'sleep', '2147483647'] }),
    ];
    writeFileSync(join(image, 'manifest.json'), JSON.stringify(manifest));
    const partial = `${archive}.${process.pid}.partial`;
    // Entries named without a leading ./ (manifest.json, layer.tar, the configs), as docker save writes them.
    execFileSync('tar', [
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-C',
      image,
      '-cf',
      partial,
      ...readdirSync(image),
    ]);
    renameSync(partial, archive);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!options.quiet)
    process.stderr.write(
      `[real-node] images built in ${((Date.now() - started) / 1000).toFixed(1)}s: ${archive}\n`,
    );
  return { ...images, archive };
}

/** Writes one image's config (named by its digest, as docker-archive expects); returns its manifest entry. */
function imageConfig(
  image: string,
  diffId: string,
  reference: string,
  entry: { Cmd?: string[]; Entrypoint?: string[] },
): { Config: string; RepoTags: string[]; Layers: string[] } {
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin:/usr/bin'], WorkingDir: '/', ...entry },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created_by: 'rotor test/harness/nodeImage.ts' }],
  });
  const name = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(join(image, name), config);
  return { Config: name, RepoTags: [reference], Layers: ['layer.tar'] };
}
