// The decision table (shared/DESIGN.md): per workload and secret event, restart | reload | none |
// wait | manual, with a one-line reason naming the dependency that drove it. Pure.
import type { RollbackScope } from './rollback';
import * as annotations from './annotations';
import { recordedVersion, staleAliasMove } from './appliedAlias';
import type { Dependency, WorkloadDependencies } from './discovery';
import { appliedVersions, describeRead } from './discovery';
import type { SecretEventType } from './event';
import type { Readiness } from './readinessVerdict';
import type { ReloadEndpoint } from './reloadEndpoint';
import { parseReloadEndpoint } from './reloadEndpoint';
import { kindOf, workloadAnnotation } from './workloadKinds';
import { versionKind } from './secretName';
import type { SecretId } from './secretName';
import { quoteTenant, tenantText } from './tenantText';

export type Action = 'restart' | 'reload' | 'none' | 'wait' | 'manual';

/** What the decision needs to know about the event. */
export interface EventContext {
  readonly type: SecretEventType;
  readonly secret: SecretId;
  /** The version the event is about (SECRET_VERSION_*), or the new target of moved aliases. */
  readonly version?: string;
  /** SECRET_UPDATE: the secret's aliases after the change (alias → version). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** When the new state became visible in Secret Manager (event timestamp or publish time). */
  readonly time?: string;
  /**
   * Set when the event's version is a rollback's (the secret's rotor-rollback mark names it): only
   * the workloads that applied the version it replaces move (core/rollback.ts, rollbackStep).
   */
  readonly rollback?: RollbackScope;
}

/** Live only: whether the new version is visible where `dep` reads it, before `action` runs. */
export type ReadinessCheck = (
  dep: Dependency,
  action: 'restart' | 'reload',
  targetVersion: string,
) => Readiness | undefined;

export type { ReloadEndpoint } from './reloadEndpoint';

/** What every decision states: why, and which of the workload's dependencies the event moves. */
interface DecisionFacts {
  /** One line naming the dependency that drove the decision. */
  readonly reason: string;
  /** Dependencies the event moves (the others are pinned elsewhere). */
  readonly affected: readonly Dependency[];
}

/**
 * Every entry to write into rotor.dev/applied once acted on. Several when one SECRET_UPDATE moves
 * several aliases the workload reads: each alias is recorded on its own. Never empty.
 */
export type AppliedRecords = readonly [AppliedRecord, ...AppliedRecord[]];

/** Restart the pods; the patch records `records`. */
export interface RestartDecision extends DecisionFacts {
  readonly action: 'restart';
  readonly records: AppliedRecords;
  /** Loud: the restart will not reach running pods (updateStrategy OnDelete). */
  readonly warning?: string;
}

/** Ping the app's reload endpoint in each ready pod, then record `records`. */
export interface ReloadDecision extends DecisionFacts {
  readonly action: 'reload';
  readonly endpoint: ReloadEndpoint;
  readonly records: AppliedRecords;
  /** Loud: the new version will not reach the file (an ExternalSecret that never refreshes). */
  readonly warning?: string;
}

/** Nothing to run, but `records` is written: a restart after the version became visible covered it. */
export interface RecordDecision extends DecisionFacts {
  readonly action: 'record';
  readonly records: AppliedRecords;
}

/** The new version is not visible where the pods read it yet: `then` runs once it is. */
export interface WaitDecision extends DecisionFacts {
  readonly action: 'wait';
  readonly then: 'restart' | 'reload';
  /** What has not caught up yet: ESO's sync of its Secret, or the CSI driver's mount. */
  readonly waitingFor: WaitingFor;
}

/**
 * What a wait is for (`wave`: an earlier wave's rollouts; `rollout`: the rollout of what Rotor
 * already did for the event; core/waves.ts; `report`: another delivery's report of what it did,
 * pipeline/reconcile.ts; `group`: the other secrets rotated with this one, core/secretGroups.ts).
 */
