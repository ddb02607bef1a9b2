// bench:plan — `rotor plan` end to end over generated manifests holding N workloads (default
// 10 000): a realistic mix of kinds, namespaces, SecretProviderClasses, ExternalSecrets and stores,
// Helm-style multi-document files, kubectl-style JSON Lists, with ~2% of the workloads depending on
// the rotated secret through every consumption mode. Checks the plan is the expected one, then
// prints the timings; the last stdout line is one JSON object.
//
//   npm run bench:plan [-- --workloads N] [--namespaces M] [--runs K] [--keep]
//
// Phases are timed in-process (load = read + parse the files, on worker threads as the CLI does; index = inventory + DependencyIndex,
// decide = decisions + plan, render = table + JSON), then the whole command through main() K times,
// then K times as a fresh `rotor plan` process (node startup and TypeScript loading included), and
// K times as the built CLI (dist/functions/cli/main.js, built first), each with its CPU time: on a
// busy machine, wall time mostly measures the neighbours.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../functions/cli/io';
import { main } from '../functions/cli/main';
import { DependencyIndex } from '../functions/core/discovery';
import { inventoryFrom } from '../functions/core/inventory';
import type { Plan } from '../functions/core/plan';
import { buildPlan, decideAll } from '../functions/core/plan';
import { ProjectMap, parseSecretName } from '../functions/core/secretName';
import { loadManifests } from '../functions/manifests/load';
import { loadManifestsParallel } from '../functions/manifests/parallel';
import { renderTable } from '../functions/render/table';

export const BENCH_PROJECT = 'bench-proj';
export const BENCH_PROJECT_NUMBER = '314159265358';
export const BENCH_SECRET = `projects/${BENCH_PROJECT}/secrets/db-password`;

export interface BenchManifests {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
  readonly workloads: number;
  /** `Kind/namespace/name` → the action the plan must give, for every workload that depends on BENCH_SECRET. */
  readonly expected: ReadonlyMap<string, string>;
}

type Obj = Record<string, unknown>;

/** A deterministic pseudo-random sequence (mulberry32), so every run benchmarks the same input. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS: Array<[string, string, number]> = [
  ['Deployment', 'apps/v1', 0.7],
  ['StatefulSet', 'apps/v1', 0.1],
  ['DaemonSet', 'apps/v1', 0.08],
  ['CronJob', 'batch/v1', 0.07],
  ['Rollout', 'argoproj.io/v1alpha1', 0.05],
];

/** How a dependent workload reads BENCH_SECRET, and what the plan must decide. */
const MODES: Array<{ mode: string; action: string }> = [
  { mode: 'env', action: 'restart' },
  { mode: 'envFrom', action: 'restart' },
  { mode: 'csi-reload', action: 'reload' },
  { mode: 'csi', action: 'restart' },
  { mode: 'subPath', action: 'restart' },
  { mode: 'init', action: 'restart' },
  { mode: 'volume-reload', action: 'reload' },
  { mode: 'pinned', action: 'none' },
  { mode: 'alias', action: 'none' },
  { mode: 'api', action: 'none' },
  { mode: 'api-reload', action: 'reload' },
  { mode: 'on-rotate-none', action: 'none' },
  { mode: 'ignore', action: 'none' },
];

function container(name: string, image: string, extra: Obj = {}): Obj {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'http' },
      initialDelaySeconds: 10,
      periodSeconds: 10,
    },
    readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    ...extra,
  };
}

function csiVolume(name: string, spc: string): Obj {
  return {
    name,
    csi: {
      driver: 'secrets-store-gke.csi.k8s.io',
      readOnly: true,
      volumeAttributes: { secretProviderClass: spc },
    },
  };
}

