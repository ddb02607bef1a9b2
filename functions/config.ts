// Configuration from environment variables (documented in docs/configuration.md), read and validated here
// for both functions and the CLI, so a setting has one meaning and one default everywhere. The
// shared value parsers are in envValues.ts; rotateSecret's own settings in rotation/settings.ts.
import { InputError } from './errors';
import { envBool, envDefaultProject } from './envValues';
import type { Severity } from './log';
import { SEVERITIES } from './log';
import type { ClusterSpec } from './cluster/clusterSpec';
import { parseClusterList } from './cluster/clusterSpec';
import type { NamespaceFilter } from './cluster/namespaces';
import { parseNamespaceList } from './cluster/namespaces';
import { ProjectMap } from './core/secretName';
import type { FanOutSetting } from './core/fanOut';
import type { LoopSettings } from './core/converge';
import type { WindowPolicy } from './core/restartGate';
import type { GroupPolicy } from './core/secretGroups';
import type { RestartWindow } from './core/restartWindows';
import { parseRestartWindows } from './core/restartWindows';
import type { HaltPolicy } from './core/rollback';
import { DEFAULT_HALT_POLICY, parseHaltPolicy } from './core/rollback';
import { DEFAULT_KUBELET_SYNC_SECONDS } from './core/kubeletProjection';

export interface RotorConfig {
  readonly clusters: ClusterSpec[];
  readonly gkeEndpoint: 'ip' | 'dns';
  readonly namespaces: NamespaceFilter;
  readonly dryRun: boolean;
  readonly projects: ProjectMap;
  readonly defaultProject?: string;
  /** `projects/P/topics/T`; unset: outcomes are only logged. */
  readonly outcomeTopic?: string;
  /**
   * ROTOR_EVENT_TOPIC: the topic onSecretEvent's notifications arrive on. A delivery that made
   * progress and still has work publishes the event's continuation there (core/converge.ts),
   * carrying the wait clock (rotorWaitSince) that bounds every wait by ROTOR_MAX_WAIT_SECONDS;
   * unset: it throws instead, Pub/Sub redelivers, and each redelivery measures its waits from its
   * own start (a wait that never ends is then bounded by the subscription's attempts). Terraform
   * always sets it.
   */
  readonly eventTopic?: string;
  /** ROTOR_FANOUT_TOPIC / ROTOR_FANOUT_MIN_CLUSTERS: when an event goes out as one message per cluster. */
  readonly fanOut: FanOutSetting;
  readonly maxWaitMs: number;
  /**
   * ROTOR_STAGE_MAX_WAIT_SECONDS (default a day): how long after the event a cluster of a later
   * stage (ROTOR_CLUSTERS entries' `;stage=N`, core/clusterStages.ts) waits for the earlier stages
   * to converge; then its dependents are reported gave-up (acked), not waited for. A halt in an
   * earlier stage is not waited for at all: it holds the later stages until a person continues.
   */
  readonly stageMaxWaitMs: number;
  readonly concurrency: number;
  readonly clusterConcurrency: number;
  readonly reload: { retries: number; backoffMs: number };
  readonly waves: WaveSettings;
  readonly loop: LoopSettings;
  readonly windows: WindowPolicy;
  readonly groups: GroupPolicy;
  /**
   * ROTOR_ON_HALT: what a halted event does (core/rollback.ts). `hold` (default): it stays halted
   * for a person. `rollback`: it asks rotateSecret, on ROTOR_ROTATION_TOPIC, to restore the value
   * before the halted version as a new version, and the workloads that applied the bad one roll
   * forward onto it. A secret's `rotor-on-halt` annotation or label (operator-set) overrides it.
   */
  readonly onHalt: HaltPolicy;
  /**
   * ROTOR_ROTATION_TOPIC: the topic rotateSecret reads (`projects/P/topics/T`, or a short name in
   * ROTOR_DEFAULT_PROJECT), where a halt under the rollback policy publishes its request. Unset:
   * no rollback is ever requested (a halt says why).
   */
  readonly rotationTopic?: string;
  readonly csiRotationIntervalMs: number;
  readonly kubeletSyncMs: number;
  readonly apis: { gke?: string; connectGateway?: string; resourceManager?: string };
  readonly logLevel: Severity;
}