export type WaitingFor =
  | 'eso'
  | 'csi'
  | 'gke-sync'
  | 'pods'
  | 'wave'
  | 'rollout'
  | 'report'
  | 'window'
  /** The kubelet's next sync of the pods, which projects a synced Secret into their volumes (core/kubeletProjection.ts). */
  | 'kubelet'
  /** Another secret rotated together with the event's (core/secretGroups.ts). */
  | 'group'
  /** An earlier stage of clusters (core/clusterStages.ts). */
  | 'stage';

/** Nothing to do. */
export interface NoneDecision extends DecisionFacts {
  readonly action: 'none';
  /** Loud: dependents will break (a version they use was disabled or destroyed, the secret deleted). */
  readonly warning?: string;
}

/**
 * What Rotor must not or cannot act on: `awaiting` says who moves next. `approval`: the workload
 * asked for a person (rotor.dev/on-rotate: manual), who approves with `rotor apply --workload`.
 * `replacement`: a kind Rotor never acts on (a bare Pod, a Job) keeps the old value until replaced.
 */
export interface ManualDecision extends DecisionFacts {
  readonly action: 'manual';
  readonly awaiting: 'approval' | 'replacement';
}

/** The decision table's answer for one workload and one event: one variant per action. */
export type Decision =
  RestartDecision | ReloadDecision | RecordDecision | WaitDecision | NoneDecision | ManualDecision;

/** The loud warning a decision carries, if any (restarts that will not roll, breaking deletions). */
export function decisionWarning(d: Decision): string | undefined {
  return d.action === 'restart' || d.action === 'reload' || d.action === 'none' ? d.warning : undefined;
}

/** The action of the output contract (`rotor plan`, outcome messages): a record is a `none`. */
export function contractAction(d: Decision): Action {
  return d.action === 'record' ? 'none' : d.action;
}

/** One entry of rotor.dev/applied: the secret (`NAME`, or `NAME@ALIAS` for alias moves) → version acted on. */
export interface AppliedRecord {
  readonly key: string;
  readonly version: string;
  /** Alias moves: the time of the SECRET_UPDATE that moved it (an older one is then stale). */
  readonly movedAt?: string;
}

const ON_ROTATE_VALUES = ['restart', 'reload', 'none', 'manual'];

export interface DecideOptions {
  /**
   * Normalised identity of the event's secret (DependencyIndex.keyOf): the project id when the
   * number is mapped. Keys rotor.dev/applied, so an event naming the project by number and a CLI
   * run naming it by id record the same thing; also the name reasons and warnings show.
   */
  readonly secretKey: string;
  readonly readiness?: ReadinessCheck;
  /**
   * A person approved acting on this workload (`rotor apply --workload`, `--all-manual`): its
   * rotor.dev/on-rotate: manual no longer holds it back. Kinds Rotor never acts on stay manual.
   */
  readonly approved?: boolean;
}

/**
 * The decision table for one workload and one event, in the order a reader asks: is the workload
 * ignored → what does the event change → which of those moves are not yet applied → which action
 * would apply them → must a person approve or replace it → is the new version visible yet.
 */
export function decide(wd: WorkloadDependencies, event: EventContext, opts: DecideOptions): Decision {
  const w = wd.object;
  const secretName = opts.secretKey;
  if (workloadAnnotation(w, annotations.IGNORE)?.trim().toLowerCase() === 'true') {
    return { action: 'none', reason: `${annotations.IGNORE}: "true" on the workload`, affected: [] };
  }

  const effect = eventEffect(event, wd.dependencies, secretName, appliedVersions(w));
  if (effect.kind === 'inert') {
    return {
      action: 'none',
      reason: effect.reason,
      affected: [],
      ...(effect.warning ? { warning: effect.warning } : {}),
    };
  }
  if (effect.moves.length === 0) {
    return { action: 'none', reason: effect.unaffectedReason, affected: [] };
  }
  const everything = effect.moves.flatMap((m) => m.deps);
  const onRotate = readOnRotate(w);
  if (onRotate.override === 'none') {
    return {
      action: 'none',
      reason: `${annotations.ON_ROTATE}: none — the app re-reads ${describeVia(everything[0])} itself`,
      affected: everything,
    };
  }

  const applied = appliedVersions(w);
  const pending = pendingMoves(effect.moves, applied, event.time);
  if (pending.length === 0) {
    const reason = alreadyAppliedReason(effect.moves[0], applied, secretName, event.time);
    return { action: 'none', reason, affected: everything };
  }
  const affected = pending.flatMap((m) => m.deps);

  const chosen = chooseAction(w, affected, onRotate.override, secretName);
  const reason = chosen.reason + onRotate.ignored;
  if (chosen.action === 'none') return { action: 'none', reason, affected };

  const gated = manualGate(wd, onRotate.override, opts.approved, chosen.action, reason, affected);
  if (gated) return gated;

  const records = appliedRecords(pending, event.time);
  const ready = readinessGate(wd, event, pending, chosen.action, opts.readiness, records);
  if (ready.kind === 'decided') return ready.decision;
  return actingDecision(wd, chosen, reason + ready.evidence, affected, records);
}

