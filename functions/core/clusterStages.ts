// Cluster stages: the order in which one event reaches the configured clusters. The operator gives
// ROTOR_CLUSTERS entries a stage (`…;stage=0` for staging, `…;stage=1` for production; an entry
// without one is stage 0, so a list without stages behaves as before: every cluster at once). A
// cluster acts on an event only when every cluster of every earlier stage converged healthy on it:
// each dependent there acted on and its rollout done, or nothing to do there. A halt (or a failure
// that no retry heals) in an earlier stage holds every later one; the event then ends as a halt
// does, and a person continues it with `rotor apply` once the cause is fixed.
//
// Trust: the evidence is what a reconcile pass finds on the earlier clusters' workloads (Rotor's
// own records and the controllers' rollout status, as `rotor status` reads them). A tenant there
// can make its own workloads fail (a halt: that holds the later stages, the intended safety) or
// stop depending on the secret (then it is not part of the evidence); it cannot make another
// namespace's rollout look done, so at most it holds the later stages, never starts them early.
// Pure.
import type { LiveDecision } from './liveDecision';

/** Stages are 0..MAX_STAGE. */
export const MAX_STAGE = 9;

export interface StagedCluster {
  /** The cluster as ROTOR_CLUSTERS names it (without its stage). */
  readonly name: string;
  readonly stage: number;
}

/** What one dependent's result in a pass means for its cluster's part of the event. */
export type DependentProgress =
  /** Acted on and rolled out, or nothing to do (or nothing Rotor may do: manual, a bare Pod). */
  | { readonly state: 'done' }
  /** Still moving: a wait, a rollout in progress, a transient failure. */
  | { readonly state: 'pending'; readonly what: string }
  /** Stopped where only a person helps: a halt, a give-up, a failure no retry heals. */
  | { readonly state: 'stopped'; readonly what: string };

/** A pass's result for one dependent (the results of pipeline/outcome.ts). */
export type PassResult =
  | 'restarted'
  | 'reloaded'
  | 'recorded'
  | 'unchanged'
  | 'waiting'
  | 'skipped'
  | 'awaiting-approval'
  | 'awaiting-replacement'
  | 'failed'
  | 'gave-up'
  | 'halted'
  | 'never-synced'
  | 'dry-run';

/**
 * One dependent's state. `pendingInPass`: the pass counts it as pending (a wait, a restart whose
 * rollout it still watches, a transient failure). `label`: `Kind namespace/name`.
 */
export function dependentState(
  label: string,
  result: PassResult,
  pendingInPass: boolean,
  waitingFor: string | undefined,
): DependentProgress {
  if (pendingInPass) return { state: 'pending', what: `${label} ${pendingWhat(result, waitingFor)}` };
  switch (result) {
    case 'halted':
      return { state: 'stopped', what: `${label} halted` };
    case 'gave-up':
      return { state: 'stopped', what: `${label} gave up` };
    case 'never-synced':
      return { state: 'stopped', what: `${label} never gets the value (ESO never refreshes it)` };
    case 'failed':
      return { state: 'stopped', what: `${label} failed` };
    case 'waiting':
      // A wait the pass does not count (held by an earlier stage's halt): stopped with it.
      return { state: 'stopped', what: `${label} is held` };
    case 'restarted':
    case 'reloaded':
    case 'recorded':
    case 'unchanged':
    case 'skipped':
    case 'awaiting-approval':
    case 'awaiting-replacement':
    case 'dry-run':
      return { state: 'done' };
  }
}

function pendingWhat(result: PassResult, waitingFor: string | undefined): string {
  if (waitingFor) return `waits for ${waitingFor === 'rollout' ? 'its rollout' : waitingFor}`;
  if (result === 'restarted' || result === 'reloaded') return `was ${result}, its rollout is not done`;
  if (result === 'failed') return 'failed (transient: retried)';
  return 'is not done';
}

/** Where one cluster's part of the event stands. */
export type ClusterProgress =
  | { readonly kind: 'converged' }
  | { readonly kind: 'pending'; readonly what: string }
  | { readonly kind: 'halted'; readonly what: string };

/** A cluster's progress from its dependents' states; `unreadable`: the cluster could not be listed. */
export function clusterProgress(states: readonly DependentProgress[], unreadable?: string): ClusterProgress {
  const stopped = states.flatMap((s) => (s.state === 'stopped' ? [s.what] : []));
  if (stopped.length) return { kind: 'halted', what: listed(stopped) };
  if (unreadable !== undefined) return { kind: 'pending', what: `is not readable (${unreadable})` };
  const pending = states.flatMap((s) => (s.state === 'pending' ? [s.what] : []));
  if (pending.length) return { kind: 'pending', what: listed(pending) };
  return { kind: 'converged' };
}