/** How Rotor acts on workloads: the same defaults for onSecretEvent and `rotor apply`. */
export interface ActingSettings {
  readonly concurrency: number;
  /**
   * Clusters reconciled at once for one event. Each holds its dependents and one page of lists,
   * so memory grows with this, not with the number of clusters.
   */
  readonly clusterConcurrency: number;
  readonly reload: { retries: number; backoffMs: number };
  /**
   * ROTOR_CSI_ROTATION_INTERVAL_SECONDS: the CSI driver's rotation interval. Where a workload's
   * pods have no SecretProviderClassPodStatus, a reload waits this long after the event. Default
   * GKE's documented default for the Secret Manager add-on's rotation interval: 2 minutes.
   */
  readonly csiRotationIntervalMs: number;
  /**
   * ROTOR_KUBELET_SYNC_SECONDS: the kubelet's sync period (its syncFrequency). A running pod sees
   * a changed Secret in its volume only on its kubelet's next sync, up to 1.5 × this later, so a
   * reload of a synced Secret read as a volume waits that (plus 5 s) after the sync
   * (core/kubeletProjection.ts). Default the kubelet's and GKE's 1 minute; at most 600.
   */
  readonly kubeletSyncMs: number;
  readonly waves: WaveSettings;
  /**
   * The in-delivery loop (core/converge.ts). ROTOR_DELIVERY_BUDGET_SECONDS: how long one delivery
   * keeps reconciling (waiting for a change, then acting on the next step) before it continues the
   * event in a new delivery; it must end safely inside the function's timeout, which only the
   * deployment knows, so Terraform sets it from the timeout (terraform/modules/rotor/budget.tf) and
   * unset it is 0: one pass per delivery. ROTOR_DELIVERY_POLL_SECONDS: the longest wait between
   * passes when no watched object changes (what no watch shows: a crash loop's pods, a transient
   * failure).
   */
  readonly loop: LoopSettings;
  /**
   * Maintenance windows (core/restartGate.ts). ROTOR_RESTART_WINDOWS: when restarts may happen,
   * e.g. `Mon-Fri 02:00-05:00 Europe/Berlin; Sat 00:00-24:00 UTC` (unset: at any time).
   * ROTOR_WORKLOAD_RESTART_WINDOWS: a JSON object `{"NAMESPACE/Kind/NAME": "windows"}` overriding
   * them per workload (a Namespace's rotor.dev/restart-windows annotation overrides them per
   * namespace). ROTOR_RELOAD_OUTSIDE_WINDOWS=true: reloads need no window.
   * ROTOR_WINDOW_MAX_WAIT_SECONDS (default a week): a window opening later than this after the
   * event is reported (gave-up, acked), not waited for.
   */
  readonly windows: WindowPolicy;
  /**
   * One restart for related secrets (core/secretGroups.ts): secrets of one rotateSecret batch, or
   * sharing the Secret Manager label (or annotation) `rotor-group`, restart a workload reading
   * several of them once all are visible. ROTOR_GROUP_WINDOW_SECONDS (default 300): versions
   * created this close to the event's count as rotated with it. ROTOR_GROUP_WAIT_SECONDS (default
   * 600): a restart waits at most this long after the event for them, then restarts and says which
   * it gave up on; 0 turns groups off (no Secret Manager metadata is read for them).
   */
  readonly groups: GroupPolicy;
}

/** Two passes start at least this far apart: a burst of status changes costs one pass. */
export const MIN_PASS_INTERVAL_MS = 1_000;

/**
 * Beyond its budget, how long a delivery may still take to report what it did: its last pass, the
 * report, then its timeout (at most the budget plus max(30 s, timeout / 5) = 108 s at 540 s).
 */
export const REPORT_LEASE_MARGIN_MS = 120_000;

/** Pacing and the brake (core/waves.ts): workloads of a wave in flight at once; the rollout bound. */
export interface WaveSettings {
  /** ROTOR_WAVE_SIZE: at most this many workloads of a wave acted on and not yet rolled out. */
  readonly size: number;
  /** ROTOR_ROLLOUT_TIMEOUT_SECONDS: not Available this long after Rotor's restart halts its namespace. */
  readonly rolloutTimeoutMs: number;
  /**
   * ROTOR_CANARY_NAMESPACES (comma list, `*` globs): namespaces whose waves order every namespace
   * and whose failed rollout halts the whole event. Elsewhere a wave orders, and a failure halts,
   * only its own namespace: `rotor.dev/wave` is tenant input, this setting is the operator's.
   */
  readonly canaryNamespaces?: readonly string[];
}

export const GKE_DEFAULT_CSI_ROTATION_INTERVAL_SECONDS = 120;

