// The decision table (shared/DESIGN.md): per workload and secret event, restart | reload | none |
// wait, with a one-line reason naming the dependency that drove it. Pure.
import * as annotations from './annotations';
import type { Dependency, WorkloadDependencies } from './discovery';
import { appliedVersions } from './discovery';
import type { SecretEventType } from './event';
import { podTemplate, workloadAnnotation } from './kube';
import { formatSecretId, versionKind } from './secretName';
import type { SecretId } from './secretName';

export type Action = 'restart' | 'reload' | 'none' | 'wait';

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
}

export interface Readiness {
  readonly ready: boolean;
  /** Why (not) ready: "ExternalSecret shop/db refreshed at 10:02:11 after the event". */
  readonly detail: string;
  /** When the new value became visible to new pods (for coalescing several rotations into one restart). */
  readonly since?: string;
}

/** Live only: whether the new version is visible where `dep` reads it, before `action` runs. */
export type ReadinessCheck = (dep: Dependency, action: 'restart' | 'reload', targetVersion: string) => Readiness | undefined;

export interface ReloadEndpoint {
  /** A container port number or name. */
  readonly port: string;
  readonly path: string;
}

export interface Decision {
  readonly action: Action;
  readonly reason: string;
  /** Dependencies the event moves (the others are pinned elsewhere). */
  readonly affected: readonly Dependency[];
  /** Set on restart / reload (and on coalesced no-ops): what to write into rotor.dev/applied. */
  readonly record?: { readonly key: string; readonly version: string };
  /** True when nothing must run but `record` should still be written (a newer restart covered it). */
  readonly recordOnly?: boolean;
  /** Loud: dependents will break (a version they use was disabled or destroyed, the secret deleted). */
  readonly warning?: string;
  readonly reloadEndpoint?: ReloadEndpoint;
}

const STRENGTH: Record<'restart' | 'reload' | 'none', number> = { none: 0, reload: 1, restart: 2 };

export interface DecideOptions {
  /** Normalised identity of the event's secret (DependencyIndex.keyOf). */
  readonly secretKey: string;
  readonly readiness?: ReadinessCheck;
}

