// Maintenance windows applied to a decision: a restart (or a reload, unless the operator allows
// reloads at any time) outside its window waits for the window (`waitingFor: "window"`), and one
// whose window opens later than the event's bound is reported instead of waited for. Which windows
// apply is operator configuration only: a workload's entry in ROTOR_WORKLOAD_RESTART_WINDOWS, else
// its Namespace's rotor.dev/restart-windows annotation (namespaces are cluster-scoped: tenants
// cannot write them), else ROTOR_RESTART_WINDOWS. Pure: the clock is an argument.
import type { WorkloadRef } from './kube';
import type { LiveDecision } from './liveDecision';
import type { RestartWindow } from './restartWindows';
import { parseRestartWindows, windowVerdict } from './restartWindows';

/** The operator's windows (functions/config.ts). */
export interface WindowPolicy {
  /** ROTOR_RESTART_WINDOWS: every workload's, unless overridden; empty: restarts at any time. */
  readonly cluster: readonly RestartWindow[];
  /** ROTOR_WORKLOAD_RESTART_WINDOWS, by workloadWindowKey. An empty list: at any time. */
  readonly byWorkload: ReadonlyMap<string, readonly RestartWindow[]>;
  /** ROTOR_RELOAD_OUTSIDE_WINDOWS: reloads (which restart no pod) need no window. */
  readonly reloadOutsideWindows: boolean;
  /** ROTOR_WINDOW_MAX_WAIT_SECONDS: a window opening later than this after the event is reported, not waited for. */
  readonly maxWaitMs: number;
}

/** The windows that apply to one workload, and where they come from (for reasons). */
export interface ApplicableWindows {
  readonly windows: readonly RestartWindow[];
  readonly from: string;
  /** The namespace's annotation could not be parsed: the cluster-wide windows apply instead. */
  readonly warning?: string;
}

/** `namespace/Kind/name`: the key of ROTOR_WORKLOAD_RESTART_WINDOWS. */
export function workloadWindowKey(ref: Pick<WorkloadRef, 'namespace' | 'kind' | 'name'>): string {
  return `${ref.namespace}/${ref.kind}/${ref.name}`;
}

/** The windows for a workload: its own entry, its namespace's annotation, or the cluster-wide ones. */
export function windowsFor(
  policy: WindowPolicy,
  ref: Pick<WorkloadRef, 'namespace' | 'kind' | 'name'>,
  namespaceAnnotation: string | undefined,
): ApplicableWindows {
  const key = workloadWindowKey(ref);
  const own = policy.byWorkload.get(key);
  if (own) return { windows: own, from: `ROTOR_WORKLOAD_RESTART_WINDOWS for ${key}` };
  const cluster = { windows: policy.cluster, from: 'ROTOR_RESTART_WINDOWS' };
  if (namespaceAnnotation === undefined) return cluster;
  const parsed = parseRestartWindows(namespaceAnnotation);
  if (!parsed.ok)
    return {
      ...cluster,
      warning: `namespace ${ref.namespace}: rotor.dev/restart-windows ignored (${parsed.error}); ROTOR_RESTART_WINDOWS applies`,
    };
  return { windows: parsed.windows, from: `namespace ${ref.namespace}'s rotor.dev/restart-windows` };
}

/** What the windows make of an action that would restart or reload pods now. */
export type RestartGate =
  | { readonly kind: 'act' }
  /** Outside every window: wait until `opensAt` (epoch ms). */
  | { readonly kind: 'wait'; readonly opensAtMs: number; readonly reason: string }
  /** The next window opens after the event's bound: reported, acked, never waited for. */
  | { readonly kind: 'beyond-bound'; readonly opensAtMs: number; readonly reason: string };

export interface GateInputs {
  readonly action: 'restart' | 'reload';
  readonly applicable: ApplicableWindows;
  readonly policy: WindowPolicy;
  readonly now: number;
  /** When the event happened (epoch ms); unknown: now. The bound counts from it. */
  readonly eventTime?: number;
}

/** Whether the action may happen now, waits for its window, or is reported as too far away. */
export function restartGate(input: GateInputs): RestartGate {
  if (input.action === 'reload' && input.policy.reloadOutsideWindows) return { kind: 'act' };
  const verdict = windowVerdict(input.applicable.windows, input.now);
  if (verdict.kind !== 'closed') return { kind: 'act' };
  const opensAtMs = Date.parse(verdict.opensAt);
  const what = input.action === 'restart' ? 'the restart' : 'the reload';
  const where = `${input.applicable.from} (${verdict.window})`;
  const bound = (input.eventTime ?? input.now) + input.policy.maxWaitMs;
  if (opensAtMs > bound)
    return {
      kind: 'beyond-bound',
      opensAtMs,
      reason: `outside its maintenance window: ${where} opens at ${verdict.opensAt}, later than ${Math.round(input.policy.maxWaitMs / 1000)}s after the event (ROTOR_WINDOW_MAX_WAIT_SECONDS); not waited for: run rotor apply inside the window`,
    };
  return {
    kind: 'wait',
    opensAtMs,
    reason: `outside its maintenance window: ${what} waits for ${where}, which opens at ${verdict.opensAt}`,
  };
}

/**
 * A live decision with the windows applied: a restart or reload outside its window becomes a wait
 * for the window (or a give-up reported when the window is beyond the bound); a reload allowed
 * outside windows keeps its ping but no longer falls back to a restart outside one.
 */
export function gateDecision(
  decision: LiveDecision,
  applicable: ApplicableWindows,
  policy: WindowPolicy,
  clock: { readonly now: number; readonly eventTime?: number },
): LiveDecision {
  if (decision.action !== 'restart' && decision.action !== 'reload') return decision;
  const gate = restartGate({ action: decision.action, applicable, policy, ...clock });
  switch (gate.kind) {
    case 'act':
      return decision.action === 'reload' &&
        decision.onFailure.restart &&
        outsideWindow(applicable, clock.now)
        ? { ...decision, onFailure: { restart: false } }
        : decision;
    case 'wait':
      return {
        action: 'wait',
        reason: `${decision.reason}; ${gate.reason}`,
        waitingFor: 'window',
        nudge: [],
        forceSecretSyncs: [],
        giveUpAt: gate.opensAtMs,
      };
    case 'beyond-bound':
      return { action: 'give-up', reason: `${decision.reason}; ${gate.reason}`, waitedMs: 0 };
  }
}

function outsideWindow(applicable: ApplicableWindows, now: number): boolean {
  return windowVerdict(applicable.windows, now).kind === 'closed';
}

/** When a planned restart or reload happens under the windows: now, at a window's opening, or not waited for. */
export type PlannedTime =
  | { readonly when: 'now' }
  | { readonly when: 'window'; readonly at: string; readonly windows: string }
  | { readonly when: 'beyond-bound'; readonly at: string; readonly windows: string };

/** For `rotor plan` and `rotor status`: when an action planned at `now` (the event's time) would happen. */
export function plannedTime(
  action: 'restart' | 'reload',
  applicable: ApplicableWindows,
  policy: WindowPolicy,
  now: number,
): PlannedTime {
  const gate = restartGate({ action, applicable, policy, now });
  if (gate.kind === 'act') return { when: 'now' };
  const at = new Date(gate.opensAtMs).toISOString();
  const windows = `${applicable.from}: ${applicable.windows.map((w) => w.text).join('; ')}`;
  return { when: gate.kind === 'wait' ? 'window' : 'beyond-bound', at, windows };
}