/** rotor.dev/on-rotate as asked (a value outside the four is ignored, and the reason says so). */
function readOnRotate(w: WorkloadObject): { override: string | undefined; ignored: string } {
  const overrideRaw = workloadAnnotation(w, annotations.ON_ROTATE)?.trim().toLowerCase();
  const override = overrideRaw && ON_ROTATE_VALUES.includes(overrideRaw) ? overrideRaw : undefined;
  const ignored =
    overrideRaw && !override
      ? ` (${annotations.ON_ROTATE} ${quoteTenant(overrideRaw)} ignored: expected restart, reload, none or manual)`
      : '';
  return { override, ignored };
}

/**
 * Idempotency: a redelivered or older event is a no-op. Each move (the new version, or one
 * alias) is recorded on its own; moves already recorded at their version are done.
 */
function pendingMoves(
  moves: readonly Move[],
  applied: Readonly<Record<string, string>>,
  eventTime: string | undefined,
): Move[] {
  return moves.filter((m) => {
    const done = recordedVersion(applied[m.key]);
    if (done === undefined) return true;
    if (done === m.version) return false;
    // Aliases may move back: only a move recorded by a later event makes this one stale.
    if (m.alias !== undefined) return staleAliasMove(applied[m.key], eventTime) === undefined;
    // A newer version already applied makes this one stale.
    return !(/^[0-9]+$/.test(done) && /^[0-9]+$/.test(m.version) && Number(done) > Number(m.version));
  });
}

/** Why nothing is pending: the first move is already applied, or a later event superseded it. */
function alreadyAppliedReason(
  m: Move,
  applied: Readonly<Record<string, string>>,
  secretName: string,
  eventTime: string | undefined,
): string {
  const done = recordedVersion(applied[m.key]);
  const what = m.alias !== undefined ? `alias "${m.alias}" at version ${m.version}` : `version ${m.version}`;
  return done === m.version
    ? `${what} of ${secretName} already applied (${annotations.APPLIED}; ${describeVia(m.deps[0])})`
    : m.alias !== undefined
      ? `stale update: alias "${m.alias}" of ${secretName} was moved to version ${done} by a later event (${staleAliasMove(applied[m.key], eventTime)}); this one (${eventTime}, version ${m.version}) is older (${describeVia(m.deps[0])})`
      : `version ${done} of ${secretName} already applied; this event (version ${m.version}) is older (${describeVia(m.deps[0])})`;
}

/** What rotor.dev/applied will say once acted on: one record per pending move, the first one's version the target. */
function appliedRecords(pending: readonly Move[], eventTime: string | undefined): AppliedRecords {
  const [head, ...rest] = pending.map((m): AppliedRecord => ({
    key: m.key,
    version: m.version,
    ...(m.alias !== undefined && eventTime !== undefined ? { movedAt: eventTime } : {}),
  }));
  return [head, ...rest];
}

type ChosenAction =
  | { readonly action: 'restart'; readonly reason: string }
  | { readonly action: 'reload'; readonly endpoint: ReloadEndpoint; readonly reason: string }
  | { readonly action: 'none'; readonly reason: string };