/**
 * ROTOR_FANOUT_MIN_CLUSTERS' default: fan out from this many clusters on. Measured with
 * `npm run bench -- --clusters N` (docs/deploy.md, "Fleets beyond one instance"): one delivery's
 * time grows by about one cluster's reconcile per cluster (ROTOR_CLUSTER_CONCURRENCY only overlaps
 * their I/O on one vCPU), and each redelivery of a waiting event lists every cluster again.
 */
export const DEFAULT_FANOUT_MIN_CLUSTERS = 8;

export function actingSettings(env: NodeJS.ProcessEnv = process.env): ActingSettings {
  return {
    concurrency: int(env.ROTOR_CONCURRENCY, 'ROTOR_CONCURRENCY', 8, 1),
    clusterConcurrency: int(env.ROTOR_CLUSTER_CONCURRENCY, 'ROTOR_CLUSTER_CONCURRENCY', 2, 1),
    reload: {
      retries: int(env.ROTOR_RELOAD_RETRIES, 'ROTOR_RELOAD_RETRIES', 3, 0),
      backoffMs: int(env.ROTOR_RELOAD_BACKOFF_MS, 'ROTOR_RELOAD_BACKOFF_MS', 500, 0),
    },
    waves: {
      size: int(env.ROTOR_WAVE_SIZE, 'ROTOR_WAVE_SIZE', 10, 1),
      rolloutTimeoutMs:
        int(env.ROTOR_ROLLOUT_TIMEOUT_SECONDS, 'ROTOR_ROLLOUT_TIMEOUT_SECONDS', 600, 1) * 1000,
      ...canaryNamespaces(env),
    },
    loop: {
      budgetMs: int(env.ROTOR_DELIVERY_BUDGET_SECONDS, 'ROTOR_DELIVERY_BUDGET_SECONDS', 0, 0) * 1000,
      pollMs: int(env.ROTOR_DELIVERY_POLL_SECONDS, 'ROTOR_DELIVERY_POLL_SECONDS', 5, 1) * 1000,
      minIntervalMs: MIN_PASS_INTERVAL_MS,
      reportLeaseMs:
        int(env.ROTOR_DELIVERY_BUDGET_SECONDS, 'ROTOR_DELIVERY_BUDGET_SECONDS', 0, 0) * 1000 +
        REPORT_LEASE_MARGIN_MS,
    },
    windows: windowPolicy(env),
    groups: {
      windowMs: int(env.ROTOR_GROUP_WINDOW_SECONDS, 'ROTOR_GROUP_WINDOW_SECONDS', 300, 1) * 1000,
      maxWaitMs: int(env.ROTOR_GROUP_WAIT_SECONDS, 'ROTOR_GROUP_WAIT_SECONDS', 600, 0) * 1000,
    },
    csiRotationIntervalMs:
      int(
        env.ROTOR_CSI_ROTATION_INTERVAL_SECONDS,
        'ROTOR_CSI_ROTATION_INTERVAL_SECONDS',
        GKE_DEFAULT_CSI_ROTATION_INTERVAL_SECONDS,
        1,
      ) * 1000,
    kubeletSyncMs: kubeletSyncSeconds(env) * 1000,
  };
}

/** A kubelet syncs pods every minute by default; beyond 10 minutes a reload would wait longer than is sane. */
const MAX_KUBELET_SYNC_SECONDS = 600;

function kubeletSyncSeconds(env: NodeJS.ProcessEnv): number {
  const name = 'ROTOR_KUBELET_SYNC_SECONDS';
  const seconds = int(env.ROTOR_KUBELET_SYNC_SECONDS, name, DEFAULT_KUBELET_SYNC_SECONDS, 1);
  if (seconds > MAX_KUBELET_SYNC_SECONDS)
    throw new InputError(`${name}="${seconds}" is more than ${MAX_KUBELET_SYNC_SECONDS}`);
  return seconds;
}

/** Bounds on ROTOR_WORKLOAD_RESTART_WINDOWS (configuration is outside input too). */
const MAX_WORKLOAD_WINDOWS_TEXT = 64 * 1024;
const MAX_WORKLOAD_WINDOWS = 1000;
const WEEK_SECONDS = 7 * 24 * 3600;
const DAY_SECONDS = 24 * 3600;

/** The maintenance windows, validated at start: a mistake stops the function with a clear error. */
export function windowPolicy(env: NodeJS.ProcessEnv = process.env): WindowPolicy {
  return {
    cluster: windowsSetting(env.ROTOR_RESTART_WINDOWS ?? '', 'ROTOR_RESTART_WINDOWS'),
    byWorkload: workloadWindows(env.ROTOR_WORKLOAD_RESTART_WINDOWS),
    reloadOutsideWindows: envBool(env.ROTOR_RELOAD_OUTSIDE_WINDOWS, 'ROTOR_RELOAD_OUTSIDE_WINDOWS'),
    maxWaitMs:
      int(env.ROTOR_WINDOW_MAX_WAIT_SECONDS, 'ROTOR_WINDOW_MAX_WAIT_SECONDS', WEEK_SECONDS, 1) * 1000,
  };
}