export function decide(wd: WorkloadDependencies, event: EventContext, opts: DecideOptions): Decision {
  const deps = wd.dependencies;
  const w = wd.object;
  const secretName = formatSecretId(event.secret);

  if (workloadAnnotation(w, annotations.IGNORE)?.toLowerCase() === 'true') {
    return { action: 'none', reason: `${annotations.IGNORE}: "true" on the workload`, affected: [] };
  }

  const effect = eventEffect(event, deps);
  if (effect.kind === 'inert') {
    return {
      action: 'none',
      reason: effect.reason,
      affected: [],
      ...(effect.warning ? { warning: effect.warning } : {}),
    };
  }
  const { affected, target, recordKey } = effect;
  if (affected.length === 0) {
    return { action: 'none', reason: effect.unaffectedReason, affected: [] };
  }
  const first = affected[0];

  const override = workloadAnnotation(w, annotations.ON_ROTATE)?.trim().toLowerCase();
  if (override === 'none') {
    return { action: 'none', reason: `${annotations.ON_ROTATE}: none — the app re-reads ${describeVia(first)} itself`, affected };
  }

  // Idempotency: a redelivered or older event is a no-op.
  const applied = appliedVersions(w)[recordKey];
  if (applied !== undefined) {
    const aliasRecord = recordKey.includes('@');
    if (applied === target) {
      return { action: 'none', reason: `version ${target} of ${secretName} already applied (${annotations.APPLIED})`, affected };
    }
    if (!aliasRecord && Number(applied) > Number(target)) {
      return { action: 'none', reason: `version ${applied} of ${secretName} already applied; this event (version ${target}) is older`, affected };
    }
  }
  const record = { key: recordKey, version: target };

  // Requirements per dependency: restart-only, or in place.
  const mustRestart = affected.find((d) => !d.inPlace);
  const endpointRaw = workloadAnnotation(w, annotations.RELOAD_ENDPOINT);
  const endpoint = endpointRaw ? parseReloadEndpoint(endpointRaw) : undefined;
  const fileDep = affected.find((d) => d.via === 'csi' || d.via === 'volume');

  let action: 'restart' | 'reload' | 'none';
  let reason: string;
  if (override === 'restart') {
    action = 'restart';
    reason = `${annotations.ON_ROTATE}: restart (${describeVia(first)})`;
  } else if (mustRestart) {
    action = 'restart';
    reason = `${describeVia(mustRestart)} only changes when the pod restarts`;
    if (override === 'reload') reason = `asked to reload (${annotations.ON_ROTATE}), but ${reason}`;
  } else if (endpointRaw && !endpoint) {
    action = 'restart';
    reason = `${annotations.RELOAD_ENDPOINT} "${endpointRaw}" is not PORT/PATH, so ${describeVia(fileDep ?? first)} is picked up by a restart`;
  } else if (endpoint) {
    action = 'reload';
    reason = fileDep
      ? `${describeVia(fileDep)} updates in place; the app re-reads it on POST ${endpoint.port}${endpoint.path}`
      : `the app reads ${secretName} through the Secret Manager API and refreshes its cache on POST ${endpoint.port}${endpoint.path}`;
  } else if (override === 'reload') {
    action = 'restart';
    reason = `asked to reload (${annotations.ON_ROTATE}), but the workload declares no ${annotations.RELOAD_ENDPOINT}`;
  } else if (fileDep) {
    action = 'restart';
    reason = `${describeVia(fileDep)} updates in place, but the app declared no ${annotations.RELOAD_ENDPOINT} and no ${annotations.ON_ROTATE}: none`;
  } else {
    action = 'none';
    reason = `the app reads ${secretName} through the Secret Manager API (${annotations.SECRETS}) and declared no ${annotations.RELOAD_ENDPOINT}`;
  }
  if (action === 'none') return { action, reason, affected };

  // Live: act only once the new version is visible where the pods will read it.
  if (opts.readiness) {
    let newestReady: string | undefined;
    for (const d of affected) {
      const r = opts.readiness(d, action, target);
      if (!r) continue;
      if (!r.ready) {
        return { action: 'wait', reason: `${action} waits: ${r.detail}`, affected };
      }
      if (r.since && (!newestReady || r.since > newestReady)) newestReady = r.since;
    }
    // Several secrets rotated together: a restart that began after this version was visible
    // already gave the pods the new value, so this event only records itself.
    if (action === 'restart') {
      const restartedAt = podTemplateRestartedAt(wd);
      const visibleSince = newestReady ?? event.time;
      if (restartedAt && visibleSince && Date.parse(restartedAt) >= Date.parse(visibleSince)) {
        return {
          action: 'none',
          reason: `already restarted at ${restartedAt}, after version ${target} became visible: the new pods read it`,
          affected,
          record,
          recordOnly: true,
        };
      }
    }
  }
  return { action, reason, affected, record, ...(action === 'reload' && endpoint ? { reloadEndpoint: endpoint } : {}) };
}

type EventEffect =
  | { kind: 'inert'; reason: string; warning?: string }
  | { kind: 'moves'; affected: Dependency[]; target: string; recordKey: string; unaffectedReason: string };