/** Generates the manifests into `dir` (created); returns what the plan of BENCH_SECRET must be. */
export function generateBenchManifests(
  dir: string,
  opts: { workloads?: number; namespaces?: number; seed?: number } = {},
): BenchManifests {
  const total = opts.workloads ?? 10_000;
  const nsCount = Math.max(1, Math.min(opts.namespaces ?? 100, total));
  const random = rng(opts.seed ?? 42);
  mkdirSync(dir, { recursive: true });
  const expected = new Map<string, string>();
  let files = 0;
  let bytes = 0;
  const out = (rel: string, text: string): void => {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    files++;
    bytes += Buffer.byteLength(text);
  };
  const yamlDocs = (docs: Obj[], source?: (o: Obj) => string): string =>
    docs.map((d) => `---\n${source ? `# Source: ${source(d)}\n` : ''}${toYaml(d)}`).join('');

  out(
    'platform/stores.yaml',
    yamlDocs([
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterSecretStore',
        metadata: { name: 'gcp' },
        spec: {
          provider: {
            gcpsm: {
              projectID: BENCH_PROJECT,
              auth: {
                workloadIdentity: {
                  clusterLocation: 'europe-west1',
                  clusterName: 'bench',
                  serviceAccountRef: { name: 'external-secrets', namespace: 'external-secrets' },
                },
              },
            },
          },
        },
      },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterSecretStore',
        metadata: { name: 'gcp-eu' },
        spec: { provider: { gcpsm: { projectID: BENCH_PROJECT, location: 'europe-west1' } } },
      },
    ]),
  );

  // Dependents: every 50th workload (2%), cycling through the modes.
  let dependentIndex = 0;
  let w = 0;
  for (let n = 0; n < nsCount; n++) {
    const ns = `team-${String(n).padStart(3, '0')}`;
    const inNs = Math.floor(total / nsCount) + (n < total % nsCount ? 1 : 0);
    const classes: Obj[] = [];
    const externalSecrets: Obj[] = [];
    const workloads: Obj[] = [];
    // Per namespace: the team's own secrets, a class for them, and a class / ExternalSecret for the shared DB password.
    classes.push({
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'team-secrets', namespace: ns },
      spec: {
        provider: 'gke',
        parameters: {
          secrets: [0, 1, 2]
            .map(
              (i) =>
                `- resourceName: "projects/${BENCH_PROJECT_NUMBER}/secrets/${ns}-key-${i}/versions/latest"\n  path: "key-${i}"\n`,
            )
            .join(''),
        },
      },
    });
    classes.push({
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'db', namespace: ns },
      spec: {
        provider: 'gke',
        parameters: {
          secrets: `- resourceName: "projects/${BENCH_PROJECT_NUMBER}/secrets/db-password/versions/latest"\n  path: "db-password"\n- resourceName: "projects/${BENCH_PROJECT}/secrets/${ns}-db-user/versions/latest"\n  path: "db-user"\n`,
        },
      },
    });
    classes.push({
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'db-pinned', namespace: ns },
      spec: {
        provider: 'gke',
        parameters: {
          secrets: `- resourceName: "projects/${BENCH_PROJECT}/secrets/db-password/versions/3"\n  path: "db-password"\n`,
        },
      },
    });
    classes.push({
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'db-current', namespace: ns },
      spec: {
        provider: 'gke',
        parameters: {
          secrets: `- resourceName: "projects/${BENCH_PROJECT}/secrets/db-password/versions/current"\n  path: "db-password"\n`,
        },
      },
    });
    externalSecrets.push({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db', namespace: ns },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
        target: { name: 'db', creationPolicy: 'Owner' },
        data: [
          { secretKey: 'password', remoteRef: { key: 'db-password' } },
          { secretKey: 'user', remoteRef: { key: `${ns}-db-user` } },
        ],
      },
    });
    for (let i = 0; i < 5; i++) {
      externalSecrets.push({
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: `svc-${i}`, namespace: ns },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { kind: 'ClusterSecretStore', name: i === 4 ? 'gcp-eu' : 'gcp' },
          data: [
            { secretKey: 'token', remoteRef: { key: `${ns}-svc-${i}-token` } },
            { secretKey: 'db-password', remoteRef: { key: 'db-password' } },
          ],
        },
      });
    }

    for (let k = 0; k < inNs; k++, w++) {
      const r = random();
      let acc = 0;
      const [kind, apiVersion] = KINDS.find(([, , p]) => (acc += p) >= r) ?? KINDS[0];
      const name = `${kind.toLowerCase()}-${String(w).padStart(5, '0')}`;
      const annotations: Record<string, string> = {};
      const templateAnnotations: Record<string, string> = {};
      const main: Obj = container('app', `ghcr.io/bench/${name}:1.${w % 17}.${w % 5}`);
      const spec: Obj = { serviceAccountName: 'default', containers: [main], volumes: [] as Obj[] };
      const volumes = spec.volumes as Obj[];
      const env = main.env as Obj[];
      const mounts: Obj[] = [];
      const dependent = w % 50 === 25;
      if (dependent) {
        const { mode, action } = MODES[dependentIndex++ % MODES.length];
        expected.set(`${kind}/${ns}/${name}`, action);
        switch (mode) {
          case 'env':
            env.push({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } });
            break;
          case 'envFrom':
            main.envFrom = [{ secretRef: { name: 'db' } }];
            break;
          case 'csi-reload':
          case 'csi':
            if (mode === 'csi-reload') annotations['rotor.dev/reload-endpoint'] = '8080/-/reload';
            mounts.push({ name: 'db', mountPath: '/var/secrets/db', readOnly: true });
            volumes.push(csiVolume('db', 'db'));
            break;
          case 'subPath':
            mounts.push({
              name: 'db',
              mountPath: '/etc/app/db-password',
              subPath: 'db-password',
              readOnly: true,
            });
            volumes.push(csiVolume('db', 'db'));
            break;
          case 'init':
            spec.initContainers = [
              {
                name: 'migrate',
                image: 'ghcr.io/bench/migrate:1',
                env: [{ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
              },
            ];
            break;
          case 'volume-reload':
            annotations['rotor.dev/reload-endpoint'] = '8080/reload';
            mounts.push({ name: 'db-secret', mountPath: '/etc/db', readOnly: true });
            volumes.push({
              name: 'db-secret',
              secret: { secretName: 'db', items: [{ key: 'password', path: 'password' }] },
            });
            break;
          case 'pinned':
            mounts.push({ name: 'db', mountPath: '/var/secrets/db', readOnly: true });
            volumes.push(csiVolume('db', 'db-pinned'));
            break;
          case 'alias':
            mounts.push({ name: 'db', mountPath: '/var/secrets/db', readOnly: true });
            volumes.push(csiVolume('db', 'db-current'));
            break;
          case 'api':
            templateAnnotations['rotor.dev/secrets'] = BENCH_SECRET;
            break;
          case 'api-reload':
            annotations['rotor.dev/secrets'] = `projects/${BENCH_PROJECT_NUMBER}/secrets/db-password`;
            annotations['rotor.dev/reload-endpoint'] = 'http/admin/reload';
            break;
          case 'on-rotate-none':
            annotations['rotor.dev/on-rotate'] = 'none';
            env.push({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } });
            break;
          case 'ignore':
            annotations['rotor.dev/ignore'] = 'true';
            main.envFrom = [{ secretRef: { name: 'db' } }];
            break;
        }
      } else {
        // Everyone else: their own secrets, or only the DB user, or nothing from Secret Manager.
        const m = Math.floor(random() * 8);
        if (m === 0)
          env.push({ name: 'TOKEN', valueFrom: { secretKeyRef: { name: `svc-${w % 5}`, key: 'token' } } });
        else if (m === 1) {
          mounts.push({ name: 'team', mountPath: '/var/secrets/team', readOnly: true });
          volumes.push(csiVolume('team', 'team-secrets'));
        } else if (m === 2)
          env.push({ name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } });
        else if (m === 3) {
          mounts.push({ name: 'db', mountPath: '/etc/db-user', subPath: 'db-user', readOnly: true });
          volumes.push(csiVolume('db', 'db'));
        } else if (m === 4)
          annotations['rotor.dev/secrets'] = `projects/${BENCH_PROJECT}/secrets/${ns}-api-key`;
        else if (m === 5) {
          mounts.push({ name: 'cfg', mountPath: '/etc/config' });
          volumes.push({ name: 'cfg', configMap: { name: `${name}-config` } });
        } else if (m === 6) {
          mounts.push({ name: 'tls', mountPath: '/etc/tls' });
          volumes.push({ name: 'tls', secret: { secretName: `${name}-tls` } });
        }
        // m === 7: nothing at all
      }
      if (mounts.length > 0) main.volumeMounts = mounts;
      if (volumes.length === 0) delete spec.volumes;
      const labels = {
        'app.kubernetes.io/name': name,
        'app.kubernetes.io/part-of': ns,
        'app.kubernetes.io/managed-by': 'Helm',
      };
      const template = {
        metadata: {
          labels,
          ...(Object.keys(templateAnnotations).length ? { annotations: templateAnnotations } : {}),
        },
        spec,
      };
      const metadata = {
        name,
        namespace: ns,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
      };
      const body: Obj =
        kind === 'CronJob'
          ? {
              schedule: `${w % 60} ${w % 24} * * *`,
              jobTemplate: {
                spec: { template: { ...template, spec: { ...spec, restartPolicy: 'OnFailure' } } },
              },
            }
          : {
              ...(kind === 'DaemonSet' ? {} : { replicas: 1 + (w % 3) }),
              ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
              ...(kind === 'Rollout'
                ? { strategy: { canary: { steps: [{ setWeight: 20 }, { pause: { duration: '5m' } }] } } }
                : {}),
              selector: { matchLabels: { 'app.kubernetes.io/name': name } },
              template,
            };
      workloads.push({ apiVersion, kind, metadata, spec: body });
      // Each workload comes with a Service, as charts render them.
      if (kind !== 'CronJob') {
        workloads.push({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: ns, labels },
          spec: {
            selector: { 'app.kubernetes.io/name': name },
            ports: [{ name: 'http', port: 80, targetPort: 'http' }],
          },
        });
      }
    }
    out(`${ns}/secrets.yaml`, yamlDocs([...classes, ...externalSecrets]));
    if (n % 10 === 9) {
      // A kubectl export: one JSON List.
      out(
        `${ns}/export.json`,
        JSON.stringify(
          { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: workloads },
          null,
          4,
        ),
      );
    } else {
      // Helm template output, a few files per namespace.
      for (let part = 0; part * 40 < workloads.length; part++) {
        const chunk = workloads.slice(part * 40, part * 40 + 40);
        out(
          `${ns}/rendered-${part}.yaml`,
          yamlDocs(chunk, (o) => `${ns}/templates/${String((o.kind as string).toLowerCase())}.yaml`),
        );
      }
    }
  }
  return { dir, files, bytes, workloads: w, expected };
}

