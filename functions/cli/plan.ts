// `rotor plan`: what a rotation of one secret will do to which workload, before anything rotates.
// Offline on manifests (a GitOps repo, `helm template` output) or live on a cluster; read-only.
import { envDefaultProject, windowPolicy } from '../config';
import { InputError } from '../errors';
import type { EventContext } from '../core/decision';
import { DependencyIndex } from '../core/discovery';
import { SECRET_EVENT_TYPES, isSecretEventType } from '../core/event';
import type { Inventory } from '../core/inventory';
import { inventoryFrom } from '../core/inventory';
import type { Plan, PlannedDecision } from '../core/plan';
import { buildPlan, decideAll, withPlannedTimes, withStages } from '../core/plan';
import type { StagedCluster } from '../core/clusterStages';
import { parseStage } from '../core/clusterStages';
import { parseClusterList, stageOf } from '../cluster/clusterSpec';
import { ProjectMap, parseSecretArg } from '../core/secretName';
import { isUnmappedNumber, unmappedNumberProblem } from '../core/projectNumber';
import { loadManifestsParallel } from '../manifests/parallel';
import { dump } from 'js-yaml';
import { isWorkload } from '../core/workloadKinds';
import { dedupeObjects } from '../manifests/dedupe';
import { defaultNamespace } from '../manifests/namespace';
import { renderMarkdown } from '../render/markdown';
import { renderMermaid } from '../render/mermaid';
import { renderNotes, renderTable } from '../render/table';
import { keyValues } from './args';
import { PLAN_COMMAND, PLAN_OUTPUTS } from './commands';
import { helpText, parseFlags } from './flags';
import type { CliIo } from './io';
import { requireKubeconfig } from './kubeconfig';
import { matchesSelector, parseSelector } from './labelSelector';
import { concerningProblems } from './notes';
import { selectingWorkloads } from './selectingApi';

export const PLAN_USAGE = helpText(PLAN_COMMAND);

type PlanOutput = (typeof PLAN_OUTPUTS)[number];

export interface PlanRequest {
  event: EventContext;
  projects: ProjectMap;
  defaultProject?: string;
  output: PlanOutput;
}

function isPlanOutput(v: string): v is PlanOutput {
  return (PLAN_OUTPUTS as readonly string[]).includes(v);
}

export function parsePlanRequest(args: string[], env: NodeJS.ProcessEnv) {
  const flags = parseFlags(PLAN_COMMAND, args);
  if (flags.boolean('help')) return { help: true as const };
  const secret = flags.string('secret');
  if (!secret) throw new InputError('--secret is required');
  const output = flags.string('output') ?? 'table';
  const eventType = flags.string('event') ?? 'SECRET_VERSION_ADD';
  if (!isSecretEventType(eventType) || eventType === 'TOPIC_CONFIGURED') {
    throw new InputError(
      `--event "${eventType}" is not a Secret Manager event type (one of ${SECRET_EVENT_TYPES.filter((t) => t !== 'TOPIC_CONFIGURED').join(', ')})`,
    );
  }
  const defaultProject = flags.string('project') ?? envDefaultProject(env);
  const ref = parseSecretArg(secret, defaultProject);
  if (ref.version !== undefined)
    throw new InputError(`--secret "${secret}" names a version: pass the secret and --version separately`);
  const version = flags.string('version');
  if (version !== undefined && !/^[0-9]+$/.test(version)) {
    throw new InputError(`--version "${version}" is not a version number`);
  }
  const aliases = keyValues(flags.string('alias'), '--alias');
  for (const [a, v] of Object.entries(aliases))
    if (!/^[0-9]+$/.test(v)) throw new InputError(`--alias ${a}=${v}: the version must be a number`);
  const projects = ProjectMap.parse(
    [env.ROTOR_PROJECT_MAP, flags.string('project-map')].filter(Boolean).join(','),
  );
  const named = flags.strings('manifests');
  const manifests = [...named, ...flags.positionals];
  const kubeconfigFlag = flags.string('kubeconfig');
  if (manifests.length > 0 && (kubeconfigFlag || flags.has('context')))
    throw new InputError('give either --manifests or --kubeconfig, not both');
  if (flags.positionals.length > 0 && named.length === 0)
    throw new InputError(`unexpected argument "${flags.positionals[0] ?? ''}"`);
  const namespace = flags.string('namespace');
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace))
    throw new InputError(`--namespace "${namespace}" is not a namespace name`);
  if (namespace !== undefined && flags.boolean('all-namespaces'))
    throw new InputError('give --namespace or --all-namespaces, not both');
  const selector = flags.string('selector');
  const selection =
    selector === undefined ? undefined : { text: selector, requirements: parseSelector(selector) };
  // Live unless manifests are given: the kubeconfig kubectl would use.
  const kubeconfig =
    manifests.length > 0
      ? undefined
      : requireKubeconfig(
          kubeconfigFlag,
          env,
          'give --manifests PATH... (offline) or --kubeconfig FILE (live)',
        );
  const event: EventContext = {
    type: eventType,
    secret: ref.id,
    ...(version !== undefined ? { version } : {}),
    ...(Object.keys(aliases).length > 0 ? { aliases } : {}),
  };
  return {
    help: false as const,
    request: {
      event,
      projects,
      ...(defaultProject ? { defaultProject } : {}),
      output: isPlanOutput(output) ? output : 'table',
    } satisfies PlanRequest,
    manifests,
    kubeconfig,
    context: flags.string('context'),
    namespace,
    selector: selection,
    ...planCluster(flags.string('cluster') ?? 'manifests', env),
    strict: flags.boolean('strict'),
    now: planInstant(flags.string('now')),
    windows: windowPolicy(env),
  };
}

