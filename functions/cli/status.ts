// `rotor status`: for every dependent of a secret, which version its pods serve, its rollout state
// and what is still pending. Thin: reads (list only) and hands plain objects to core/status.ts.
import { dump } from 'js-yaml';
import type { ClusterSpec } from '../cluster/access';
import { connectCluster, googleTokenSource, parseClusterSpec } from '../cluster/access';
import { liveInventory } from '../cluster/inventory';
import type { KubeApi } from '../cluster/kubeApi';
import { listAll } from '../cluster/listing';
import { podOwnerResource, RESOURCES } from '../cluster/resources';
import { actingSettings, envDefaultProject, windowPolicy } from '../config';
import { namespaceAnnotation } from '../cluster/actions';
import { RESTART_WINDOWS } from '../core/annotations';
import { DependencyIndex } from '../core/discovery';
import type { KubeObject } from '../core/kube';
import { ownedPods, selectorOf } from '../core/pods';
import type { ProjectMap, SecretId } from '../core/secretName';
import { ProjectMap as Projects, parseSecretArg } from '../core/secretName';
import type { DependentState, RotationStatus, StatusInputs, WorkloadStatus } from '../core/status';
import { describePending, rotationStatus, stageStatuses, statusVersion } from '../core/status';
import type { StagedCluster } from '../core/clusterStages';
import { parseClusterList, stageOf } from '../cluster/clusterSpec';
import { kindOf } from '../core/workloadKinds';
import { InputError } from '../errors';
import { STATUS_COMMAND } from './commands';
import { helpText, parseFlags } from './flags';
import type { CliIo } from './io';
import { requireKubeconfig } from './kubeconfig';
import { markdownText, terminalCell, terminalLines } from '../render/text';

