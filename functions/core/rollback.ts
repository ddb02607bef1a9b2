// Rolling a bad value back (issue 22.1). An event halts when a canary or an early wave crashloops
// on the new version B (core/waves.ts). With the rollback policy, the previous value P comes back
// as a new version R carrying P's payload (only the rotation function reads payloads), and Rotor's
// event for R moves exactly the workloads that applied B onto it: nothing else moves.
//
// Three decisions live here, all pure:
//   - the policy: ROTOR_ON_HALT, overridden per secret by `rotor-on-halt`, a Secret Manager
//     annotation or label (writing either takes secretmanager.admin: the operator's, never a
//     tenant's; the key has no '.' or '/', which label keys refuse);
//   - the target (planRollback): the version before B, unless a rotation strategy retired it, or
//     one between, on its backend or in Secret Manager: Rotor never rolls back past a retired
//     version, it says why instead;
//   - per workload, in R's event (rollbackStep): a workload that applied B rolls forward onto R
//     like onto any new version; every other one is left alone, with a reason naming R and P.
import type { VersionState } from './notificationCheck';

/** What a halted event does: stay halted for a person (`hold`), or restore the previous value. */
export type HaltPolicy = 'hold' | 'rollback';
export const HALT_POLICIES: readonly HaltPolicy[] = ['hold', 'rollback'];
export const DEFAULT_HALT_POLICY: HaltPolicy = 'hold';

/** The Secret Manager annotation or label (operator-set) overriding ROTOR_ON_HALT for one secret. */
export const ON_HALT_KEY = 'rotor-on-halt';
/** The Secret Manager annotation Rotor writes on a rollback (RollbackMark, JSON). */
export const ROLLBACK_MARK_KEY = 'rotor-rollback';

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** `hold` or `rollback` (any case, surrounding blanks ignored). */
export function parseHaltPolicy(raw: string, where: string): Parsed<HaltPolicy> {
  const v = raw.trim().toLowerCase();
  const policy = HALT_POLICIES.find((p) => p === v);
  return policy
    ? { ok: true, value: policy }
    : {
        ok: false,
        error: `${where}=${JSON.stringify(raw.slice(0, 40))} is not one of ${HALT_POLICIES.join(', ')}`,
      };
}

export interface SecretPolicy {
  readonly policy: HaltPolicy;
  /** Which setting decided: "ROTOR_ON_HALT", or the secret's annotation or label. */
  readonly source: string;
  /** A per-secret value that could not be used (the deployment's policy applies instead). */
  readonly warning?: string;
}

/**
 * The policy for one secret: its `rotor-on-halt` annotation, else its label, else the
 * deployment's. A bad per-secret value is not a reason to roll back: the deployment's policy
 * applies and the warning says why.
 */
export function secretHaltPolicy(
  secret: {
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  },
  deployment: HaltPolicy,
): SecretPolicy {
  const fallback = { policy: deployment, source: 'ROTOR_ON_HALT' };
  const [kind, raw] =
    secret.annotations[ON_HALT_KEY] !== undefined
      ? ['annotation', secret.annotations[ON_HALT_KEY]]
      : secret.labels[ON_HALT_KEY] !== undefined
        ? ['label', secret.labels[ON_HALT_KEY]]
        : [undefined, undefined];
  if (kind === undefined || raw === undefined) return fallback;
  const parsed = parseHaltPolicy(raw, `the secret's ${kind} ${ON_HALT_KEY}`);
  if (!parsed.ok) return { ...fallback, warning: `${parsed.error}: ROTOR_ON_HALT (${deployment}) applies` };
  return { policy: parsed.value, source: `the secret's ${kind} ${ON_HALT_KEY}` };
}

/**
 * What onSecretEvent does when its event halted: nothing more, or ask for a rollback. `reason`:
 * the event's (its outcome's onHalt); `note`: what each halted workload's reason, and so its
 * Halted Event, starts with (core/outcome.ts withHaltNote): the previous value being restored, or
 * why it is not.
 */
export type HaltResponse =
  | { readonly kind: 'none' }
  | { readonly kind: 'hold'; readonly reason: string; readonly note: string }
  | {
      readonly kind: 'request-rollback';
      readonly replaces: number;
      readonly reason: string;
      readonly note: string;
    };