function windowsSetting(text: string, name: string): readonly RestartWindow[] {
  const parsed = parseRestartWindows(text.trim());
  if (!parsed.ok) throw new InputError(`${name}: ${parsed.error}`);
  return parsed.windows;
}

/** ROTOR_WORKLOAD_RESTART_WINDOWS: `{"NAMESPACE/Kind/NAME": "windows", ...}`. */
function workloadWindows(raw: string | undefined): ReadonlyMap<string, readonly RestartWindow[]> {
  const name = 'ROTOR_WORKLOAD_RESTART_WINDOWS';
  if (raw === undefined || raw.trim() === '') return new Map();
  if (raw.length > MAX_WORKLOAD_WINDOWS_TEXT)
    throw new InputError(`${name}: ${raw.length} characters, at most ${MAX_WORKLOAD_WINDOWS_TEXT}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InputError(`${name} is not JSON: give {"NAMESPACE/Kind/NAME": "Mon-Fri 02:00-05:00 UTC"}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InputError(`${name} must be a JSON object {"NAMESPACE/Kind/NAME": "windows"}`);
  const entries = Object.entries(parsed);
  if (entries.length > MAX_WORKLOAD_WINDOWS)
    throw new InputError(`${name}: ${entries.length} workloads, at most ${MAX_WORKLOAD_WINDOWS}`);
  return new Map(
    entries.map(([key, text]) => {
      if (!/^[a-z0-9-]+\/[A-Za-z]+\/[a-z0-9.-]+$/.test(key))
        throw new InputError(
          `${name}: "${key.slice(0, 80)}" is not NAMESPACE/Kind/NAME (e.g. payments/Deployment/api)`,
        );
      if (typeof text !== 'string') throw new InputError(`${name}: the windows of ${key} must be a string`);
      return [key, windowsSetting(text, `${name} for ${key}`)];
    }),
  );
}

/** ROTOR_CANARY_NAMESPACES, when set. */
function canaryNamespaces(env: NodeJS.ProcessEnv): { canaryNamespaces?: readonly string[] } {
  const list = parseNamespaceList(env.ROTOR_CANARY_NAMESPACES);
  return list.length ? { canaryNamespaces: list } : {};
}

/** ROTOR_LOG_LEVEL: the minimum severity logged (DEBUG…ERROR, any case); unset: `fallback`. */
export function logLevel(env: NodeJS.ProcessEnv = process.env, fallback: Severity = 'INFO'): Severity {
  const v = env.ROTOR_LOG_LEVEL?.trim().toUpperCase();
  if (!v) return fallback;
  const level = SEVERITIES.find((s) => s === v || (v === 'WARN' && s === 'WARNING'));
  if (!level)
    throw new InputError(`ROTOR_LOG_LEVEL="${env.ROTOR_LOG_LEVEL}" is not one of ${SEVERITIES.join(', ')}`);
  return level;
}

/** The project short secret names resolve against (the CLI's --project overrides it). */
export { envDefaultProject };

/** ROTOR_SECRET_MANAGER_ENDPOINT: `host:port` of a Secret Manager emulator or stand-in. */
export function secretManagerEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ROTOR_SECRET_MANAGER_ENDPOINT?.trim() || undefined;
}

/** A topic setting: `projects/P/topics/T`, or a short name in ROTOR_DEFAULT_PROJECT. */
function topicName(
  v: string | undefined,
  name: string,
  defaultProject: string | undefined,
): string | undefined {
  const t = v?.trim();
  if (!t) return undefined;
  if (t.startsWith('projects/')) {
    if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(t))
      throw new InputError(`${name}="${v}" is not projects/P/topics/T`);
    return t;
  }
  if (t.includes('/'))
    throw new InputError(`${name}="${v}" is not projects/P/topics/T or a short topic name`);
  if (!defaultProject)
    throw new InputError(
      `${name}="${v}" is a short name: give projects/P/topics/T or set ROTOR_DEFAULT_PROJECT`,
    );
  return `projects/${defaultProject}/topics/${t}`;
}

