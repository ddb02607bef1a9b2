// `rotor plan`: what a rotation of one secret will do to which workload, before anything rotates.
// Offline on manifests (a GitOps repo, `helm template` output) or live on a cluster; read-only.
import { envDefaultProject } from '../config';
import { InputError } from '../errors';
import type { EventContext } from '../core/decision';
import { DependencyIndex } from '../core/discovery';
import { SECRET_EVENT_TYPES, isSecretEventType } from '../core/event';
import type { Inventory } from '../core/inventory';
import { inventoryFrom } from '../core/inventory';
import type { Plan, PlannedDecision } from '../core/plan';
import { buildPlan, decideAll } from '../core/plan';
import { ProjectMap, parseSecretArg } from '../core/secretName';
import { loadManifestsParallel } from '../manifests/parallel';
import { renderMermaid } from '../render/mermaid';
import { renderTable } from '../render/table';
import { keyValues, oneOf, parse } from './args';
import type { CliIo } from './io';

export const PLAN_USAGE = `Usage: rotor plan --secret NAME [--version V] [--event TYPE] [--alias A=V,...]
                  (--manifests PATH... | --kubeconfig FILE [--context C])
                  [--project-map ID=NUMBER,...] [--project DEFAULT] [--output table|json|mermaid]

  --secret       projects/P/secrets/S, projects/P/locations/L/secrets/S, or S with --project
  --version      the new version number (default: "new")
  --event        a Secret Manager event type (default SECRET_VERSION_ADD)
  --alias        SECRET_UPDATE: the secret's aliases after the update, e.g. current=7
  --manifests    files or directories of YAML/JSON manifests (repeatable; more paths may follow)
  --kubeconfig   plan against a live cluster instead (read-only)
  --project-map  project id=number pairs, so names by id and by number compare equal
  --project      default project for short names (and stores without projectID)
  --cluster      the cluster label for offline plans (default "manifests")
  --strict       treat unresolved references (missing classes, stores) as errors
`;

const OUTPUTS = ['table', 'json', 'mermaid'] as const;

export interface PlanRequest {
  event: EventContext;
  projects: ProjectMap;
  defaultProject?: string;
  output: (typeof OUTPUTS)[number];
}

export function parsePlanRequest(args: string[], env: NodeJS.ProcessEnv) {
  const { values, positionals } = parse(
    args,
    {
      secret: { type: 'string' },
      version: { type: 'string' },
      event: { type: 'string' },
      alias: { type: 'string' },
      manifests: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'project-map': { type: 'string' },
      project: { type: 'string' },
      cluster: { type: 'string' },
      output: { type: 'string', short: 'o' },
      strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    'plan',
  );
  if (values.help) return { help: true as const };
  if (!values.secret) throw new InputError('--secret is required');
  const eventType = values.event ?? 'SECRET_VERSION_ADD';
  if (!isSecretEventType(eventType) || eventType === 'TOPIC_CONFIGURED') {
    throw new InputError(
      `--event "${eventType}" is not a Secret Manager event type (one of ${SECRET_EVENT_TYPES.filter((t) => t !== 'TOPIC_CONFIGURED').join(', ')})`,
    );
  }
  const defaultProject = values.project ?? envDefaultProject(env);
  const ref = parseSecretArg(values.secret, defaultProject);
  if (ref.version !== undefined)
    throw new InputError(
      `--secret "${values.secret}" names a version: pass the secret and --version separately`,
    );
  if (values.version !== undefined && !/^[0-9]+$/.test(values.version)) {
    throw new InputError(`--version "${values.version}" is not a version number`);
  }
  const aliases = keyValues(values.alias, '--alias');
  for (const [a, v] of Object.entries(aliases))
    if (!/^[0-9]+$/.test(v)) throw new InputError(`--alias ${a}=${v}: the version must be a number`);
  const projects = ProjectMap.parse([env.ROTOR_PROJECT_MAP, values['project-map']].filter(Boolean).join(','));
  const manifests = [...(values.manifests ?? []), ...positionals];
  if (manifests.length > 0 && values.kubeconfig)
    throw new InputError('give either --manifests or --kubeconfig, not both');
  if (manifests.length === 0 && !values.kubeconfig)
    throw new InputError('give --manifests PATH... (offline) or --kubeconfig FILE (live)');
  if (positionals.length > 0 && (values.manifests ?? []).length === 0)
    throw new InputError(`unexpected argument "${positionals[0]}"`);
  const event: EventContext = {
    type: eventType,
    secret: ref.id,
    ...(values.version !== undefined ? { version: values.version } : {}),
    ...(Object.keys(aliases).length > 0 ? { aliases } : {}),
  };
  return {
    help: false as const,
    request: {
      event,
      projects,
      ...(defaultProject ? { defaultProject } : {}),
      output: oneOf(values.output, OUTPUTS, '--output', 'table'),
    } satisfies PlanRequest,
    manifests,
    kubeconfig: values.kubeconfig,
    context: values.context,
    cluster: values.cluster ?? 'manifests',
    strict: values.strict ?? false,
  };
}

/** Plans one event over inventories (one per cluster). */
export function planOver(
  inventories: readonly Inventory[],
  req: PlanRequest,
  problems: string[],
  opts: { strict?: boolean } = {},
): { plan: Plan; decisions: PlannedDecision[] } {
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
  return { plan: buildPlan(req.event, decisions, req.projects, problems), decisions };
}

export function renderPlan(plan: Plan, decisions: PlannedDecision[], output: PlanRequest['output']): string {
  switch (output) {
    case 'json':
      return JSON.stringify(plan, null, 2) + '\n';
    case 'mermaid':
      return renderMermaid(plan, decisions);
    case 'table':
      return renderTable(plan);
  }
}

export async function runPlan(args: string[], io: CliIo): Promise<number> {
  const parsed = parsePlanRequest(args, io.env);
  if (parsed.help) {
    io.stdout(PLAN_USAGE);
    return 0;
  }
  const problems: string[] = [];
  let inventories: Inventory[];
  if (parsed.kubeconfig) {
    const { liveInventoryFromKubeconfig } = await import('../cluster/inventory');
    inventories = [
      await liveInventoryFromKubeconfig(parsed.kubeconfig, parsed.context, {
        kind: 'secret',
        secret: parsed.request.event.secret,
        projects: parsed.request.projects,
        ...(parsed.request.defaultProject ? { defaultProject: parsed.request.defaultProject } : {}),
      }),
    ];
  } else {
    inventories = [
      inventoryFrom(
        parsed.cluster,
        await loadManifestsParallel(parsed.manifests, { onSkip: (m) => problems.push(m) }),
      ),
    ];
  }
  const { plan, decisions } = planOver(inventories, parsed.request, problems, {
    strict: !parsed.kubeconfig || parsed.strict,
  });
  if (parsed.strict && problems.length > 0)
    throw new InputError(`unresolved references:\n  ${problems.join('\n  ')}`);
  io.stdout(renderPlan(plan, decisions, parsed.request.output));
  return 0;
}