export type StageGate =
  | { readonly kind: 'go' }
  /** An earlier stage is still rolling out (or was not seen yet): wait for it, within the bound. */
  | { readonly kind: 'wait'; readonly cluster: string; readonly stage: number; readonly reason: string }
  /** An earlier stage stopped: held until a person continues it (not waited for). */
  | { readonly kind: 'held'; readonly cluster: string; readonly stage: number; readonly reason: string };

/**
 * The gate of `cluster`: go when every cluster of every earlier stage converged; held when one of
 * them halted (a halt outranks a wait: it will not converge by itself); else wait, naming the
 * earliest unfinished cluster and what it waits for. A cluster whose progress is unknown counts as
 * pending: a later stage never starts on a guess. Clusters of one stage never gate each other.
 */
export function stageGate(
  cluster: StagedCluster,
  fleet: readonly StagedCluster[],
  progress: ReadonlyMap<string, ClusterProgress>,
): StageGate {
  const earlier = fleet
    .filter((c) => c.stage < cluster.stage)
    .sort((a, b) => a.stage - b.stage)
    .map((c) => ({ ...c, progress: progress.get(c.name) ?? unseen }));
  const halted = earlier.find((c) => c.progress.kind === 'halted');
  if (halted?.progress.kind === 'halted')
    return {
      kind: 'held',
      cluster: halted.name,
      stage: halted.stage,
      reason: `stage ${cluster.stage} is held by the halt in cluster ${halted.name} (stage ${halted.stage}): ${halted.progress.what}; a person continues with rotor apply`,
    };
  const waiting = earlier.find((c) => c.progress.kind === 'pending');
  if (waiting?.progress.kind === 'pending') {
    const others = earlier.filter((c) => c.progress.kind === 'pending').length - 1;
    return {
      kind: 'wait',
      cluster: waiting.name,
      stage: waiting.stage,
      reason: `stage ${cluster.stage} waits for stage ${waiting.stage}: in cluster ${waiting.name} ${waiting.progress.what}${others > 0 ? ` (and ${others} more cluster(s) of earlier stages)` : ''}`,
    };
  }
  return { kind: 'go' };
}

const unseen: ClusterProgress = { kind: 'pending', what: 'nothing was reconciled yet' };

/** How a gate applies to a decision: the bound of a stage wait counts from the event. */
export interface StageClock {
  readonly now: number;
  /** When the event happened (epoch ms); unknown: now. */
  readonly eventTime?: number;
  /** ROTOR_STAGE_MAX_WAIT_SECONDS, in ms. */
  readonly maxWaitMs: number;
}

/**
 * A decision under its cluster's stage gate. Anything that would write to the cluster (a restart,
 * a reload, a record, a forced sync) or wait for its source waits for the earlier stage instead
 * (`waitingFor: "stage"`); once the bound since the event has passed, a wait becomes a give-up
 * (reported, acked). Decisions that do nothing (none, manual, skip, a give-up) pass unchanged.
 * A held cluster's waits carry no bound: they are not waited for (the pass does not count them).
 */
export function gateByStage(decision: LiveDecision, gate: StageGate, clock: StageClock): LiveDecision {
  if (gate.kind === 'go') return decision;
  if (!['restart', 'reload', 'record', 'wait'].includes(decision.action)) return decision;
  const bound = (clock.eventTime ?? clock.now) + clock.maxWaitMs;
  if (gate.kind === 'wait' && clock.now >= bound)
    return {
      action: 'give-up',
      reason: `${decision.reason}; ${gate.reason}, and ${Math.round(clock.maxWaitMs / 1000)}s have passed since the event (ROTOR_STAGE_MAX_WAIT_SECONDS): not waited for; a person continues with rotor apply`,
      waitedMs: clock.now - (clock.eventTime ?? clock.now),
    };
  return {
    action: 'wait',
    reason: `${decision.reason}; ${gate.reason}`,
    waitingFor: 'stage',
    nudge: [],
    forceSecretSyncs: [],
    giveUpAt: gate.kind === 'wait' ? bound : Number.POSITIVE_INFINITY,
  };
}

/** The stages present, lowest first, each with its clusters in the given order. */
export function stagesInOrder<C extends StagedCluster>(clusters: readonly C[]): ReadonlyArray<readonly C[]> {
  const stages = [...new Set(clusters.map((c) => c.stage))].sort((a, b) => a - b);
  return stages.map((s) => clusters.filter((c) => c.stage === s));
}

/** Parses the value of a ROTOR_CLUSTERS entry's `stage=N`. */
export function parseStage(text: string): { ok: true; stage: number } | { ok: false; error: string } {
  if (!/^[0-9]$/.test(text))
    return { ok: false, error: `stage "${text.slice(0, 20)}" is not a whole number from 0 to ${MAX_STAGE}` };
  return { ok: true, stage: Number(text) };
}

/** At most three, then a count: one line. */
function listed(items: readonly string[]): string {
  const shown = items.slice(0, 3).join(', ');
  return items.length > 3 ? `${shown} and ${items.length - 3} more` : shown;
}