/**
 * Whether a halted event asks the rotation function to roll its version back. Only an event about
 * a version number can (the bad value is that version, or `current`'s new target); a dry run
 * never; nor a deployment that cannot ask (`canAsk`: ROTOR_ROTATION_TOPIC is set).
 */
export function onHalt(
  halted: readonly string[],
  policy: SecretPolicy,
  event: {
    readonly version?: string;
    readonly aliases?: Readonly<Record<string, string>>;
    readonly rollback?: RollbackScope;
  },
  dryRun: boolean,
  canAsk = true,
): HaltResponse {
  if (halted.length === 0) return { kind: 'none' };
  const why = `the rollout of ${halted.join(', ')} failed`;
  const hold = (reason: string, because: string): HaltResponse => ({
    kind: 'hold',
    reason,
    note: `not rolled back: ${because}`,
  });
  if (policy.policy === 'hold')
    return hold(`${why}; ${policy.source} is hold: fix it, then run rotor apply`, `${policy.source} is hold`);
  if (dryRun) return hold(`${why}; a dry run rolls nothing back`, 'a dry run rolls nothing back');
  // A rollback's own version halting again is not rolled back once more: a person must look.
  if (event.rollback) {
    const { version, restores } = event.rollback;
    return hold(
      `${why} on version ${version}, itself a rollback to version ${restores}: not rolled back again`,
      `version ${version} is itself a rollback to version ${restores}, and a rollback is not rolled back again`,
    );
  }
  // A version event names it; an alias move (SECRET_UPDATE) is about `current`'s new target.
  const named = event.version ?? event.aliases?.current;
  const bad = named !== undefined && /^[1-9][0-9]{0,17}$/.test(named) ? Number(named) : undefined;
  if (bad === undefined)
    return hold(
      `${why}; the event names no version number to roll back`,
      'the event names no version number to roll back',
    );
  const asked = `${why}; ${policy.source} is rollback: asked the rotation function to restore the version before ${bad}`;
  if (!canAsk)
    return hold(
      `${asked}, but ROTOR_ROTATION_TOPIC is not set: nothing was asked`,
      `${policy.source} is rollback, but ROTOR_ROTATION_TOPIC is not set, so the rotation function was not asked`,
    );
  // The rotation function adds the value back as a new version and moves `current` to it.
  const how =
    event.version === undefined
      ? `the version before ${bad} (where current moved) again as a new version and move current to it`
      : `the version before ${bad} again as a new version`;
  return {
    kind: 'request-rollback',
    replaces: bad,
    reason: asked,
    note: `the previous value is being restored: ${policy.source} is rollback, so the rotation function was asked to add ${how} (it refuses, saying why, if a rotation retired that version)`,
  };
}

/** Written on the secret by the rotation function: R restores P in place of B. */
export interface RollbackMark {
  /** B: the version rolled back. */
  readonly replaces: number;
  /** P: the version whose payload R carries. */
  readonly restores: number;
  /** The newest version number when the rollback began: R is above it. */
  readonly base: number;
  /** R, once added. */
  readonly version?: number;
  /** When the rollback began (RFC 3339). */
  readonly at: string;
  /** The request (Pub/Sub message id, `cli:...`) that made it. */
  readonly trigger?: string;
}

const MAX_MARK_CHARS = 2048;
const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Parses the rotor-rollback annotation; anything malformed is no mark. */
export function parseRollbackMark(raw: string | undefined): RollbackMark | undefined {
  if (raw === undefined || raw.length > MAX_MARK_CHARS) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (!isVersion(o.replaces) || !isVersion(o.restores) || typeof o.at !== 'string') return undefined;
  if (!(typeof o.base === 'number' && Number.isSafeInteger(o.base) && o.base >= 0)) return undefined;
  if (o.restores >= o.replaces) return undefined;
  if (o.version !== undefined && !(isVersion(o.version) && o.version > o.base)) return undefined;
  return {
    replaces: o.replaces,
    restores: o.restores,
    base: o.base,
    at: o.at,
    ...(o.version !== undefined ? { version: o.version } : {}),
    ...(typeof o.trigger === 'string' ? { trigger: o.trigger } : {}),
  };
}

/** What an event for the rollback version R carries: R, the version it restores and the one it replaces. */
export interface RollbackScope {
  readonly version: string;
  readonly restores: string;
  readonly replaces: string;
}

/**
 * Whether the event is about the rollback version of `mark`: a version event for the version it
 * names, or, while the rollback is adding it (its notification can arrive before the mark names
 * it), for any version above the mark's base; an alias move (SECRET_UPDATE) whose aliases include
 * the version the mark names.
 */
