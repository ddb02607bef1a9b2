// The storm scenario's figures (./storm.ts), computed from what the scenario recorded: pure, so
// the arithmetic and the "only waves 1–2 were touched" check are unit-tested with hand values.

/** One restart Rotor sent (a PATCH of the restart marker), as seen at the Kubernetes client. */
export interface RecordedRestart {
  readonly name: string;
  /** The workload's `rotor.dev/wave` (the scenario numbers its waves 1..4). */
  readonly wave: number;
  /** Milliseconds since the event (the first delivery's start). */
  readonly atMs: number;
}

export interface HaltFigures {
  /** From the event to the delivery that returned the `halted` outcome. */
  readonly timeToHaltMs: number;
  readonly restartedBeforeHalt: number;
  /** Restarts per wave, e.g. { "1": 50, "2": 12 }. */
  readonly restartedByWave: Record<string, number>;
  /** True when every restart was in a wave at or before the crashlooping workload's wave. */
  readonly onlyWavesUpToFailed: boolean;
  /** The same workload restarted twice (must be 0). */
  readonly duplicateRestarts: number;
}

export function haltFigures(
  restarts: readonly RecordedRestart[],
  haltedAtMs: number,
  failedWave: number,
): HaltFigures {
  const before = restarts.filter((r) => r.atMs <= haltedAtMs);
  const restartedByWave: Record<string, number> = {};
  for (const r of before) restartedByWave[String(r.wave)] = (restartedByWave[String(r.wave)] ?? 0) + 1;
  return {
    timeToHaltMs: haltedAtMs,
    restartedBeforeHalt: before.length,
    restartedByWave,
    onlyWavesUpToFailed: restarts.every((r) => r.wave <= failedWave),
    duplicateRestarts: restarts.length - new Set(restarts.map((r) => r.name)).size,
  };
}

/** Milliseconds from the event at which wave `wave`'s last restart was sent, or null if none was. */
export function lastRestartOfWave(restarts: readonly RecordedRestart[], wave: number): number | null {
  const times = restarts.filter((r) => r.wave === wave).map((r) => r.atMs);
  return times.length === 0 ? null : Math.max(...times);
}

/** What the bench reads of a Deployment to tell it Available (one replica, all on the current revision). */
export interface DeploymentRollout {
  readonly metadata: { readonly generation?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly updatedReplicas?: number;
    readonly availableReplicas?: number;
  };
}

/** The storm's one-replica Deployment has rolled out its current template and that replica is available. */
export function isAvailable(d: DeploymentRollout): boolean {
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    s.updatedReplicas === 1 &&
    s.availableReplicas === 1 &&
    s.replicas === 1
  );
}

/** The bench's own budget for the event under a floor: this much per step is ample (600 dependents: 6.5 s). */
export const EVENT_MS_PER_STEP = 30_000;
export const EVENT_MIN_MS = 20 * 60_000;

/**
 * How long the bench lets one event run before it calls it stuck: scaled with the event's steps
 * (dependents / wave size, rounded up) so that a healthy large event (2 000 dependents in steps of
 * 10: 200 steps) is never cut off by the bench itself, never less than EVENT_MIN_MS.
 */
export function eventBudgetMs(dependents: number, waveSize: number): number {
  const steps = Math.ceil(dependents / Math.max(1, waveSize));
  return Math.max(EVENT_MIN_MS, steps * EVENT_MS_PER_STEP);
}

/** One pass of Rotor's loop as it logs it (functions/pipeline/converge.ts PassFigures). */
export interface LoggedPass {
  readonly woke: string;
  readonly waitedMs: number;
  readonly ignored: number;
  readonly passMs: number;
  readonly reportMs: number;
  readonly reported: boolean;
}

export interface PassSummary {
  readonly passes: number;
  /** What ended the wait before each pass: 'start' (a delivery's first), 'changed', 'deadline'. */
  readonly wokenBy: Record<string, number>;
  /** Watch events read past without waking a pass. */
  readonly eventsIgnored: number;
  readonly reports: number;
  readonly passMs: { readonly p50: number; readonly max: number; readonly total: number };
  readonly reportMsTotal: number;
  readonly waitedMsTotal: number;
}

/** The passes of one event, summed up. */
export function passSummary(passes: readonly LoggedPass[]): PassSummary {
  const wokenBy: Record<string, number> = {};
  for (const p of passes) wokenBy[p.woke] = (wokenBy[p.woke] ?? 0) + 1;
  const ms = passes.map((p) => p.passMs).sort((a, b) => a - b);
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  return {
    passes: passes.length,
    wokenBy,
    eventsIgnored: sum(passes.map((p) => p.ignored)),
    reports: passes.filter((p) => p.reported).length,
    passMs: { p50: ms[Math.floor((ms.length - 1) / 2)] ?? 0, max: ms[ms.length - 1] ?? 0, total: sum(ms) },
    reportMsTotal: sum(passes.map((p) => p.reportMs)),
    waitedMsTotal: sum(passes.map((p) => p.waitedMs)),
  };
}
