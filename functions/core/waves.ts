// Waves: the order in which one event's restarts and reloads reach the fleet, and the brake that
// stops it. Workloads say `rotor.dev/wave: "N"` (0 first: canaries); everything else is in the
// default wave, after every numbered one. A wave starts only when every rollout Rotor made in the
// earlier waves has finished (rolloutHealth); at most `size` workloads are in flight (acted on,
// rollout not finished yet) at once. The event itself is done only when the last wave's rollouts
// have finished too.
//
// A namespace is a tenant, and `rotor.dev/wave` is tenant input: a workload's wave orders only its
// own namespace's workloads. Only the waves of the namespaces the operator named
// (ROTOR_CANARY_NAMESPACES, which tenants cannot write) order everyone: a workload waits for the
// lower waves of its own namespace and of the canary namespaces. A failed
// rollout halts its own namespace's part of the event: nothing more is acted on there, and the
// failed workloads are named. A failure in a canary namespace halts the whole event.
//
// Stateless: the plan is made afresh on every delivery from what the cluster says (the decisions,
// rotor.dev/applied, the controllers' status), so a redelivery or `rotor apply` continues where
// the last one stopped. Pure.
import * as annotations from './annotations';
import type { EventContext } from './decision';
import type { AppliedBy, Delivery } from './appliedBy';
import { appliedBy, trustedAppliedBy } from './appliedBy';
import { appliedVersions } from './discovery';
import type { KubeObject } from './kube';
import type { LiveDecision } from './liveDecision';
import type { RolloutHealth } from './rolloutHealth';
import { workloadAnnotation } from './workloadKinds';
import { quoteTenant } from './tenantText';

/** Numbered waves are 0..MAX_WAVE. */
export const MAX_WAVE = 99;
/** Workloads without (or with an invalid) rotor.dev/wave: after every numbered wave. */
export const DEFAULT_WAVE = MAX_WAVE + 1;

export interface WaveAssignment {
  readonly wave: number;
  /** Why the annotation was not used (it is tenant input). */
  readonly warning?: string;
}

export function waveOf(workload: KubeObject): WaveAssignment {
  const raw = workloadAnnotation(workload, annotations.WAVE);
  if (raw === undefined) return { wave: DEFAULT_WAVE };
  const text = raw.trim();
  if (/^[0-9]{1,2}$/.test(text)) return { wave: Number(text) };
  return {
    wave: DEFAULT_WAVE,
    warning: `${annotations.WAVE} ${quoteTenant(raw)} is not a whole number from 0 to ${MAX_WAVE}: the workload goes in the default wave (${DEFAULT_WAVE})`,
  };
}

/** How a wave is named in reasons: "wave 2", or "the default wave". */
export function waveName(wave: number): string {
  return wave === DEFAULT_WAVE ? 'the default wave' : `wave ${wave}`;
}

/**
 * Whether Rotor has already acted on the workload for this event: rotor.dev/applied records the
 * event's version (or a moved alias's target). Only such workloads have a rollout of this event
 * to wait for.
 */
export function actedForEvent(workload: KubeObject, secretKey: string, event: EventContext): boolean {
  return eventRecordKey(workload, secretKey, event) !== undefined;
}

/**
 * The rotor.dev/applied key under which Rotor recorded this event on the workload: the secret for
 * a version, `secret@alias` for a moved alias (rotor.dev/applied-by uses the same keys).
 */
export function eventRecordKey(
  workload: KubeObject,
  secretKey: string,
  event: EventContext,
): string | undefined {
  const applied = appliedVersions(workload);
  if (event.version !== undefined && applied[secretKey] === event.version) return secretKey;
  const moved = Object.entries(event.aliases ?? {}).find(
    ([alias, v]) => applied[`${secretKey}@${alias}`] === v,
  );
  return moved ? `${secretKey}@${moved[0]}` : undefined;
}

/**
 * What Rotor did for this event, by which delivery and when (rotor.dev/applied-by), if recorded by
 * one of this event's deliveries (trustedAppliedBy: a record a tenant wrote is not believed).
 */
export function appliedForEvent(
  workload: KubeObject,
  secretKey: string,
  event: EventContext,
  delivery: Delivery,
): AppliedBy | undefined {
  const key = eventRecordKey(workload, secretKey, event);
  const by = key === undefined ? undefined : appliedBy(workload)[key];
  return by !== undefined && trustedAppliedBy(by, delivery) ? by : undefined;
}

/**
 * The restart or reload Rotor made for this event, whose rollout it waits for and judges: only a
 * believed record counts (rotor.dev/applied alone is tenant-writable). A `record` changed no pod.
 */
export function rolloutToJudge(
  workload: KubeObject,
  secretKey: string,
  event: EventContext,
  delivery: Delivery,
): AppliedBy | undefined {
  const by = appliedForEvent(workload, secretKey, event, delivery);
  return by?.action === 'restart' || by?.action === 'reload' ? by : undefined;
}

/** One dependent of the event, as the planner sees it. */
export interface WaveEntry {
  /** Unique within the plan (e.g. `cluster/Kind/ns/name`). */
  readonly id: string;
  /** For reasons: "Deployment shop/api". */
  readonly label: string;
  /** The tenant: waves and the halt are scoped to it. */
  readonly namespace: string;
  /** In a namespace the operator made a canary for everyone (ROTOR_CANARY_NAMESPACES). */
  readonly canary: boolean;
  readonly wave: number;
  /**
   * What this delivery's decision would do: `act` changes pods (restart, reload); `pending` is a
   * wait for the new version to become visible (the wave is not done); `settled` is nothing more
   * to do (none, record, skip, give-up).
   */
  readonly intent: 'act' | 'pending' | 'settled';
  /** The rollout of what Rotor already did for this event; absent when it did nothing yet. */
  readonly health?: RolloutHealth;
}