/** The action that applies the pending moves: what each dependency requires, then what the workload asked. */
function chooseAction(
  w: WorkloadObject,
  affected: readonly Dependency[],
  override: string | undefined,
  secretName: string,
): ChosenAction {
  const first = affected[0];
  // Requirements per dependency: restart-only, or in place.
  const mustRestart = affected.find((d) => !d.inPlace);
  const endpointRaw = workloadAnnotation(w, annotations.RELOAD_ENDPOINT);
  const parsedEndpoint = endpointRaw ? parseReloadEndpoint(endpointRaw) : undefined;
  const endpoint = parsedEndpoint?.kind === 'valid' ? parsedEndpoint.endpoint : undefined;
  const fileDep = affected.find((d) => d.via === 'csi' || d.via === 'volume');

  if (override === 'restart') {
    return { action: 'restart', reason: `${annotations.ON_ROTATE}: restart (${describeVia(first)})` };
  }
  if (mustRestart) {
    const reason = `${describeVia(mustRestart)} only changes when the pod restarts`;
    return {
      action: 'restart',
      reason: override === 'reload' ? `asked to reload (${annotations.ON_ROTATE}), but ${reason}` : reason,
    };
  }
  if (parsedEndpoint?.kind === 'rejected') {
    return {
      action: 'restart',
      reason: `${annotations.RELOAD_ENDPOINT} was rejected (${parsedEndpoint.reason}), so ${describeVia(fileDep ?? first)} is picked up by a restart`,
    };
  }
  if (endpoint) {
    return {
      action: 'reload',
      endpoint,
      reason: fileDep
        ? `${describeVia(fileDep)} updates in place; the app re-reads it on POST ${endpoint.port}${endpoint.path}`
        : `the app reads ${secretName} through the Secret Manager API and refreshes its cache on POST ${endpoint.port}${endpoint.path}`,
    };
  }
  if (override === 'reload') {
    return {
      action: 'restart',
      reason: `asked to reload (${annotations.ON_ROTATE}), but the workload declares no ${annotations.RELOAD_ENDPOINT}`,
    };
  }
  if (fileDep) {
    return {
      action: 'restart',
      reason: `${describeVia(fileDep)} updates in place, but the app declared no ${annotations.RELOAD_ENDPOINT} and no ${annotations.ON_ROTATE}: none`,
    };
  }
  return {
    action: 'none',
    reason: `the app reads ${secretName} through the Secret Manager API (${annotations.SECRETS}) and declared no ${annotations.RELOAD_ENDPOINT}`,
  };
}

/** Nothing acts on what a person must approve or replace; the reason says what acting would do. */
function manualGate(
  wd: WorkloadDependencies,
  override: string | undefined,
  approved: boolean | undefined,
  action: 'restart' | 'reload',
  reason: string,
  affected: Dependency[],
): ManualDecision | undefined {
  const { manual } = kindOf(wd.ref.kind);
  if (manual !== undefined)
    return {
      action: 'manual',
      awaiting: 'replacement',
      reason: `${manual} (it would ${action}: ${reason})`,
      affected,
    };
  if (override === 'manual' && approved !== true)
    return {
      action: 'manual',
      awaiting: 'approval',
      reason: `${annotations.ON_ROTATE}: manual — approve with rotor apply --workload ${wd.ref.namespace}/${wd.ref.name} (it would ${action}: ${reason})`,
      affected,
    };
  return undefined;
}

/** The readiness gate's answer: a decision of its own (wait, or only record), or go on with this evidence. */
type ReadinessGate =
  | { readonly kind: 'decided'; readonly decision: WaitDecision | RecordDecision }
  | { readonly kind: 'act'; readonly evidence: string };

