// Messages between scripts/bench.ts and its worker processes (one for Rotor, one for the baseline).
// Each contender runs in a process of its own so that its peak RSS is its own, not the seeder's.

export type Role = 'rotor' | 'baseline';

export type ToWorker =
  | { readonly type: 'event'; readonly id: number; readonly notification: string }
  /** bundle-worker.mjs only: every notification delivered at once (`--burst`). */
  | { readonly type: 'burst'; readonly id: number; readonly notifications: readonly string[] }
  | { readonly type: 'done' };

export interface EventResult {
  readonly type: 'result';
  readonly id: number;
  /** From receiving the notification (parse included) to the end of the last action. */
  readonly ms: number;
  /** KubeApi.requestCount() delta. */
  readonly requests: number;
  readonly patches: number;
  /** `ns/name` of every Deployment restarted. */
  readonly restarted: readonly string[];
  /** Rotor only: workloads whose rotor.dev/applied was written without a restart. */
  readonly recorded: readonly string[];
  /** Rotor only: dependents left alone, by result (unchanged, waiting, failed...). */
  readonly otherResults: Readonly<Record<string, number>>;
  /** Nothing left to act on (rollouts aside: the bench's control plane runs no pods). */
  readonly converged: boolean;
  readonly error?: string;
}

export interface WorkerStats {
  readonly type: 'stats';
  /** process.resourceUsage().maxRSS, in MiB. */
  readonly peakRssMb: number;
  /** RSS once the worker had loaded its code, before the first event. */
  readonly startRssMb: number;
  readonly logLines: number;
}

/** The results of a burst, in the order of its notifications (each `id` its index). */
export interface BurstResult {
  readonly type: 'burst-result';
  readonly id: number;
  readonly results: readonly EventResult[];
}

export type FromWorker = { readonly type: 'ready' } | EventResult | BurstResult | WorkerStats;