/** What a live decision means to its wave. */
export function waveIntent(d: LiveDecision): WaveEntry['intent'] {
  switch (d.action) {
    case 'restart':
    case 'reload':
      return 'act';
    case 'wait':
      return 'pending';
    case 'record':
    case 'none':
    case 'skip':
    case 'give-up':
    case 'manual':
    case 'never-synced':
      return 'settled';
  }
}

export type WaveStep =
  /** Perform the decision now. */
  | { readonly step: 'act' }
  /** Not yet: an earlier wave (or this wave's workloads in flight) must finish first. */
  | { readonly step: 'wait'; readonly wave: number; readonly reason: string }
  /**
   * Rotor already acted for this event and the rollout has not finished: the event is not done
   * until it has (a crash loop in the last wave must halt the event like one in any other).
   */
  | { readonly step: 'rolling-out'; readonly detail: string }
  /** The event is halted: leave the workload alone. */
  | { readonly step: 'halted'; readonly reason: string }
  /** Its rollout failed: it is what halted the event. */
  | { readonly step: 'failed'; readonly reasons: readonly [string, ...string[]] }
  /** Not gated (a wait for ESO/CSI, or nothing to do): report the decision as it is. */
  | { readonly step: 'as-decided' };

export interface WavePlan {
  readonly steps: ReadonlyMap<string, WaveStep>;
  /** The failed workloads that halted their namespace, or (canaries) the event; empty: none. */
  readonly halted: ReadonlyArray<{
    readonly id: string;
    readonly label: string;
    readonly reasons: readonly string[];
  }>;
}

/**
 * Plans one delivery: the workloads to act on now, those that wait for a wave, and which
 * namespaces are halted. `size` bounds the workloads in flight at once (acted on, rollout not
 * finished), across the plan.
 */
export function planWaves(entries: readonly WaveEntry[], size: number): WavePlan {
  const scopes = scopesOf(entries);
  let slots = size - entries.filter((e) => e.health?.health === 'progressing').length;
  const steps = new Map<string, WaveStep>();
  for (const e of entries) {
    const halting = [...scopes.canaryFailed, ...(e.canary ? [] : (scopes.failed.get(e.namespace) ?? []))];
    const current = lowest(scopes.canaryWave, e.canary ? undefined : scopes.wave.get(e.namespace));
    let step: WaveStep;
    if (e.health?.health === 'failed') step = { step: 'failed', reasons: e.health.reasons };
    else if (halting.length > 0) step = haltedStep(e, halting);
    else if (e.intent !== 'act' && e.health?.health === 'progressing')
      step = { step: 'rolling-out', detail: e.health.detail };
    else if (e.intent !== 'act') step = { step: 'as-decided' };
    else if (current !== undefined && e.wave > current)
      step = {
        step: 'wait',
        wave: current,
        reason: `${waveName(e.wave)} waits for ${waveName(current)} to finish its rollouts`,
      };
    else if (slots > 0) {
      slots--;
      step = { step: 'act' };
    } else
      step = {
        step: 'wait',
        wave: e.wave,
        reason: `${size} workload(s) in flight (ROTOR_WAVE_SIZE): ${waveName(e.wave)} waits for their rollouts`,
      };
    steps.set(e.id, step);
  }
  const halted = entries.flatMap((f) =>
    f.health?.health === 'failed' ? [{ id: f.id, label: f.label, reasons: f.health.reasons }] : [],
  );
  return { steps, halted };
}

/**
 * Per namespace (and for the canary namespaces together): the lowest wave, by number, with
 * something not finished (a decision to perform, or a rollout going), and the failed rollouts.
 */
function scopesOf(entries: readonly WaveEntry[]): {
  readonly wave: ReadonlyMap<string, number>;
  readonly canaryWave?: number;
  readonly failed: ReadonlyMap<string, WaveEntry[]>;
  readonly canaryFailed: readonly WaveEntry[];
} {
  const wave = new Map<string, number>();
  let canaryWave: number | undefined;
  const failed = new Map<string, WaveEntry[]>();
  const canaryFailed: WaveEntry[] = [];
  for (const e of entries) {
    if (e.health?.health === 'failed') {
      if (e.canary) canaryFailed.push(e);
      else {
        const list = failed.get(e.namespace) ?? [];
        list.push(e);
        failed.set(e.namespace, list);
      }
    }
    if (e.intent === 'settled' && e.health?.health !== 'progressing') continue;
    if (e.canary) canaryWave = lowest(canaryWave, e.wave);
    else wave.set(e.namespace, lowest(wave.get(e.namespace), e.wave) ?? e.wave);
  }
  return { wave, ...(canaryWave !== undefined ? { canaryWave } : {}), failed, canaryFailed };
}

/** The lower of two waves, by number; undefined when neither is. */
function lowest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/** A workload left alone by a halt: what it would have done (act, or wait for its sync) is not done. */
function haltedStep(e: WaveEntry, halting: readonly WaveEntry[]): WaveStep {
  if (e.intent === 'settled') return { step: 'as-decided' };
  const names = halting.map((f) => `${f.label} (${waveName(f.wave)})`).join(', ');
  const scope = halting.some((f) => f.canary)
    ? 'the event halted'
    : `the event halted in namespace ${e.namespace}`;
  return {
    step: 'halted',
    reason: `not acted on: ${scope} because the rollout of ${names} failed; fix it, then run rotor apply`,
  };
}