/**
 * --cluster NAME[;stage=N]: the offline plan's cluster label and its stage; without its own stage,
 * the stage ROTOR_CLUSTERS gives a cluster of that name. `fleet`: the stages the plan shows.
 */
function planCluster(text: string, env: NodeJS.ProcessEnv): { cluster: string; fleet: StagedCluster[] } {
  const [name = '', ...options] = text.split(';');
  const cluster = name.trim();
  let stage: number | undefined;
  for (const option of options) {
    const m = /^\s*stage\s*=(.*)$/.exec(option);
    const parsed = m ? parseStage((m[1] ?? '').trim()) : undefined;
    if (!parsed) throw new InputError(`--cluster "${text}": only ;stage=N may follow the name`);
    if (!parsed.ok) throw new InputError(`--cluster "${text}": ${parsed.error}`);
    stage = parsed.stage;
  }
  const fleet = parseClusterList(env.ROTOR_CLUSTERS).map((c) => ({ name: c.raw, stage: stageOf(c) }));
  return { cluster, fleet: stage === undefined ? fleet : [...fleet, { name: cluster, stage }] };
}

/** --now: an ISO 8601 instant; unset: the clock. */
function planInstant(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const at = Date.parse(text);
  if (!Number.isFinite(at))
    throw new InputError(`--now "${text}" is not an ISO 8601 time (e.g. 2026-12-07T10:00:00Z)`);
  return at;
}

/** Decides one event over inventories (one per cluster); discovery's notes go to `problems`. */
export function planOver(
  inventories: readonly Inventory[],
  req: PlanRequest,
  problems: string[],
  opts: { strict?: boolean } = {},
): PlannedDecision[] {
  const decisions: PlannedDecision[] = [];
  for (const inv of inventories) {
    const index = new DependencyIndex(inv, {
      // Offline, a malformed class or ExternalSecret is bad input (exit 2); live, a note.
      ...(opts.strict ? { strict: true } : {}),
      projects: req.projects,
      ...(req.defaultProject ? { defaultProject: req.defaultProject } : {}),
      onProblem: (m) => problems.push(m),
    });
    decisions.push(...decideAll(index, req.event));
  }
  return decisions;
}