export function rollbackScopeOf(
  mark: RollbackMark | undefined,
  event: { readonly version?: string; readonly aliases?: Readonly<Record<string, string>> },
): RollbackScope | undefined {
  if (!mark) return undefined;
  const scope = (v: number): RollbackScope => ({
    version: String(v),
    restores: String(mark.restores),
    replaces: String(mark.replaces),
  });
  const { version } = event;
  if (version === undefined) {
    const named = mark.version;
    return named !== undefined && Object.values(event.aliases ?? {}).includes(String(named))
      ? scope(named)
      : undefined;
  }
  if (!/^[1-9][0-9]{0,17}$/.test(version)) return undefined;
  const v = Number(version);
  const isR = mark.version !== undefined ? v === mark.version : v > mark.base;
  return isR ? scope(v) : undefined;
}

/** One workload in the rollback version's event: roll it forward, or leave it alone and say why. */
export type RollbackStep =
  /** `note`: appended to the decision's reason (outcomes and Kubernetes Events say it is a rollback). */
  | { readonly step: 'roll-forward'; readonly note: string }
  | { readonly step: 'leave'; readonly reason: string };

/**
 * Only a workload that applied B (rotor.dev/applied, for the secret or one of its aliases) moves
 * onto R, and one that moved already goes on as any workload of any event does. The record is tenant-writable, which is harmless here: a tenant that forges it only
 * restarts its own workload onto the value it had.
 */
export function rollbackStep(
  applied: Readonly<Record<string, string>>,
  secretKey: string,
  scope: RollbackScope,
): RollbackStep {
  const keys = Object.keys(applied).filter((k) => k === secretKey || k.startsWith(`${secretKey}@`));
  // Applied R already (an earlier pass restarted it): its rollout is still this event's to judge.
  if (keys.some((k) => applied[k] === scope.replaces || applied[k] === scope.version))
    return {
      step: 'roll-forward',
      note: `rollback: version ${scope.version} restores version ${scope.restores} in place of version ${scope.replaces}, which this workload applied`,
    };
  const had = keys.length
    ? `it has version ${keys.map((k) => applied[k]).join(', ')}`
    : 'Rotor never acted on it';
  return {
    step: 'leave',
    reason: `version ${scope.version} restores version ${scope.restores} in place of version ${scope.replaces}, which this workload never applied (${had}): nothing else moves`,
  };
}

/** What the rotation function knows of the secret when asked to roll back. */
export interface RollbackFacts {
  /** Every version, any order. */
  readonly versions: ReadonlyArray<{ readonly version: number; readonly state: VersionState }>;
  /** The secret's `current` alias, if any. */
  readonly current?: number;
  /** Its rotation strategy (rotor-strategy), if Rotor rotates it. */
  readonly strategy?: string;
  /** The last finished rotation (rotor-last-rotation): which version it made from which. */
  readonly lastRotation?: { readonly version: number; readonly previous: number };
  /** A version a withdrawn rotation disabled (rotor-last-abandoned): never served, not a retirement. */
  readonly abandoned?: number;
  /** A rotation holds the secret now (a live claim). */
  readonly rotationInProgress: boolean;
  readonly mark?: RollbackMark;
}

export interface RollbackAsk {
  /** B; absent (by hand): the version in use, `current` or else the newest enabled one. */
  readonly replaces?: number;
  /** P; absent: the version just before B. */
  readonly to?: number;
}

export type RollbackPlan =
  /** Restore `restores` as a new version in place of `replaces`. */
  | {
      readonly kind: 'rollback';
      readonly restores: number;
      readonly replaces: number;
      readonly reason: string;
    }
  /** Already rolled back (the mark says so): a redelivered request changes nothing. */
  | { readonly kind: 'done'; readonly mark: RollbackMark; readonly reason: string }
  /** A rollback of B is under way (its version not added yet): resume it. */
  | { readonly kind: 'resume'; readonly mark: RollbackMark; readonly reason: string }
  /** Not now: a rotation holds the secret (retry later). */
  | { readonly kind: 'busy'; readonly reason: string }
  /** Never: the ask is wrong, or the way back was retired. */
  | { readonly kind: 'refused'; readonly reason: string };