/** A small YAML writer (block style, quoted strings where needed): enough for generated manifests. */
function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]\n';
    return value
      .map((v) => {
        const body = toYaml(v, `${indent}  `);
        return isPlainObject(v) || Array.isArray(v) ? `${indent}- ${body.trimStart()}` : `${indent}- ${body}`;
      })
      .join('');
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}\n';
    return entries
      .map(([k, v]) => {
        const key = /^[A-Za-z0-9_./-]+$/.test(k) ? k : JSON.stringify(k);
        if (isPlainObject(v) && Object.keys(v).length > 0)
          return `${indent}${key}:\n${toYaml(v, `${indent}  `)}`;
        if (Array.isArray(v) && v.length > 0) return `${indent}${key}:\n${toYaml(v, indent)}`;
        if (typeof v === 'string' && v.includes('\n'))
          return `${indent}${key}: |\n${v
            .replace(/\n$/, '')
            .split('\n')
            .map((l) => `${indent}  ${l}`)
            .join('\n')}\n`;
        return `${indent}${key}: ${toYaml(v, `${indent}  `)}`;
      })
      .join('');
  }
  if (typeof value === 'string')
    return /^[A-Za-z_][A-Za-z0-9_./:-]*$/.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value)
      ? `${value}\n`
      : `${JSON.stringify(value)}\n`;
  return `${JSON.stringify(value)}\n`;
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PLAN_ARGS = (dir: string): string[] => [
  'plan',
  '--secret',
  BENCH_SECRET,
  '--version',
  '8',
  '--manifests',
  dir,
  '--project-map',
  `${BENCH_PROJECT}=${BENCH_PROJECT_NUMBER}`,
];

