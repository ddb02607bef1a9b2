// `rotor apply`: act on live clusters for one secret event, the same way onSecretEvent does.
// The event comes from flags (--secret, --version, --event) or from a notification file (any
// form Secret Manager / Pub/Sub / Eventarc delivers). --wait keeps reconciling until converged, in
// the in-delivery loop onSecretEvent runs (pipeline/converge.ts): it waits on watches of what the
// event waits for and acts on each next step at once, printing a line per pass.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ClusterSpec } from '../cluster/access';
import { connectCluster, googleTokenSource, parseClusterSpec } from '../cluster/access';
import type { KubeApi } from '../cluster/kubeApi';
import { parseNamespaceList } from '../cluster/namespaces';
import type { EventContext } from '../core/decision';
import type { WorkloadRef } from '../core/kube';
import { isSecretEventType, parseNotification } from '../core/event';
import { eventContext } from '../core/plan';
import { ProjectMap, parseSecretArg } from '../core/secretName';
import { InputError } from '../errors';
import { actingSettings, envDefaultProject } from '../config';
import { createLogger } from '../log';
import type { EventOutcome } from '../core/outcome';
import { summarize } from '../core/outcome';
import { convergeEvent } from '../pipeline/converge';
import { groupSettings } from '../pipeline/secretGroups';
import type { StageSettings } from '../pipeline/reconcile';
import { stageOf } from '../cluster/clusterSpec';
import { dump } from 'js-yaml';
import { keyValues } from './args';
import { APPLY_COMMAND } from './commands';
import type { Flags } from './flags';
import { helpText, parseFlags } from './flags';
import type { CliIo } from './io';
import { hostname } from 'node:os';
import { verifyNotification } from '../notificationVerifier';
import { secretManagerFromEnv } from '../secretmanager/client';
import { requireKubeconfig } from './kubeconfig';
import { parseSelector } from './labelSelector';
import { selectingWorkloads } from './selectingApi';
import { terminalCell, terminalLines } from '../render/text';

export const APPLY_USAGE = helpText(APPLY_COMMAND);

/**
 * `rotor apply`: flags, then the event (a confirmed notification file, or flags), then the
 * clusters, then one converging reconcile, printed. Every flag problem is exit 2 before any request.
 */
export async function runApply(args: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(APPLY_COMMAND, args);
  if (flags.boolean('help')) {
    io.stdout(APPLY_USAGE);
    return 0;
  }
  const values = applyValues(flags);
  const projects = ProjectMap.parse(
    [io.env.ROTOR_PROJECT_MAP, values['project-map']].filter(Boolean).join(','),
  );
  const defaultProject = values.project ?? envDefaultProject(io.env);
  const event = values.notification
    ? await notificationEvent(values.notification, values.secret, io)
    : flagEvent(values, defaultProject);
  if (event === undefined) {
    io.stdout('TOPIC_CONFIGURED: nothing to do\n');
    return 0;
  }
  const specs = clusterSpecs(values, io);
  const waitSeconds = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new InputError(`--wait "${values.wait}" is not a number of seconds`);
  const approve = approvals(values.workload, values['all-manual']);
  const clusters = await connectClusters(specs, projects, values.selector);
  try {
    const outcome = await applyEvent(event, values, clusters, io, {
      projects,
      defaultProject,
      waitSeconds,
      approve,
      specs,
    });
    io.stdout(renderAs(values.output, outcome));
    return succeeded(outcome) ? 0 : 1;
  } finally {
    for (const c of clusters) c.close();
  }
}

type ApplyValues = ReturnType<typeof applyValues>;

/** The flags' values, with the combinations that cannot work refused. */
function applyValues(flags: Flags) {
  if (flags.positionals.length > 0)
    throw new InputError(`unexpected argument "${flags.positionals[0] ?? ''}"`);
  const values = {
    secret: flags.string('secret'),
    version: flags.string('version'),
    event: flags.string('event'),
    alias: flags.string('alias'),
    notification: flags.string('notification'),
    kubeconfig: flags.string('kubeconfig'),
    context: flags.string('context'),
    cluster: flags.strings('cluster'),
    'dry-run': flags.boolean('dry-run'),
    namespace: flags.string('namespace'),
    namespaces: flags.string('namespaces'),
    'exclude-namespaces': flags.string('exclude-namespaces'),
    selector: flags.string('selector'),
    'project-map': flags.string('project-map'),
    project: flags.string('project'),
    wait: flags.string('wait'),
    workload: flags.strings('workload'),
    'all-manual': flags.boolean('all-manual'),
    output: flags.string('output') ?? 'table',
  };
  if (values.namespace !== undefined && values.namespaces !== undefined)
    throw new InputError('give --namespace or --namespaces, not both');
  if (flags.boolean('all-namespaces') && (values.namespace !== undefined || values.namespaces !== undefined))
    throw new InputError('give --all-namespaces or a namespace, not both');
  // Checked here so that a bad selector is exit 2 before any request; the API server applies it.
  if (values.selector !== undefined) parseSelector(values.selector);
  return values;
}

