// The terminal view of a Plan: one aligned row per workload, reasons in full, then warnings.
import type { Plan } from '../core/plan';

const ACTION_ORDER = { restart: 0, reload: 1, wait: 2, manual: 3, none: 4 } as const;

export function renderTable(plan: Plan): string {
  const lines: string[] = [];
  const head = `${plan.event} ${plan.secret}${plan.version ? ` version ${plan.version}` : ''}`;
  lines.push(head);
  if (plan.workloads.length === 0) {
    lines.push('No workload depends on this secret.');
  } else {
    const multiCluster = new Set(plan.workloads.map((w) => w.cluster)).size > 1;
    const rows = [...plan.workloads]
      .sort(
        (a, b) =>
          ACTION_ORDER[a.action] - ACTION_ORDER[b.action] ||
          a.namespace.localeCompare(b.namespace) ||
          a.name.localeCompare(b.name),
      )
      .map((w) => [
        w.action.toUpperCase(),
        `${multiCluster ? `${w.cluster}: ` : ''}${w.kind}/${w.namespace}/${w.name}`,
        [...new Set(w.dependencies.map((d) => d.via))].join(','),
        w.reason,
      ]);
    const header = ['ACTION', 'WORKLOAD', 'VIA', 'REASON'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    widths[3] = 0; // the reason column is last: no padding
    const fmt = (r: string[]): string =>
      r
        .map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c))
        .join('  ')
        .trimEnd();
    lines.push(fmt(header), ...rows.map(fmt));
    const counts = Object.keys(ACTION_ORDER)
      .map((a) => [a, plan.workloads.filter((w) => w.action === a).length] as const)
      .filter(([, n]) => n > 0)
      .map(([a, n]) => `${n} ${a}`);
    lines.push(
      `${plan.workloads.length} dependent workload${plan.workloads.length === 1 ? '' : 's'}: ${counts.join(', ')}`,
    );
  }
  for (const w of plan.workloads)
    if (w.warning) lines.push(`WARNING ${w.kind}/${w.namespace}/${w.name}: ${w.warning}`);
  for (const p of plan.problems ?? []) lines.push(`note: ${p}`);
  return lines.join('\n') + '\n';
}