/** The plan in one output format. Table and mermaid leave the notes out: the CLI prints them on stderr. */
export function renderPlan(plan: Plan, decisions: PlannedDecision[], output: PlanOutput): string {
  switch (output) {
    case 'json':
      return JSON.stringify(plan, null, 2) + '\n';
    case 'yaml':
      return dump(plan, { noRefs: true, lineWidth: -1 });
    case 'mermaid':
      return renderMermaid(plan, decisions);
    case 'markdown':
      return renderMarkdown(plan, decisions);
    case 'table':
      return renderTable(plan, { notes: false });
  }
}

/** Whether an output carries the notes itself (in "problems" or a Notes section) or leaves them to stderr. */
function notesInOutput(output: PlanOutput): boolean {
  return output === 'json' || output === 'yaml' || output === 'markdown';
}

export async function runPlan(args: string[], io: CliIo): Promise<number> {
  const parsed = parsePlanRequest(args, io.env);
  if (parsed.help) {
    io.stdout(PLAN_USAGE);
    return 0;
  }
  // Notes about reading the input (skipped documents, files that do not parse, duplicates): always
  // shown. Discovery's notes: only those that concern the queried secret (cli/notes.ts).
  const loadNotes: string[] = [];
  const unparsable: string[] = [];
  let inventories: Inventory[];
  if (parsed.kubeconfig) {
    const { kubeApiFromKubeconfig, liveInventory } = await import('../cluster/inventory');
    const base = kubeApiFromKubeconfig(parsed.kubeconfig, parsed.context);
    const api = parsed.selector ? selectingWorkloads(base, parsed.selector.text) : base;
    try {
      inventories = [
        await liveInventory(api, parsed.namespace ? { allow: [parsed.namespace] } : {}, {
          kind: 'secret',
          secret: parsed.request.event.secret,
          projects: parsed.request.projects,
          ...(parsed.request.defaultProject ? { defaultProject: parsed.request.defaultProject } : {}),
        }),
      ];
    } finally {
      api.close();
    }
  } else {
    const loaded = await loadManifestsParallel(parsed.manifests, {
      onSkip: (m) => loadNotes.push(m),
      onFileError: (e) => unparsable.push(e.message),
    });
    // --strict, or nothing else to plan on: the files that do not parse are the answer (exit 2).
    if (unparsable.length > 0 && (parsed.strict || loaded.length === 0))
      throw new InputError(
        unparsable.length === 1
          ? (unparsable[0] ?? '')
          : `${unparsable.length} manifest files do not parse:\n  ${unparsable.join('\n  ')}`,
      );
    for (const m of unparsable) loadNotes.push(`${m} (file left out of the plan)`);
    if (parsed.namespace) defaultNamespace(loaded, parsed.namespace);
    const objects = dedupeObjects(loaded, (m) => loadNotes.push(m));
    const requirements = parsed.selector?.requirements;
    const selected = requirements
      ? objects.filter((o) => !isWorkload(o) || matchesSelector(requirements, o.metadata?.labels ?? {}))
      : objects;
    inventories = [inventoryFrom(parsed.cluster, selected)];
  }
  const discovered: string[] = [];
  const decisions = planOver(inventories, parsed.request, discovered, {
    strict: !parsed.kubeconfig || parsed.strict,
  });
  // About the queried secret itself, so never filtered out as concerning another one.
  const { secret } = parsed.request.event;
  const unmapped = isUnmappedNumber(secret.project, parsed.request.projects)
    ? [unmappedNumberProblem(secret.project)]
    : [];
  const concerning = [...unmapped, ...concerningProblems(discovered, decisions, secret)];
  if (parsed.strict && concerning.length > 0)
    throw new InputError(`unresolved references:\n  ${concerning.join('\n  ')}`);
  const problems = [...loadNotes, ...concerning];
  const plan = withStages(
    withPlannedTimes(
      buildPlan(parsed.request.event, decisions, parsed.request.projects, problems),
      parsed.windows,
      parsed.now,
    ),
    parsed.fleet,
  );
  io.stdout(renderPlan(plan, decisions, parsed.request.output));
  if (!notesInOutput(parsed.request.output)) io.stderr(renderNotes(problems));
  return 0;
}