/** Compares a plan with what the generator expects; returns the differences (empty when right). */
export function checkPlan(plan: Plan, expected: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const got = new Map(plan.workloads.map((w) => [`${w.kind}/${w.namespace}/${w.name}`, w.action]));
  for (const [k, a] of expected)
    if (got.get(k) !== a) problems.push(`${k}: expected ${a}, got ${got.get(k) ?? 'not listed'}`);
  for (const [k, a] of got)
    if (!expected.has(k)) problems.push(`${k}: listed (${a}) but does not depend on the secret`);
  if (plan.problems?.length) problems.push(...plan.problems.map((p) => `problem: ${p}`));
  return problems;
}

/** CPU time (user + system) of this process's finished children, from /proc (Linux); undefined elsewhere. */
function childCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of stat (cutime, cstime), counted from after the command name: 14 and 15.
    return (Number(fields[13]) + Number(fields[14])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return undefined;
  }
}

const ms = (from: number): number => Math.round((performance.now() - from) * 10) / 10;
const cpuMs = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return Math.round((d.user + d.system) / 100) / 10;
};

async function bench(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workloads: { type: 'string' },
      namespaces: { type: 'string' },
      runs: { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  const workloads = Number(values.workloads ?? 10_000);
  const namespaces = Number(values.namespaces ?? 100);
  const runs = Number(values.runs ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-plan-'));
  try {
    let t = performance.now();
    const gen = generateBenchManifests(dir, { workloads, namespaces });
    console.log(
      `generated ${gen.workloads} workloads (${gen.expected.size} depend on ${BENCH_SECRET}) in ${gen.files} files, ${(gen.bytes / 1e6).toFixed(1)} MB, ${ms(t)} ms: ${dir}`,
    );

    // Phases, in-process, first (cold) run.
    const projects = ProjectMap.parse(`${BENCH_PROJECT}=${BENCH_PROJECT_NUMBER}`);
    const cpu0 = process.cpuUsage();
    t = performance.now();
    const objects = await loadManifestsParallel([dir]);
    const load = ms(t);
    t = performance.now();
    const index = new DependencyIndex(inventoryFrom('bench', objects), { projects });
    const indexMs = ms(t);
    t = performance.now();
    const event = {
      type: 'SECRET_VERSION_ADD' as const,
      secret: parseSecretName(BENCH_SECRET).id,
      version: '8',
    };
    const decisions = decideAll(index, event);
    const plan = buildPlan(event, decisions, projects);
    const decide = ms(t);
    t = performance.now();
    const rendered = renderTable(plan).length + JSON.stringify(plan, null, 2).length;
    const render = ms(t);
    const phasesCpu = cpuMs(cpu0);
    // For reference: the same load on one thread.
    t = performance.now();
    loadManifests([dir]);
    const loadOneThread = ms(t);
    const wrong = checkPlan(plan, gen.expected);
    if (wrong.length > 0) throw new Error(`the plan is wrong:\n  ${wrong.slice(0, 20).join('\n  ')}`);
    console.log(
      `phases: load ${load} ms (${loadOneThread} ms on one thread), index ${indexMs} ms, decide ${decide} ms, render ${render} ms (${rendered} chars); plan correct: ${plan.workloads.length} dependents`,
    );

    // The whole command through main(), as `rotor plan --output json` runs it.
    const mainRuns: number[] = [];
    const mainCpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      let out = '';
      const io: CliIo = {
        stdout: (s) => {
          out += s;
        },
        stderr: (s) => {
          process.stderr.write(s);
        },
        env: {},
      };
      const c = process.cpuUsage();
      t = performance.now();
      const code = await main([...PLAN_ARGS(dir), '--output', 'json'], io);
      mainRuns.push(ms(t));
      mainCpu.push(cpuMs(c));
      if (code !== 0) throw new Error(`rotor plan exited ${code}`);
      const again = checkPlan(JSON.parse(out) as Plan, gen.expected);
      if (again.length > 0) throw new Error(`rotor plan --output json is wrong: ${again[0]}`);
    }
    console.log(`rotor plan in-process: ${mainRuns.join(', ')} ms`);

    // A fresh process, as `npm run rotor -- plan` starts it: what a user waits for (node startup
    // and TypeScript loading included). CPU time too: on a busy machine the wall time mostly
    // measures the neighbours.
    const root = resolve(__dirname, '..');
    const processRuns: number[] = [];
    const processCpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = childCpuMs();
      t = performance.now();
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(root, 'functions/cli/main.ts'), ...PLAN_ARGS(dir)],
        { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
      );
      processRuns.push(ms(t));
      const after = childCpuMs();
      if (before !== undefined && after !== undefined) processCpu.push(after - before);
      if (child.status !== 0) throw new Error(`rotor plan (process) exited ${child.status}: ${child.stderr}`);
    }
    console.log(`rotor plan as a process: ${processRuns.join(', ')} ms (CPU ${processCpu.join(', ')} ms)`);

    // The built CLI (`npm run build`: dist/functions/cli/main.js, what `npm install -g` runs), built
    // now from these sources: no TypeScript to compile at start.
    const build = spawnSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    if (build.status !== 0) throw new Error(`npm run build failed: ${build.stdout}${build.stderr}`);
    const builtRuns: number[] = [];
    const builtCpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = childCpuMs();
      t = performance.now();
      const child = spawnSync(
        process.execPath,
        [join(root, 'dist/functions/cli/main.js'), ...PLAN_ARGS(dir)],
        {
          cwd: root,
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        },
      );
      builtRuns.push(ms(t));
      const after = childCpuMs();
      if (before !== undefined && after !== undefined) builtCpu.push(after - before);
      if (child.status !== 0) throw new Error(`built rotor plan exited ${child.status}: ${child.stderr}`);
    }
    console.log(`built rotor plan as a process: ${builtRuns.join(', ')} ms (CPU ${builtCpu.join(', ')} ms)`);

    const sorted = [...mainRuns].sort((a, b) => a - b);
    const sortedProcess = [...processRuns].sort((a, b) => a - b);
    const sortedBuilt = [...builtRuns].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        workloads: gen.workloads,
        dependents: gen.expected.size,
        files: gen.files,
        megabytes: Math.round(gen.bytes / 1e5) / 10,
        phasesMs: {
          load,
          loadOneThread,
          index: indexMs,
          decide,
          render,
          total: Math.round((load + indexMs + decide + render) * 10) / 10,
        },
        phasesCpuMs: phasesCpu,
        planInProcessMs: {
          runs: mainRuns,
          min: sorted[0],
          median: sorted[Math.floor(sorted.length / 2)],
          cpu: mainCpu,
        },
        planProcessMs: {
          runs: processRuns,
          min: sortedProcess[0],
          median: sortedProcess[Math.floor(sortedProcess.length / 2)],
          cpu: processCpu,
        },
        builtProcessMs: {
          runs: builtRuns,
          min: sortedBuilt[0],
          median: sortedBuilt[Math.floor(sortedBuilt.length / 2)],
          cpu: builtCpu,
        },
        correct: true,
        loadAverage: (await import('node:os')).loadavg().map((l) => Math.round(l * 100) / 100),
      }),
    );
  } finally {
    if (values.keep) console.error(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  bench().catch((e: unknown) => {
    console.error(`bench:plan: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
