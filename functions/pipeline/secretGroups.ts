// The shell of one restart for related secrets (core/secretGroups.ts decides): reads what Secret
// Manager says of the secrets a workload reads with `latest` (their rotor-group marker, the
// rotation batch of their newest version, when it was created: metadata only, never a payload)
// and whether each newest version is visible where the workload reads it (the readiness evidence
// of core/readiness.ts), then applies the rule. Reads are memoized per pass.
import type { EventContext } from '../core/decision';
import type { Dependency, WorkloadDependencies } from '../core/discovery';
import type { KubeObject } from '../core/kube';
import type { LiveDecision } from '../core/liveDecision';
import { readinessCheck } from '../core/readiness';
import { recordedVersion } from '../core/appliedAlias';
import { appliedVersions } from '../core/discovery';
import type { GroupCandidate, GroupMarker, GroupPolicy } from '../core/secretGroups';
import { MAX_GROUP_MEMBERS, groupDecision, groupGate, groupMarker } from '../core/secretGroups';
import type { ProjectMap, SecretId } from '../core/secretName';
import { formatSecretId } from '../core/secretName';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import { readLastRotation } from '../rotation/rotationState';
import type { SecretMetadataReader } from '../secretmanager/types';

/** What Secret Manager says of one secret: its marker, and its newest version. */
export interface SecretFacts {
  readonly marker: GroupMarker;
  readonly newest?: { readonly version: string; readonly createdAtMs: number };
}

/** Another secret a workload reads, with the dependencies through which it reads it. */
export interface OtherSecret {
  readonly key: string;
  readonly secret: SecretId;
  readonly dependencies: readonly Dependency[];
}

/** Reads (once per pass and secret) what Secret Manager says of a secret; failures: no facts, logged. */
export function secretFactsReader(
  sm: SecretMetadataReader,
  log: Logger,
): (id: SecretId) => Promise<SecretFacts | undefined> {
  const cache = new Map<string, Promise<SecretFacts | undefined>>();
  return (id) => {
    const key = formatSecretId(id);
    let p = cache.get(key);
    if (!p) {
      p = readFacts(sm, id).catch((e: unknown) => {
        // Not knowing a secret's group only costs the coalescing: the restart goes ahead as decided.
        // One line per secret and reader (a delivery, a CLI run): the event's own secret is read
        // first, and unread it ends the group rule, so a caller that cannot read Secret Manager at
        // all (a CLI without credentials) sees this line once.
        log.warn(
          `${key}: Secret Manager could not be read (${errorMessage(e)}), so restarts are not grouped with it (rotor-group, rotation batch): a workload reading it and another secret rotated with it may restart once per secret`,
        );
        return undefined;
      });
      cache.set(key, p);
    }
    return p;
  };
}

/** ReconcileConfig's groups and secretFacts: the fields one delivery or CLI run sets alike. */
export interface GroupSettings {
  readonly groups: GroupPolicy;
  readonly secretFacts: (id: SecretId) => Promise<SecretFacts | undefined>;
}

/**
 * The group rule for one delivery (onSecretEvent, onClusterEvent) or one `rotor apply` run, so
 * both decide groups alike: the policy (config.ts) and one reader of Secret Manager's metadata,
 * shared by every pass and cluster of the run. With the rule off (ROTOR_GROUP_WAIT_SECONDS=0)
 * withinGroup returns before reading anything.
 */
export function groupSettings(policy: GroupPolicy, sm: SecretMetadataReader, log: Logger): GroupSettings {
  return { groups: policy, secretFacts: secretFactsReader(sm, log) };
}

async function readFacts(sm: SecretMetadataReader, id: SecretId): Promise<SecretFacts> {
  const [secret, newest] = await Promise.all([sm.getSecret(id), sm.getVersion(id, 'latest')]);
  const last = readLastRotation(secret.annotations);
  // The batch counts only for the version that batch created.
  const batch = last && last.version === newest.version ? last.trigger : undefined;
  return {
    marker: groupMarker(secret.labels, secret.annotations, batch),
    newest: { version: String(newest.version), createdAtMs: newest.createTime.getTime() },
  };
}

