// Waves: the order in which one event's restarts and reloads reach the fleet, and the brake that
// stops it. Workloads say `rotor.dev/wave: "N"` (0 first: canaries); everything else is in the
// default wave, after every numbered one. A wave starts only when every rollout Rotor made in the
// earlier waves has finished (rolloutHealth); within a wave at most `size` workloads are in flight
// (acted on, rollout not finished yet) at once. The event itself is done only when the last wave's
// rollouts have finished too. A failed rollout halts the event: nothing more is acted on, and the
// failed workloads are named.
//
// Stateless: the plan is made afresh on every delivery from what the cluster says (the decisions,
// rotor.dev/applied, the controllers' status), so a redelivery or `rotor apply` continues where
// the last one stopped. Pure.
import * as annotations from './annotations';
import type { EventContext } from './decision';
import type { AppliedBy } from './appliedBy';
import { appliedBy } from './appliedBy';
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

/** What Rotor did for this event, by which delivery and when (rotor.dev/applied-by), if recorded. */
export function appliedForEvent(
  workload: KubeObject,
  secretKey: string,
  event: EventContext,
): AppliedBy | undefined {
  const key = eventRecordKey(workload, secretKey, event);
  return key === undefined ? undefined : appliedBy(workload)[key];
}

/** One dependent of the event, as the planner sees it. */
export interface WaveEntry {
  /** Unique within the plan (e.g. `cluster/Kind/ns/name`). */
  readonly id: string;
  /** For reasons: "Deployment shop/api". */
  readonly label: string;
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
  /** The failed workloads that halted the event (empty: not halted). */
  readonly halted: ReadonlyArray<{
    readonly id: string;
    readonly label: string;
    readonly reasons: readonly string[];
  }>;
  /** The lowest wave not finished yet (undefined: every wave is finished). */
  readonly current?: number;
}

/**
 * Plans one delivery: the workloads to act on now, those that wait for a wave, and whether the
 * event is halted. `size` bounds the workloads of a wave in flight at once (acted on, rollout
 * not finished).
 */
export function planWaves(entries: readonly WaveEntry[], size: number): WavePlan {
  const steps = new Map<string, WaveStep>();
  const failed = entries.flatMap((e) =>
    e.health?.health === 'failed'
      ? [{ id: e.id, label: e.label, wave: e.wave, reasons: e.health.reasons }]
      : [],
  );
  if (failed.length > 0) {
    const names = failed.map((f) => `${f.label} (${waveName(f.wave)})`).join(', ');
    for (const e of entries) {
      if (e.health?.health === 'failed') steps.set(e.id, { step: 'failed', reasons: e.health.reasons });
      else if (e.intent === 'act')
        steps.set(e.id, {
          step: 'halted',
          reason: `not acted on: the event halted because the rollout of ${names} failed; fix it, then run rotor apply`,
        });
      else steps.set(e.id, { step: 'as-decided' });
    }
    return { steps, halted: failed.map(({ id, label, reasons }) => ({ id, label, reasons })) };
  }

  const inFlight = (e: WaveEntry): boolean => e.health?.health === 'progressing';
  const unfinished = (e: WaveEntry): boolean => e.intent !== 'settled' || inFlight(e);
  const current = [...new Set(entries.filter(unfinished).map((e) => e.wave))].sort((a, b) => a - b)[0];
  let slots = size - entries.filter((e) => e.wave === current && inFlight(e)).length;
  for (const e of entries) {
    if (e.intent !== 'act' && e.health?.health === 'progressing') {
      steps.set(e.id, { step: 'rolling-out', detail: e.health.detail });
    } else if (e.intent !== 'act') {
      steps.set(e.id, { step: 'as-decided' });
    } else if (current !== undefined && e.wave > current) {
      steps.set(e.id, {
        step: 'wait',
        wave: current,
        reason: `${waveName(e.wave)} waits for ${waveName(current)} to finish its rollouts`,
      });
    } else if (slots > 0) {
      slots--;
      steps.set(e.id, { step: 'act' });
    } else {
      steps.set(e.id, {
        step: 'wait',
        wave: e.wave,
        reason: `${waveName(e.wave)} has ${size} workload(s) in flight (ROTOR_WAVE_SIZE): waits for their rollouts`,
      });
    }
  }
  return { steps, halted: [], ...(current !== undefined ? { current } : {}) };
}