interface AppliedEvent {
  readonly ctx: EventContext;
  readonly messageId?: string;
}

/**
 * The event of a notification file; undefined for TOPIC_CONFIGURED. A notification file is
 * someone else's word, as on the topic: confirmed with Secret Manager's metadata
 * (ROTOR_SECRET_MANAGER_ENDPOINT, else Google with Application Default Credentials) before
 * anything is done. --secret/--version are the person's own choice and are taken as given.
 */
async function notificationEvent(
  path: string,
  secret: string | undefined,
  io: CliIo,
): Promise<AppliedEvent | undefined> {
  if (secret) throw new InputError('give --notification or --secret, not both');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, path);
  }
  let event;
  try {
    event = parseNotification(text);
  } catch (e) {
    throw new InputError((e as Error).message, path);
  }
  const ctx = eventContext(event);
  if (!ctx) return undefined;
  const secretManager = secretManagerFromEnv(io.env);
  const check = await verifyNotification({ ...event, secret: ctx.secret }, secretManager, new Date()).finally(
    () => secretManager.close(),
  );
  if (check.kind === 'refuted')
    throw new InputError(
      `not confirmed by Secret Manager, nothing done: ${check.reason} (to act anyway, give --secret and --version)`,
      path,
    );
  return { ctx, ...(event.messageId !== undefined ? { messageId: event.messageId } : {}) };
}

/** The event --secret, --version, --event and --alias describe. */
function flagEvent(values: ApplyValues, defaultProject: string | undefined): AppliedEvent {
  if (!values.secret) throw new InputError('give --secret NAME --version V, or --notification FILE');
  const type = values.event ?? 'SECRET_VERSION_ADD';
  if (!isSecretEventType(type) || type === 'TOPIC_CONFIGURED')
    throw new InputError(`--event "${type}" is not a Secret Manager event type`);
  const ref = parseSecretArg(values.secret, defaultProject);
  if (ref.version !== undefined)
    throw new InputError(`--secret "${values.secret}" names a version: pass --version separately`);
  if (type === 'SECRET_VERSION_ADD' && values.version === undefined)
    throw new InputError('--version is required: acting needs the version number to record');
  if (values.version !== undefined && !/^[0-9]+$/.test(values.version))
    throw new InputError(`--version "${values.version}" is not a version number`);
  const aliases = keyValues(values.alias, '--alias');
  return {
    ctx: {
      type,
      secret: ref.id,
      ...(values.version !== undefined ? { version: values.version } : {}),
      ...(Object.keys(aliases).length ? { aliases } : {}),
      time: new Date().toISOString(),
    },
  };
}