/** Live: act only once the new version is visible where the pods will read it. */
function readinessGate(
  wd: WorkloadDependencies,
  event: EventContext,
  pending: readonly Move[],
  action: 'restart' | 'reload',
  readiness: ReadinessCheck | undefined,
  records: AppliedRecords,
): ReadinessGate {
  if (!readiness) return { kind: 'act', evidence: '' };
  const affected = pending.flatMap((m) => m.deps);
  let newestReady: string | undefined;
  const evidence: string[] = [];
  for (const [d, version] of pending.flatMap((m) => m.deps.map((dep) => [dep, m.version] as const))) {
    const r = readiness(d, action, version);
    if (!r) continue;
    if (r.ready && r.evidence !== undefined && !evidence.includes(r.evidence)) evidence.push(r.evidence);
    if (!r.ready)
      return {
        kind: 'decided',
        decision: {
          action: 'wait',
          then: action,
          waitingFor:
            r.waitsFor ??
            (d.source.kind === 'eso' ? 'eso' : d.source.kind === 'gke-sync' ? 'gke-sync' : 'csi'),
          reason: `${action} waits: ${r.detail}`,
          affected,
        },
      };
    if (r.since && (!newestReady || Date.parse(r.since) > Date.parse(newestReady))) newestReady = r.since;
  }
  // Several secrets rotated together: a restart that began after this version was visible
  // already gave the pods the new value, so this event only records itself.
  if (action === 'restart') {
    const restartedAt = kindOf(wd.ref.kind).restartedAt(wd.object);
    const visibleSince = newestReady ?? event.time;
    if (restartedAt && visibleSince && Date.parse(restartedAt) >= latestInstant(visibleSince)) {
      return {
        kind: 'decided',
        decision: {
          action: 'record',
          reason: `already restarted at ${restartedAt}, after version ${records[0].version} became visible: the new pods read it`,
          affected,
          records,
        },
      };
    }
  }
  return { kind: 'act', evidence: evidence.length > 0 ? ` (${evidence.join('; ')})` : '' };
}

/** The restart or reload itself, with what will stay stale or roll slowly said loudly. */
function actingDecision(
  wd: WorkloadDependencies,
  chosen: Exclude<ChosenAction, { action: 'none' }>,
  reason: string,
  affected: Dependency[],
  records: AppliedRecords,
): RestartDecision | ReloadDecision {
  const stale = neverRefreshedWarning(affected, chosen.action, records[0].version);
  if (chosen.action === 'reload') {
    const { endpoint } = chosen;
    return { action: 'reload', endpoint, reason, affected, records, ...(stale ? { warning: stale } : {}) };
  }
  const warning = [onDeleteWarning(wd), stale].filter((w) => w !== undefined).join('; ') || undefined;
  return { action: 'restart', reason, affected, records, ...(warning ? { warning } : {}) };
}

type WorkloadObject = WorkloadDependencies['object'];

/** One thing the event changes: the dependencies that read it, and what to record once acted on. */
interface Move {
  readonly deps: Dependency[];
  /** The rotor.dev/applied key: the secret, or `secret@alias`. */
  readonly key: string;
  readonly version: string;
  readonly alias?: string;
}

type EventEffect =
  | { kind: 'inert'; reason: string; warning?: string }
  | { kind: 'moves'; moves: Move[]; unaffectedReason: string };

/** Which dependencies the event changes, and to which version. `name` is the secret's normalised name. */
function eventEffect(
  event: EventContext,
  deps: readonly Dependency[],
  name: string,
  applied: Readonly<Record<string, string>>,
): EventEffect {
  const v = event.version;
  switch (event.type) {
    case 'SECRET_VERSION_ADD':
      return addEffect(v, deps, name);
    case 'SECRET_UPDATE':
      return updateEffect(event.aliases ?? {}, deps, name);
    case 'SECRET_VERSION_DISABLE':
    case 'SECRET_VERSION_DESTROY':
    case 'SECRET_VERSION_DESTROY_SCHEDULED':
      return retiredVersionEffect(event.type, v, deps, name, applied);
    case 'SECRET_DELETE':
      return {
        kind: 'inert',
        reason: `the secret was deleted (${describeVia(deps[0])})`,
        warning: `${name} was deleted but ${describeVia(deps[0])} still reads it: pods will fail at their next start or refresh`,
      };
    case 'SECRET_VERSION_ENABLE':
      return {
        kind: 'inert',
        reason: `enabling version ${v ?? '?'} changes no value the pods already read (${describeVia(deps[0])})`,
      };
    case 'SECRET_CREATE':
      return {
        kind: 'inert',
        reason: `a new secret: no version changed under a running pod (${describeVia(deps[0])})`,
      };
    case 'SECRET_ROTATE':
      return {
        kind: 'inert',
        reason: 'SECRET_ROTATE is handled by rotateSecret; the version it adds arrives as SECRET_VERSION_ADD',
      };
    case 'TOPIC_CONFIGURED':
      return { kind: 'inert', reason: 'test message sent when the topic was configured' };
  }
}

