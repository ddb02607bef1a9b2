// The in-delivery loop's shell: runs reconcile passes (reconcile.ts), and between them waits for a
// change on what the last pass waits on (cluster/watch.ts), as core/converge.ts decides, until the
// event is done or the budget is spent. A pass is reported (outcome, then its Kubernetes Events)
// when it acted, when it saw something new, and always when it is the last one.
import { createHash } from 'node:crypto';
import type { ChainPosition, LoopEnd, LoopSettings, PassRecord } from '../core/converge';
import { afterPass, supersededEverywhere } from '../core/converge';
import type { EventContext } from '../core/decision';
import type { WaitEnd, WaitStats } from '../cluster/watch';
import { waitForChange } from '../cluster/watch';
import type { EventOutcome } from '../core/outcome';
import type { EventInfo, Pass, ReconcileConfig, Reporter } from './reconcile';
import { reconcilePass } from './reconcile';

export interface LoopOptions {
  readonly settings: LoopSettings;
  /** Whether the shell can publish a continuation (ends `continue`; otherwise `retry`). */
  readonly canContinue: boolean;
  /** This delivery started the chain's wait clock (core/converge.ts: LoopState.startsClock). */
  readonly startsClock?: boolean;
  /** Called after each pass (the CLI prints a progress line). */
  readonly onPass?: (pass: Pass, n: number) => void;
}

export interface Converged {
  /** The last pass's outcome. */
  readonly outcome: EventOutcome;
  readonly end: LoopEnd;
  readonly passes: number;
}

/** Runs passes until core/converge.ts ends the loop; reports as described above. */
export async function convergeEvent(
  ctx: EventContext,
  info: EventInfo & { readonly chain?: ChainPosition },
  cfg: ReconcileConfig,
  options: LoopOptions,
  report: Reporter,
): Promise<Converged> {
  const startedAt = Date.now();
  // The wait clock of a run that received none starts with it and holds across its passes.
  const clocked = { ...info, waitSince: info.waitSince ?? (cfg.now?.() ?? new Date()).getTime() };
  const passes: PassRecord[] = [];
  let reported: string | undefined;
  // How the wait before each pass ended, for its figures (passFigures).
  let woke: PassFigures['woke'] = 'start';
  let waitedMs = 0;
  const stats: WaitStats = { ignored: 0 };
  for (;;) {
    const passStarted = Date.now();
    const pass = await reconcilePass(ctx, clocked, cfg);
    const record: PassRecord = {
      startedAt: passStarted,
      endedAt: Date.now(),
      pending: pass.outcome.pending,
      acted: pass.acted,
      fingerprint: fingerprintOf(pass.outcome),
      ...windowWaits(pass.outcome),
      ...(pass.stageWaits ? { stageWaits: pass.stageWaits } : {}),
    };
    passes.push(record);
    options.onPass?.(pass, passes.length);
    const places = pass.outcome.workloads.map((w) => `${w.cluster}/${w.namespace}`);
    const superseded = info.chain ? supersededEverywhere(info.chain, pass.marks, places) : undefined;
    const step = afterPass(
      {
        startedAt,
        now: Date.now(),
        passes: [passes[0] ?? record, ...passes.slice(1)],
        canContinue: options.canContinue,
        ...(options.startsClock ? { startsClock: true } : {}),
        ...(info.chain ? { chain: info.chain } : {}),
        ...(superseded ? { superseded } : {}),
      },
      options.settings,
    );
    const reportStarted = Date.now();
    const reporting = step.kind === 'end' || pass.acted > 0 || record.fingerprint !== reported;
    if (reporting) {
      await pass.report(report);
      reported = record.fingerprint;
    }
    logPass(cfg, {
      n: passes.length,
      woke,
      waitedMs,
      ignored: stats.ignored,
      passMs: record.endedAt - record.startedAt,
      reportMs: Date.now() - reportStarted,
      reported: reporting,
      acted: pass.acted,
      pending: pass.outcome.pending,
      targets: pass.waits.length,
    });
    if (step.kind === 'end') return { outcome: pass.outcome, end: step.end, passes: passes.length };
    const waitStarted = Date.now();
    stats.ignored = 0;
    woke = await waitForChange(cfg.clusters, pass.waits, step.untilMs, cfg.logger, undefined, stats);
    const early = step.notBeforeMs - Date.now();
    if (early > 0) await new Promise((r) => setTimeout(r, early));
    waitedMs = Date.now() - waitStarted;
  }
}

/**
 * One pass of the loop in figures (a DEBUG line with field `pass`, for the benchmarks): what ended
 * the wait before it ('start': the delivery's first pass), how long that wait was and how many
 * watch events it read past, the pass's and its report's wall time, and what it did.
 */
export interface PassFigures {
  readonly n: number;
  readonly woke: WaitEnd | 'start';
  readonly waitedMs: number;
  readonly ignored: number;
  readonly passMs: number;
  readonly reportMs: number;
  readonly reported: boolean;
  readonly acted: number;
  readonly pending: number;
  readonly targets: number;
}

function logPass(cfg: ReconcileConfig, figures: PassFigures): void {
  cfg.logger.debug(
    `pass ${figures.n}: ${figures.passMs} ms (+${figures.reportMs} ms report), woken by ${figures.woke} after ${figures.waitedMs} ms; acted ${figures.acted}, ${figures.pending} pending`,
    { pass: figures },
  );
}

/** The pass's waits for maintenance windows, and when the first of those windows opens. */
function windowWaits(outcome: EventOutcome): Pick<PassRecord, 'windows'> {
  const opens = outcome.workloads.flatMap((w) =>
    w.result === 'waiting' && w.waitingFor === 'window' && w.opensAt ? [Date.parse(w.opensAt)] : [],
  );
  return opens.length ? { windows: { waiting: opens.length, opensAt: Math.min(...opens) } } : {};
}

/**
 * What a pass reported, hashed: each workload's result, reason and wait (a rollout's progress is
 * in its reason), the halt and the number of cluster errors. Two passes that saw the same have the same one.
 */
export function fingerprintOf(outcome: EventOutcome): string {
  const h = createHash('sha256');
  // A failure's text is left out: an error that reads differently each time is no progress.
  for (const w of outcome.workloads)
    h.update(
      JSON.stringify([
        w.cluster,
        w.kind,
        w.namespace,
        w.name,
        w.result,
        w.result === 'failed' ? '' : w.reason,
        w.waitingFor ?? '',
      ]),
    );
  h.update(JSON.stringify([outcome.halted ?? [], outcome.clusterErrors.length, outcome.pending]));
  return h.digest('base64');
}