/** Strategies whose rotation replaces the one credential on the backend: the old value stops working. */
const SINGLE_CREDENTIAL = new Set(['postgres', 'cloudsql']);

/** Which version to restore, or why none may be. */
export function planRollback(ask: RollbackAsk, facts: RollbackFacts): RollbackPlan {
  const byNumber = new Map(facts.versions.map((v) => [v.version, v.state]));
  const inUse = facts.current ?? newestEnabled(facts.versions);
  const bad = ask.replaces ?? inUse;
  if (bad === undefined) return { kind: 'refused', reason: 'the secret has no enabled version to roll back' };
  const mark = facts.mark;
  if (mark?.replaces === bad && mark.version !== undefined)
    return {
      kind: 'done',
      mark,
      reason: `version ${bad} was already rolled back: version ${mark.version} restores version ${mark.restores}`,
    };
  if (mark?.replaces === bad)
    return {
      kind: 'resume',
      mark,
      reason: `the rollback of version ${bad} to version ${mark.restores} was interrupted: resuming it`,
    };
  // The version before a rollback's version is the bad one it replaced: never the default target.
  if (mark?.version === bad && ask.to === undefined)
    return {
      kind: 'refused',
      reason: `version ${bad} is itself a rollback (it restores version ${mark.restores} in place of version ${mark.replaces}): name the version to restore with --to`,
    };
  if (facts.rotationInProgress)
    return { kind: 'busy', reason: 'a rotation holds the secret: the rollback waits for it to finish' };
  if (!byNumber.has(bad)) return { kind: 'refused', reason: `version ${bad} does not exist` };
  if (inUse !== undefined && bad !== inUse)
    return {
      kind: 'refused',
      reason: `version ${bad} is not the version in use (${facts.current !== undefined ? 'current' : 'the newest enabled version'} is ${inUse}): a later version replaced it already`,
    };
  const target = ask.to ?? Math.max(0, ...[...byNumber.keys()].filter((v) => v < bad));
  if (target === 0)
    return { kind: 'refused', reason: `version ${bad} is the first version: there is nothing before it` };
  if (!byNumber.has(target)) return { kind: 'refused', reason: `version ${target} does not exist` };
  if (target >= bad)
    return {
      kind: 'refused',
      reason: `--to ${target} is not older than version ${bad}: a rollback restores an earlier version`,
    };
  return (
    retiredOnTheWay(target, bad, facts) ?? {
      kind: 'rollback',
      restores: target,
      replaces: bad,
      reason: `version ${target} is still valid${facts.strategy ? ` (strategy ${facts.strategy})` : ''}: its payload comes back as a new version in place of version ${bad}`,
    }
  );
}

/** Refused when a version from P up to B (P itself, or one between) was retired. */
function retiredOnTheWay(target: number, bad: number, facts: RollbackFacts): RollbackPlan | undefined {
  const states = new Map(facts.versions.map((v) => [v.version, v.state]));
  const targetState = states.get(target);
  if (targetState !== 'ENABLED')
    return {
      kind: 'refused',
      reason: `version ${target} is ${targetState ?? 'gone'}: it was retired, and Rotor never restores a retired value`,
    };
  const between = [...states.entries()]
    .filter(([v, s]) => v > target && v < bad && s !== 'ENABLED' && v !== facts.abandoned)
    .map(([v]) => v)
    .sort((a, b) => a - b);
  if (between.length)
    return {
      kind: 'refused',
      reason: `version(s) ${between.join(', ')} between ${target} and ${bad} were retired: Rotor never rolls back past a retired version`,
    };
  const last = facts.lastRotation;
  if (!last || last.version <= target || facts.strategy === undefined) return undefined;
  if (SINGLE_CREDENTIAL.has(facts.strategy))
    return {
      kind: 'refused',
      reason: `strategy ${facts.strategy} replaced version ${target}'s password on its backend when it rotated to version ${last.version}: restoring it would lock every consumer out`,
    };
  if (facts.strategy === 'postgres-alternating' && last.previous !== target)
    return {
      kind: 'refused',
      reason: `strategy postgres-alternating keeps only the user before version ${last.version} (version ${last.previous}) valid: version ${target}'s user was given a new password since`,
    };
  return undefined;
}

function newestEnabled(versions: RollbackFacts['versions']): number | undefined {
  const enabled = versions.filter((v) => v.state === 'ENABLED').map((v) => v.version);
  return enabled.length ? Math.max(...enabled) : undefined;
}