/** A new version moves what reads `latest`. */
function addEffect(v: string | undefined, deps: readonly Dependency[], name: string): EventEffect {
  // Offline plans may ask about "the next version" without naming it.
  const target = v ?? 'new';
  const affected = deps.filter((d) => d.version === 'latest');
  return {
    kind: 'moves',
    moves: affected.length > 0 ? [{ deps: affected, key: name, version: target }] : [],
    unaffectedReason: unaffectedByAdd(deps[0], target),
  };
}

/** An update moves what reads an alias that now points at a version. */
function updateEffect(
  aliases: Readonly<Record<string, string>>,
  deps: readonly Dependency[],
  name: string,
): EventEffect {
  // The Secret after the update: every alias a dependency reads that points somewhere now.
  // Whether it moved is known from rotor.dev/applied (an alias recorded at its version did not).
  const moves: Move[] = [];
  for (const d of deps) {
    const target = versionKind(d.version) === 'alias' ? aliases[d.version] : undefined;
    if (target === undefined) continue;
    const move = moves.find((m) => m.alias === d.version);
    if (move) move.deps.push(d);
    else moves.push({ deps: [d], key: `${name}@${d.version}`, version: target, alias: d.version });
  }
  if (moves.length === 0) {
    const d = deps.find((x) => versionKind(x.version) === 'alias') ?? deps[0];
    return {
      kind: 'inert',
      reason:
        versionKind(d.version) === 'alias'
          ? `alias "${d.version}" is not among the secret's aliases after the update (${describeVia(d)})`
          : `the update moves no alias this workload reads (${describeVia(d)} uses ${d.version === 'latest' ? 'latest' : `version ${d.version}`})`,
    };
  }
  return { kind: 'moves', moves, unaffectedReason: '' };
}

/** A disabled or destroyed version moves nothing, but breaks whatever still reads it: say so loudly. */
function retiredVersionEffect(
  type: 'SECRET_VERSION_DISABLE' | 'SECRET_VERSION_DESTROY' | 'SECRET_VERSION_DESTROY_SCHEDULED',
  v: string | undefined,
  deps: readonly Dependency[],
  name: string,
  applied: Readonly<Record<string, string>>,
): EventEffect {
  const uses = [...new Set(deps.map((d) => d.version))];
  const verb =
    type === 'SECRET_VERSION_DISABLE'
      ? 'disabled'
      : type === 'SECRET_VERSION_DESTROY'
        ? 'destroyed'
        : 'scheduled for destruction';
  const pinned = deps.find((d) => d.version === v);
  if (pinned) {
    return {
      kind: 'inert',
      reason: `${describeVia(pinned)} pins version ${v}, which was ${verb}`,
      warning: `version ${v} of ${name} was ${verb} but ${describeVia(pinned)} still pins it: pods will fail to read it at their next start or refresh`,
    };
  }
  // An alias consumer is at risk when Rotor last moved it to exactly this version.
  const onAlias = deps.find(
    (d) => versionKind(d.version) === 'alias' && recordedVersion(applied[`${name}@${d.version}`]) === v,
  );
  if (onAlias) {
    return {
      kind: 'inert',
      reason: `${describeVia(onAlias)} follows alias "${onAlias.version}", last applied at version ${v}, which was ${verb}`,
      warning: `version ${v} of ${name} was ${verb} but alias "${onAlias.version}", which ${describeVia(onAlias)} reads, pointed at it when Rotor last acted: move the alias, or pods fail at their next start or refresh`,
    };
  }
  // A `latest` consumer is at risk only if version v is still the newest. Rotor's own retirement
  // disables superseded versions every rotation, so warn only when Rotor knows this workload is
  // on exactly that version; otherwise say it calmly.
  const latest = deps.find((d) => d.version === 'latest');
  if (latest) {
    const onIt = applied[name] === v;
    return {
      kind: 'inert',
      reason: onIt
        ? `${describeVia(latest)} uses latest and was last moved to version ${v}, which was ${verb}`
        : `${describeVia(latest)} uses latest; version ${v} was ${verb} (a problem only if it is the newest version)`,
      ...(onIt
        ? {
            warning: `version ${v} of ${name} was ${verb}; ${describeVia(latest)} uses latest and Rotor last moved it to version ${v}: if no newer version exists, reads fail at the next start or refresh`,
          }
        : {}),
    };
  }
  return {
    kind: 'inert',
    reason: `version ${v} was ${verb}; the workload uses ${uses.join(', ')} (${describeVia(deps[0])})`,
  };
}