/** --cluster specs; none named (or --kubeconfig/--context): the kubeconfig kubectl would use. */
function clusterSpecs(values: ApplyValues, io: CliIo): ClusterSpec[] {
  const specs: ClusterSpec[] = values.cluster.map(parseClusterSpec);
  if (values.kubeconfig || values.context || specs.length === 0) {
    const path = requireKubeconfig(values.kubeconfig, io.env, 'give --kubeconfig FILE or --cluster SPEC');
    specs.push(parseClusterSpec(`kubeconfig:${path}${values.context ? `#${values.context}` : ''}`));
  }
  return specs;
}

async function connectClusters(
  specs: readonly ClusterSpec[],
  projects: ProjectMap,
  selector: string | undefined,
): Promise<KubeApi[]> {
  const needsGoogle = specs.some((s) => s.kind !== 'kubeconfig');
  const tokens = needsGoogle
    ? googleTokenSource()
    : () => Promise.reject(new Error('no Google credentials needed'));
  const connected: KubeApi[] = await Promise.all(specs.map((s) => connectCluster(s, { tokens, projects })));
  return selector === undefined ? connected : connected.map((c) => selectingWorkloads(c, selector));
}

/** One converging reconcile of the event on the clusters, as onSecretEvent's, bounded by --wait. */
async function applyEvent(
  event: AppliedEvent,
  values: ApplyValues,
  clusters: KubeApi[],
  io: CliIo,
  run: {
    projects: ProjectMap;
    defaultProject: string | undefined;
    waitSeconds: number;
    approve: (ref: WorkloadRef) => boolean;
    specs: readonly ClusterSpec[];
  },
): Promise<EventOutcome> {
  const allow = values.namespace !== undefined ? [values.namespace] : parseNamespaceList(values.namespaces);
  const deny = parseNamespaceList(values['exclude-namespaces']);
  const logger = createLogger({ sink: (line) => io.stderr(line + '\n'), minSeverity: 'WARNING' });
  const acting = actingSettings(io.env);
  // Without a message, the run's own id: its rotor.dev/applied-by records are what it believes
  // on its next pass (--wait), and no record of another run or a tenant is.
  const runId = `rotor-apply-${randomUUID()}`;
  // Secret groups as onSecretEvent decides them, from Secret Manager's metadata: read only when a
  // restart of a workload reading several secrets asks (ROTOR_SECRET_MANAGER_ENDPOINT, else Google
  // with Application Default Credentials); unreadable, a warning says so and restarts are ungrouped.
  const secretManager = secretManagerFromEnv(io.env);
  const { outcome } = await convergeEvent(
    event.ctx,
    event.messageId ? { messageId: event.messageId } : { runId },
    {
      clusters,
      projects: run.projects,
      ...(run.defaultProject ? { defaultProject: run.defaultProject } : {}),
      namespaces: { ...(allow.length ? { allow } : {}), ...(deny.length ? { deny } : {}) },
      dryRun: values['dry-run'],
      // --wait bounds the CLI's own loop from now; the reconcile itself never gives up here
      // (an old notification file would otherwise be given up on at once).
      maxWaitMs: Number.POSITIVE_INFINITY,
      ...acting,
      ...groupSettings(acting.groups, secretManager, logger),
      reportLeaseMs: acting.loop.reportLeaseMs,
      events: { instance: `rotor-apply/${hostname()}` },
      logger,
      approve: run.approve,
      ...stagesOf(run.specs),
    },
    {
      // --wait is this run's budget; a person, not a continuation, picks up what is left.
      settings: { ...acting.loop, budgetMs: run.waitSeconds * 1000 },
      canContinue: false,
      onPass: (pass, n) => {
        if (pass.outcome.pending > 0) io.stderr(`pass ${n}: ${summarize(pass.outcome)} — waiting…\n`);
      },
    },
    () => Promise.resolve(),
  ).finally(() => secretManager.close().catch(() => undefined));
  return outcome;
}

/** --cluster SPEC;stage=N: the stages in order, as the functions do (never given up on here). */
function stagesOf(specs: readonly ClusterSpec[]): { stages?: StageSettings } {
  if (!specs.some((s) => stageOf(s) > 0)) return {};
  return {
    stages: {
      fleet: specs.map((s) => ({ name: s.raw, stage: stageOf(s) })),
      maxWaitMs: Number.POSITIVE_INFINITY,
    },
  };
}

function renderAs(output: string, outcome: EventOutcome): string {
  if (output === 'json') return JSON.stringify(outcome, null, 2) + '\n';
  if (output === 'yaml') return dump(outcome, { noRefs: true, lineWidth: -1 });
  return renderOutcome(outcome);
}

/** Exit 0 only when everything converged, nothing halted, failed, was given up on or never syncs. */
function succeeded(outcome: EventOutcome): boolean {
  return (
    outcome.converged &&
    !outcome.halted &&
    !outcome.workloads.some(
      (w) => w.result === 'failed' || w.result === 'gave-up' || w.result === 'never-synced',
    )
  );
}

/**
 * Which workloads a person approved (`--workload NS/NAME`, repeatable, or `--all-manual`): the
 * ones whose rotor.dev/on-rotate: manual this run acts on anyway.
 */
export function approvals(workloads: readonly string[], all: boolean): (ref: WorkloadRef) => boolean {
  if (all && workloads.length > 0) throw new InputError('give --workload NS/NAME or --all-manual, not both');
  if (all) return () => true;
  const approved = new Set<string>();
  for (const w of workloads) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(w);
    if (!m || w.length > 317) throw new InputError(`--workload "${w}" is not NAMESPACE/NAME`);
    approved.add(w);
  }
  return (ref) => approved.has(`${ref.namespace}/${ref.name}`);
}

export function renderOutcome(o: EventOutcome): string {
  const rows = o.workloads.map((w) => [
    w.result.toUpperCase(),
    terminalCell(`${w.kind}/${w.namespace}/${w.name}`),
    `${w.reason}${w.detail ? ` [${w.detail}]` : ''}`,
  ]);
  const widths = [0, 1].map((i) => Math.max(i === 0 ? 6 : 8, ...rows.map((r) => r[i].length)));
  const lines = [summarize(o) + (o.dryRun ? ' (dry run)' : '')];
  if (rows.length) {
    lines.push(['RESULT'.padEnd(widths[0]), 'WORKLOAD'.padEnd(widths[1]), 'REASON'].join('  '));
    for (const r of rows) lines.push([r[0].padEnd(widths[0]), r[1].padEnd(widths[1]), r[2]].join('  '));
  }
  for (const w of o.warnings) lines.push(`WARNING ${w}`);
  for (const c of o.clusterErrors) lines.push(`ERROR cluster ${c.cluster}: ${c.error}`);
  for (const h of o.halted ?? [])
    lines.push(
      `HALTED ${h.workload} (${h.cluster}): ${h.reasons.join('; ')}; fix it, then run rotor apply again`,
    );
  return terminalLines(lines);
}