export async function runStatus(args: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(STATUS_COMMAND, args);
  if (flags.boolean('help')) {
    io.stdout(helpText(STATUS_COMMAND));
    return 0;
  }
  if (flags.positionals.length > 0)
    throw new InputError(`unexpected argument "${flags.positionals[0] ?? ''}"`);
  const secretArg = flags.string('secret');
  if (secretArg === undefined) throw new InputError('--secret is required');
  const version = flags.string('version');
  if (version !== undefined && !/^[0-9]+$/.test(version))
    throw new InputError(`--version "${version}" is not a version number`);
  const projects = Projects.parse(
    [io.env.ROTOR_PROJECT_MAP, flags.string('project-map')].filter(Boolean).join(','),
  );
  const defaultProject = flags.string('project') ?? envDefaultProject(io.env);
  const ref = parseSecretArg(secretArg, defaultProject);
  if (ref.version !== undefined)
    throw new InputError(`--secret "${secretArg}" names a version: pass --version separately`);

  const specs: ClusterSpec[] = flags.strings('cluster').map(parseClusterSpec);
  const kubeconfig = flags.string('kubeconfig');
  const context = flags.string('context');
  if (kubeconfig || context || specs.length === 0) {
    const path = requireKubeconfig(kubeconfig, io.env, 'give --kubeconfig FILE or --cluster SPEC');
    specs.push(parseClusterSpec(`kubeconfig:${path}${context ? `#${context}` : ''}`));
  }
  const tokens = specs.some((s) => s.kind !== 'kubeconfig')
    ? googleTokenSource()
    : () => Promise.reject(new Error('no Google credentials needed'));
  const apis = await Promise.all(specs.map((s) => connectCluster(s, { tokens, projects })));
  let perCluster: Array<Omit<StatusInputs, 'version'>>;
  try {
    perCluster = await Promise.all(
      apis.map((api) => readCluster(api, ref.id, projects, defaultProject, io.env)),
    );
  } finally {
    for (const api of apis) api.close();
  }
  const key = perCluster[0]?.secretKey ?? '';
  const target = statusVersion(
    version,
    perCluster.flatMap((c) => c.dependents),
    key,
  );
  if (target === undefined)
    throw new InputError(`no dependent of ${key} records a version in rotor.dev/applied: give --version V`);
  const statuses = perCluster.map((c) => rotationStatus({ ...c, version: target }, target));
  const workloads = statuses.flatMap((s) => s.workloads);
  const fleet = stagedFleet(specs, io.env);
  const status: RotationStatus = {
    secret: key,
    version: target,
    done: statuses.every((s) => s.done),
    workloads,
    ...(fleet ? { stages: stageStatuses(workloads, fleet) } : {}),
  };
  const output = flags.string('output') ?? 'table';
  io.stdout(
    output === 'json'
      ? JSON.stringify(status, null, 2) + '\n'
      : output === 'yaml'
        ? dump(status, { noRefs: true, lineWidth: -1 })
        : output === 'markdown'
          ? renderStatusMarkdown(status)
          : renderStatusTable(status),
  );
  return status.done ? 0 : 1;
}

/**
 * The clusters asked about with their stages: a --cluster SPEC's own `;stage=N`, else the stage
 * ROTOR_CLUSTERS gives the same cluster. Undefined when every one is stage 0 (no stages shown).
 */
function stagedFleet(specs: readonly ClusterSpec[], env: NodeJS.ProcessEnv): StagedCluster[] | undefined {
  const configured = parseClusterList(env.ROTOR_CLUSTERS);
  const fleet = specs.map((s) => ({
    name: s.raw,
    stage: s.stage ?? stageOf(configured.find((c) => c.raw === s.raw) ?? {}),
  }));
  return fleet.some((c) => c.stage > 0) ? fleet : undefined;
}

async function readCluster(
  api: KubeApi,
  secret: SecretId,
  projects: ProjectMap,
  defaultProject: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Omit<StatusInputs, 'version'>> {
  const inventory = await liveInventory(
    api,
    {},
    {
      kind: 'secret',
      secret,
      projects,
      ...(defaultProject ? { defaultProject } : {}),
    },
  );
  const index = new DependencyIndex(inventory, {
    projects,
    ...(defaultProject ? { defaultProject } : {}),
  });
  const dependents = index.dependentsOf(secret);
  const namespaces = [...new Set(dependents.map((d) => d.ref.namespace))];
  const spcPodStatuses = (
    await Promise.all(
      namespaces.map(
        async (namespace) => (await listAll(api, RESOURCES.spcPodStatuses, { namespace }))?.items ?? [],
      ),
    )
  ).flat();
  const withPods = await Promise.all(
    dependents.map(async (dependent): Promise<DependentState> => {
      const { podOwner } = kindOf(dependent.ref.kind);
      const selector = selectorOf(dependent.object);
      const where = { namespace: dependent.ref.namespace, ...(selector ? { labelSelector: selector } : {}) };
      const [pods, owners] = await Promise.all([
        listAll(api, RESOURCES.pods, where),
        podOwner.via === 'intermediate' ? listAll(api, podOwnerResource(podOwner), where) : undefined,
      ]);
      return {
        dependent,
        pods: ownedPods(
          dependent.object,
          pods?.items ?? [],
          podOwner.via === 'intermediate' ? (owners?.items ?? []) : undefined,
        ),
      };
    }),
  );
  const byName = (objects: readonly KubeObject[]): Map<string, KubeObject> =>
    new Map(objects.map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o]));
  return {
    secret,
    secretKey: index.keyOf(secret),
    projects,
    dependents: withPods,
    spcPodStatuses,
    externalSecrets: byName(inventory.externalSecrets),
    secretSyncs: byName(inventory.secretSyncs ?? []),
    now: Date.now(),
    rolloutTimeoutMs: actingSettings(env).waves.rolloutTimeoutMs,
    windows: { policy: windowPolicy(env), namespaceWindows: await restartWindowsOf(api, namespaces) },
  };
}

/** The namespaces' operator-set rotor.dev/restart-windows annotations. */
async function restartWindowsOf(api: KubeApi, namespaces: readonly string[]): Promise<Map<string, string>> {
  const values = await Promise.all(
    namespaces.map(async (ns) => [ns, await namespaceAnnotation(api, ns, RESTART_WINDOWS)] as const),
  );
  return new Map(values.flatMap(([ns, v]) => (v === undefined ? [] : [[ns, v] as [string, string]])));
}

const workloadName = (w: WorkloadStatus): string => `${w.kind}/${w.namespace}/${w.name}`;

function servingCounts(w: WorkloadStatus): string {
  const on = w.pods.filter((p) => p.serves === 'target').length;
  return `${on}/${w.pods.length}`;
}

function rolloutCell(w: WorkloadStatus): string {
  return w.rollout.health === 'failed' ? `failed{${w.rollout.reasons.join('; ')}}` : w.rollout.health;
}

export function renderStatusTable(s: RotationStatus): string {
  const lines = [
    `${s.secret} version ${s.version}: ${s.done ? 'done' : 'not done'} (${s.workloads.filter((w) => w.pending.pending === 'nothing').length}/${s.workloads.length} dependents serve it)`,
  ];
  for (const st of s.stages ?? [])
    lines.push(terminalCell(`stage ${st.stage} (${st.clusters.join(', ')}): ${st.state}`));
  if (s.workloads.length === 0) lines.push('No workload depends on this secret.');
  const rows = [
    ['CLUSTER', 'WORKLOAD', 'PODS', 'ROLLOUT', 'PENDING'],
    ...s.workloads.map((w) =>
      [w.cluster, workloadName(w), servingCounts(w), rolloutCell(w), describePending(w.pending)].map(
        terminalCell,
      ),
    ),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  if (s.workloads.length > 0)
    for (const r of rows)
      lines.push(
        [0, 1, 2, 3].map((i) => (r[i] ?? '').padEnd(widths[i] ?? 0)).join('  ') + '  ' + (r[4] ?? ''),
      );
  return terminalLines(lines);
}

const cell = markdownText;

export function renderStatusMarkdown(s: RotationStatus): string {
  const lines = [
    `**${cell(s.secret)}** version ${s.version}: ${s.done ? '✅ done' : '⏳ not done'}`,
    '',
    ...(s.stages?.length
      ? [
          ...s.stages.map((st) => `- stage ${st.stage} (${cell(st.clusters.join(', '))}): ${cell(st.state)}`),
          '',
        ]
      : []),
    '| cluster | workload | pods on the version | rollout | pending |',
    '|---|---|---|---|---|',
    ...s.workloads.map(
      (w) =>
        `| ${cell(w.cluster)} | ${cell(workloadName(w))} | ${servingCounts(w)} | ${cell(rolloutCell(w))} | ${cell(describePending(w.pending))} |`,
    ),
  ];
  return lines.join('\n') + '\n';
}
