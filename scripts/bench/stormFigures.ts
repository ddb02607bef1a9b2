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