export interface GroupEnv {
  readonly ctx: EventContext;
  readonly secretKey: string;
  readonly projects: ProjectMap;
  readonly policy: GroupPolicy;
  readonly facts: (id: SecretId) => Promise<SecretFacts | undefined>;
  /** The other secrets the workload reads (discovery over the workload alone). */
  readonly others: (wd: WorkloadDependencies) => readonly OtherSecret[];
  readonly externalSecrets: ReadonlyMap<string, KubeObject>;
  readonly secretSyncs: ReadonlyMap<string, KubeObject>;
  readonly podStatuses: (namespace: string) => Promise<KubeObject[]>;
  readonly now: number;
  readonly csiRotationIntervalMs?: number;
}

/** The decision with the group applied: a restart of a new version waits for the others of its group. */
export async function withinGroup(
  wd: WorkloadDependencies,
  decision: LiveDecision,
  env: GroupEnv,
): Promise<LiveDecision> {
  const { policy } = env;
  if (decision.action !== 'restart' || policy.maxWaitMs === 0) return decision;
  const eventTime = Date.parse(env.ctx.time ?? '');
  if (env.ctx.type !== 'SECRET_VERSION_ADD' || !Number.isFinite(eventTime)) return decision;
  const others = env
    .others(wd)
    .filter((o) => o.key !== env.secretKey && o.dependencies.some((d) => d.version === 'latest'))
    .slice(0, MAX_GROUP_MEMBERS);
  if (others.length === 0) return decision;
  const own = await env.facts(env.ctx.secret);
  if (!own || (own.marker.group === undefined && own.marker.batch === undefined)) return decision;
  // The batch of the event's own secret is the one that created the event's version.
  const marker: GroupMarker =
    own.newest?.version === env.ctx.version
      ? own.marker
      : { ...(own.marker.group ? { group: own.marker.group } : {}) };
  const candidates = await Promise.all(others.map((o) => candidate(wd, o, env)));
  const gate = groupGate({
    event: { secretKey: env.secretKey, marker, timeMs: eventTime },
    candidates: candidates.filter((c): c is GroupCandidate => c !== undefined),
    policy,
    now: env.now,
  });
  return groupDecision(decision, gate, policy);
}

/** One other secret as the rule sees it: its marker, newest version, and whether the workload sees it. */
async function candidate(
  wd: WorkloadDependencies,
  other: OtherSecret,
  env: GroupEnv,
): Promise<GroupCandidate | undefined> {
  const facts = await env.facts(other.secret);
  if (!facts?.newest) return undefined;
  const latest = other.dependencies.filter((d) => d.version === 'latest');
  const needsMounts = latest.some((d) => d.source.kind === 'csi-sync');
  const check = readinessCheck(
    {
      externalSecrets: env.externalSecrets,
      secretSyncs: env.secretSyncs,
      spcPodStatuses: needsMounts ? await env.podStatuses(wd.ref.namespace) : [],
      readyPods: [],
    },
    {
      eventTime: new Date(facts.newest.createdAtMs).toISOString(),
      projects: env.projects,
      now: env.now,
      ...(env.csiRotationIntervalMs !== undefined
        ? { csiRotationIntervalMs: env.csiRotationIntervalMs }
        : {}),
    },
  );
  const notReady = latest
    .map((d) => check(d, 'restart', facts.newest?.version ?? ''))
    .find((r) => r !== undefined && !r.ready);
  const applied = recordedVersion(appliedVersions(wd.object)[other.key]);
  return {
    secretKey: other.key,
    marker: facts.marker,
    newest: facts.newest,
    ...(applied !== undefined ? { applied } : {}),
    visible: notReady === undefined,
    detail: notReady?.detail ?? `${other.key} version ${facts.newest.version} is visible`,
  };
}