function unaffectedByAdd(d: Dependency, v: string): string {
  const kind = versionKind(d.version);
  if (kind === 'number')
    return `${describeVia(d)} is pinned to version ${d.version}; a new version ${v} does not change it`;
  return `${describeVia(d)} follows alias "${d.version}", which a new version does not move (SECRET_UPDATE reports alias moves)`;
}

/** "env DB_PASSWORD in app" — the short name of a dependency for reasons. */
export function describeVia(d: Dependency): string {
  const where = d.container ? ` in ${d.container}` : '';
  switch (d.source.kind) {
    case 'csi':
      return `${d.via === 'init' ? 'init container ' : ''}CSI file ${tenantText(d.source.file)}${d.via === 'subPath' ? ' mounted with subPath' : ''}${where}`;
    case 'eso':
    case 'csi-sync':
    case 'gke-sync': {
      const what = describeRead(d.read);
      const by =
        d.source.kind === 'eso'
          ? `ExternalSecret ${d.source.externalSecret}`
          : d.source.kind === 'gke-sync'
            ? `SecretSync ${d.source.secretSync}`
            : `SecretProviderClass ${d.source.spc} sync`;
      return `${d.via === 'init' ? 'init container ' : ''}${what}${where} (Secret ${d.source.secretName} from ${by})`;
    }
    case 'api':
      return `${annotations.SECRETS} (Secret Manager API)`;
  }
}

/**
 * The latest instant a timestamp can stand for: `10:00:05Z` (second precision, as controllers
 * write) may mean any time up to 10:00:05.999, and coalescing must not assume the earliest.
 */
function latestInstant(ts: string): number {
  const t = Date.parse(ts);
  return /\.\d+/.test(ts) ? t : t + 999;
}

/**
 * An ExternalSecret ESO never refreshes after its first sync (refreshPolicy CreatedOnce,
 * refreshInterval 0): acting does not bring the new version, because its Secret keeps the old one.
 */
export function neverRefreshedWarning(
  affected: readonly Dependency[],
  action: 'restart' | 'reload',
  target: string,
): string | undefined {
  for (const d of affected) {
    if (d.source.kind !== 'eso' || d.source.neverRefreshes === undefined) continue;
    return `ExternalSecret ${d.source.namespace}/${d.source.externalSecret} has ${d.source.neverRefreshes}: ESO does not refresh it after its first sync (force-sync included), so ${describeVia(d)} will not see version ${target} and a ${action} would only re-read the old value (set refreshPolicy Periodic with refreshInterval > 0, or OnChange)`;
  }
  return undefined;
}

/** A restart that changes the pod template without rolling the pods (updateStrategy OnDelete). */
function onDeleteWarning(wd: WorkloadDependencies): string | undefined {
  if (kindOf(wd.ref.kind).rollsOnRestart(wd.object)) return undefined;
  return `${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name} uses updateStrategy OnDelete: a restart changes its pod template, but running pods keep the old value until they are deleted`;
}
