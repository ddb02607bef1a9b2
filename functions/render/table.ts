// The terminal view of a Plan: one aligned row per workload, reasons in full, then warnings.
// Everything printed may hold tenant text (names, annotation values in reasons): control and
// invisible formatting characters are shown as escapes, so none reaches the terminal.
import type { Plan, PlannedWorkload } from '../core/plan';
import { terminalCell, terminalLines } from './text';

const ACTION_ORDER = { restart: 0, reload: 1, wait: 2, manual: 3, none: 4 } as const;

/** Earlier cluster stages first; restarts first, then reloads, waits and nones; by namespace and name within each. */
export function sortedWorkloads(plan: Plan): PlannedWorkload[] {
  return [...plan.workloads].sort(
    (a, b) =>
      (a.stage ?? 0) - (b.stage ?? 0) ||
      ACTION_ORDER[a.action] - ACTION_ORDER[b.action] ||
      (a.wave ?? 0) - (b.wave ?? 0) ||
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name),
  );
}

/** `2 restart, 1 reload`: the count of each action that occurs. */
export function actionCounts(plan: Plan): string {
  return Object.keys(ACTION_ORDER)
    .map((a) => [a, plan.workloads.filter((w) => w.action === a).length] as const)
    .filter(([, n]) => n > 0)
    .map(([a, n]) => `${n} ${a}`)
    .join(', ');
}

/** The plan's problems as `note:` lines (the CLI prints them on stderr in table output). */
export function renderNotes(problems: readonly string[] = []): string {
  return problems.length ? terminalLines(problems.map((p) => `note: ${p}`)) : '';
}

/** `notes: false` leaves the problems out (the caller prints them elsewhere). */
export function renderTable(plan: Plan, opts: { notes?: boolean } = {}): string {
  const lines: string[] = [];
  const head = `${plan.event} ${plan.secret}${plan.version ? ` version ${plan.version}` : ''}`;
  lines.push(head);
  if (plan.workloads.length === 0) {
    lines.push('No workload depends on this secret.');
  } else {
    const multiCluster = new Set(plan.workloads.map((w) => w.cluster)).size > 1;
    // With cluster stages, a STAGE column: the stage each workload's cluster goes in.
    const staged = plan.workloads.some((w) => w.stage !== undefined);
    const rows = sortedWorkloads(plan).map((w) =>
      [
        w.action.toUpperCase(),
        w.wave === undefined ? '-' : String(w.wave),
        ...(staged ? [String(w.stage ?? 0)] : []),
        `${multiCluster ? `${w.cluster}: ` : ''}${w.kind}/${w.namespace}/${w.name}`,
        [...new Set(w.dependencies.map((d) => d.via))].join(','),
        w.reason,
      ].map(terminalCell),
    );
    const header = ['ACTION', 'WAVE', ...(staged ? ['STAGE'] : []), 'WORKLOAD', 'VIA', 'REASON'];
    const last = header.length - 1;
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    widths[last] = 0; // the reason column is last: no padding
    const fmt = (r: string[]): string =>
      r
        .map((c, i) => (i < last ? c.padEnd(widths[i] ?? 0) : c))
        .join('  ')
        .trimEnd();
    lines.push(fmt(header), ...rows.map(fmt));
    lines.push(
      `${plan.workloads.length} dependent workload${plan.workloads.length === 1 ? '' : 's'}: ${actionCounts(plan)}`,
    );
  }
  for (const w of plan.workloads)
    if (w.warning) lines.push(`WARNING ${w.kind}/${w.namespace}/${w.name}: ${w.warning}`);
  return terminalLines(lines) + (opts.notes === false ? '' : renderNotes(plan.problems));
}