/** Which dependencies the event changes, and to which version. */
function eventEffect(event: EventContext, deps: readonly Dependency[]): EventEffect {
  const v = event.version;
  const name = formatSecretId(event.secret);
  const uses = deps.map((d) => d.version);
  switch (event.type) {
    case 'SECRET_VERSION_ADD': {
      // Offline plans may ask about "the next version" without naming it.
      const target = v ?? 'new';
      const affected = deps.filter((d) => d.version === 'latest');
      return {
        kind: 'moves',
        affected,
        target,
        recordKey: keyFor(event),
        unaffectedReason: unaffectedByAdd(deps[0], target),
      };
    }
    case 'SECRET_UPDATE': {
      const aliases = event.aliases ?? {};
      const affected = deps.filter((d) => versionKind(d.version) === 'alias' && aliases[d.version] !== undefined);
      if (affected.length === 0) {
        const d = deps[0];
        return {
          kind: 'inert',
          reason: versionKind(d.version) === 'alias'
            ? `alias "${d.version}" is not among the secret's aliases after the update (${describeVia(d)})`
            : `the update moves no alias this workload reads (${describeVia(d)} uses ${d.version === 'latest' ? 'latest' : `version ${d.version}`})`,
        };
      }
      // Several aliases may move at once; act on the first, all point where the secret says.
      const alias = affected[0].version;
      const sameAlias = affected.filter((d) => d.version === alias);
      return {
        kind: 'moves',
        affected: sameAlias,
        target: aliases[alias],
        recordKey: `${keyFor(event)}@${alias}`,
        unaffectedReason: '',
      };
    }
    case 'SECRET_VERSION_DISABLE':
    case 'SECRET_VERSION_DESTROY':
    case 'SECRET_VERSION_DESTROY_SCHEDULED': {
      const verb = event.type === 'SECRET_VERSION_DISABLE' ? 'disabled' : event.type === 'SECRET_VERSION_DESTROY' ? 'destroyed' : 'scheduled for destruction';
      const pinned = deps.find((d) => d.version === v);
      if (pinned) {
        return {
          kind: 'inert',
          reason: `${describeVia(pinned)} pins version ${v}, which was ${verb}`,
          warning: `version ${v} of ${name} was ${verb} but ${describeVia(pinned)} still pins it: pods will fail to read it at their next start or refresh`,
        };
      }
      const latest = deps.find((d) => d.version === 'latest');
      if (latest) {
        return {
          kind: 'inert',
          reason: `${describeVia(latest)} uses latest; version ${v} was ${verb}`,
          warning: `version ${v} of ${name} was ${verb}; ${describeVia(latest)} uses latest, which fails if version ${v} is the newest`,
        };
      }
      return { kind: 'inert', reason: `version ${v} was ${verb}; the workload uses ${uses.join(', ')}` };
    }
    case 'SECRET_DELETE':
      return {
        kind: 'inert',
        reason: `the secret was deleted (${describeVia(deps[0])})`,
        warning: `${name} was deleted but ${describeVia(deps[0])} still reads it: pods will fail at their next start or refresh`,
      };
    case 'SECRET_VERSION_ENABLE':
      return { kind: 'inert', reason: `enabling version ${v ?? '?'} changes no value the pods already read` };
    case 'SECRET_CREATE':
      return { kind: 'inert', reason: 'a new secret: no version changed under a running pod' };
    case 'SECRET_ROTATE':
      return { kind: 'inert', reason: 'SECRET_ROTATE is handled by rotateSecret; the version it adds arrives as SECRET_VERSION_ADD' };
    case 'TOPIC_CONFIGURED':
      return { kind: 'inert', reason: 'test message sent when the topic was configured' };
  }
}

function unaffectedByAdd(d: Dependency, v: string): string {
  const kind = versionKind(d.version);
  if (kind === 'number') return `${describeVia(d)} is pinned to version ${d.version}; a new version ${v} does not change it`;
  return `${describeVia(d)} follows alias "${d.version}", which a new version does not move (SECRET_UPDATE reports alias moves)`;
}

function keyFor(event: EventContext): string {
  return formatSecretId(event.secret);
}

/** "env DB_PASSWORD in app" — the short name of a dependency for reasons. */
export function describeVia(d: Dependency): string {
  const where = d.container ? ` in ${d.container}` : '';
  switch (d.source.kind) {
    case 'csi':
      return `${d.via === 'init' ? 'init container ' : ''}CSI file ${d.source.file}${d.via === 'subPath' ? ' mounted with subPath' : ''}${where}`;
    case 'eso':
    case 'csi-sync': {
      const what = d.detail.split(' in ')[0] ?? d.via;
      const by = d.source.kind === 'eso' ? `ExternalSecret ${d.source.externalSecret}` : `SecretProviderClass ${d.source.spc} sync`;
      return `${d.via === 'init' ? 'init container ' : ''}${what}${where} (Secret ${d.source.secretName} from ${by})`;
    }
    case 'api':
      return `${annotations.SECRETS} (Secret Manager API)`;
  }
}

export function parseReloadEndpoint(raw: string): ReloadEndpoint | undefined {
  const m = /^\s*([0-9]{1,5}|[a-z][a-z0-9-]{0,14})(\/.*)?\s*$/.exec(raw);
  if (!m) return undefined;
  if (/^[0-9]+$/.test(m[1]) && (Number(m[1]) < 1 || Number(m[1]) > 65535)) return undefined;
  return { port: m[1], path: m[2] ?? '/' };
}

function podTemplateRestartedAt(wd: WorkloadDependencies): string | undefined {
  if (wd.ref.kind === 'Rollout') {
    const spec = wd.object.spec as { restartAt?: unknown } | undefined;
    return typeof spec?.restartAt === 'string' ? spec.restartAt : undefined;
  }
  return podTemplate(wd.object)?.metadata?.annotations?.[annotations.RESTARTED_AT];
}

/** Strongest action first: restart > reload > none. */
export function strongest(a: 'restart' | 'reload' | 'none', b: 'restart' | 'reload' | 'none'): 'restart' | 'reload' | 'none' {
  return STRENGTH[a] >= STRENGTH[b] ? a : b;
}