/** ROTOR_FANOUT_TOPIC and ROTOR_FANOUT_MIN_CLUSTERS. */
function fanOutSetting(env: NodeJS.ProcessEnv, defaultProject: string | undefined): FanOutSetting {
  const topic = topicName(env.ROTOR_FANOUT_TOPIC, 'ROTOR_FANOUT_TOPIC', defaultProject);
  const min = env.ROTOR_FANOUT_MIN_CLUSTERS;
  if (!topic) {
    // A threshold alone does nothing: say so rather than let the operator believe it fans out.
    if (min !== undefined && min !== '')
      throw new InputError(
        `ROTOR_FANOUT_MIN_CLUSTERS="${min}" needs ROTOR_FANOUT_TOPIC (the topic onClusterEvent reads)`,
      );
    return { kind: 'off' };
  }
  return {
    kind: 'on',
    topic,
    minClusters: int(min, 'ROTOR_FANOUT_MIN_CLUSTERS', DEFAULT_FANOUT_MIN_CLUSTERS, 1),
  };
}

/** ROTOR_ON_HALT: hold (default) or rollback. */
function haltPolicy(v: string | undefined): HaltPolicy {
  if (v === undefined || v.trim() === '') return DEFAULT_HALT_POLICY;
  const parsed = parseHaltPolicy(v, 'ROTOR_ON_HALT');
  if (!parsed.ok) throw new InputError(parsed.error);
  return parsed.value;
}

function int(v: string | undefined, name: string, fallback: number, min: number): number {
  if (v === undefined || v === '') return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) < min)
    throw new InputError(`${name}="${v}" is not a whole number >= ${min}`);
  return Number(v);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RotorConfig {
  const endpoint = env.ROTOR_GKE_ENDPOINT ?? 'ip';
  if (endpoint !== 'ip' && endpoint !== 'dns')
    throw new InputError(`ROTOR_GKE_ENDPOINT="${endpoint}" must be ip or dns`);
  const defaultProject = envDefaultProject(env);
  const outcomeTopic = topicName(env.ROTOR_OUTCOME_TOPIC, 'ROTOR_OUTCOME_TOPIC', defaultProject);
  const eventTopic = topicName(env.ROTOR_EVENT_TOPIC, 'ROTOR_EVENT_TOPIC', defaultProject);
  const rotationTopic = topicName(env.ROTOR_ROTATION_TOPIC, 'ROTOR_ROTATION_TOPIC', defaultProject);
  const onHalt = haltPolicy(env.ROTOR_ON_HALT);
  if (onHalt === 'rollback' && !rotationTopic)
    throw new InputError(
      'ROTOR_ON_HALT=rollback needs ROTOR_ROTATION_TOPIC: the rollback is asked of rotateSecret on its topic',
    );
  const allow = parseNamespaceList(env.ROTOR_NAMESPACES);
  const deny = parseNamespaceList(env.ROTOR_EXCLUDE_NAMESPACES);
  const maxWaitMs = int(env.ROTOR_MAX_WAIT_SECONDS, 'ROTOR_MAX_WAIT_SECONDS', 1800, 1) * 1000;
  const acting = actingSettings(env);
  return {
    clusters: parseClusterList(env.ROTOR_CLUSTERS),
    gkeEndpoint: endpoint,
    namespaces: { ...(allow.length ? { allow } : {}), ...(deny.length ? { deny } : {}) },
    dryRun: envBool(env.ROTOR_DRY_RUN, 'ROTOR_DRY_RUN'),
    projects: ProjectMap.parse(env.ROTOR_PROJECT_MAP),
    ...(defaultProject ? { defaultProject } : {}),
    ...(outcomeTopic ? { outcomeTopic } : {}),
    ...(eventTopic ? { eventTopic } : {}),
    onHalt,
    ...(rotationTopic ? { rotationTopic } : {}),
    fanOut: fanOutSetting(env, defaultProject),
    maxWaitMs,
    stageMaxWaitMs:
      int(env.ROTOR_STAGE_MAX_WAIT_SECONDS, 'ROTOR_STAGE_MAX_WAIT_SECONDS', DAY_SECONDS, 1) * 1000,
    ...acting,
    logLevel: logLevel(env),
    apis: {
      ...(env.ROTOR_GKE_API ? { gke: env.ROTOR_GKE_API } : {}),
      ...(env.ROTOR_CONNECT_GATEWAY_API ? { connectGateway: env.ROTOR_CONNECT_GATEWAY_API } : {}),
      ...(env.ROTOR_RESOURCE_MANAGER_API ? { resourceManager: env.ROTOR_RESOURCE_MANAGER_API } : {}),
    },
  };
}
