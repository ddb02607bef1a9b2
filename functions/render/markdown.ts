// The Plan as Markdown for a pull-request comment: a heading, the count of each action, a table
// of the workloads and the Mermaid flowchart in a fenced block (GitHub and GitLab render both).
import type { Plan, PlannedDecision } from '../core/plan';
import type { PlannedTime } from '../core/restartGate';
import { markdownCode, markdownText } from './text';
import { renderMermaid } from './mermaid';
import { actionCounts, sortedWorkloads } from './table';

const cell = markdownText;
const code = markdownCode;

/** A plan's When cell: `now`, `at T (window)`, or a window beyond the bound. */
export function whenText(when: PlannedTime | undefined): string {
  if (!when) return '-';
  switch (when.when) {
    case 'now':
      return 'now';
    case 'window':
      return `at ${when.at}`;
    case 'beyond-bound':
      return `not waited for (window opens ${when.at})`;
  }
}

export function renderMarkdown(plan: Plan, decisions: readonly PlannedDecision[]): string {
  const lines: string[] = [
    `### Rotor plan: ${plan.event} ${code(plan.secret)}${plan.version ? ` version ${cell(plan.version)}` : ''}`,
    '',
  ];
  if (plan.workloads.length === 0) {
    lines.push('No workload depends on this secret.');
  } else {
    const n = plan.workloads.length;
    lines.push(`**${n} dependent workload${n === 1 ? '' : 's'}:** ${actionCounts(plan)}`, '');
    const multiCluster = new Set(plan.workloads.map((w) => w.cluster)).size > 1;
    // With maintenance windows, a When column: now, or the window's opening.
    const timed = plan.workloads.some((w) => w.when);
    // With cluster stages, a Stage column: earlier stages go first (core/clusterStages.ts).
    const staged = plan.workloads.some((w) => w.stage !== undefined);
    lines.push(
      `| Action | Wave |${staged ? ' Stage |' : ''}${timed ? ' When |' : ''} Workload | Via | Reason |`,
      `| --- | --- |${staged ? ' --- |' : ''}${timed ? ' --- |' : ''} --- | --- | --- |`,
    );
    for (const w of sortedWorkloads(plan)) {
      const name = `${multiCluster ? `${w.cluster}: ` : ''}${w.kind}/${w.namespace}/${w.name}`;
      const via = [...new Set(w.dependencies.map((d) => d.via))].join(', ');
      const wave = w.wave === undefined ? '-' : String(w.wave);
      const when = timed ? ` ${cell(whenText(w.when))} |` : '';
      const stage = staged ? ` ${w.stage ?? 0} |` : '';
      lines.push(
        `| **${w.action.toUpperCase()}** | ${wave} |${stage}${when} ${code(name)} | ${cell(via)} | ${cell(w.reason)} |`,
      );
    }
    const windows = [
      ...new Set(plan.workloads.flatMap((w) => (w.when && w.when.when !== 'now' ? [w.when.windows] : []))),
    ];
    if (windows.length > 0) {
      lines.push('', '**Maintenance windows**', '');
      for (const w of windows) lines.push(`- ${cell(w)}`);
    }
  }
  const warnings = plan.workloads.filter((w) => w.warning);
  if (warnings.length > 0) {
    lines.push('', '**Warnings**', '');
    for (const w of warnings)
      lines.push(`- ${code(`${w.kind}/${w.namespace}/${w.name}`)}: ${cell(w.warning ?? '')}`);
  }
  const problems = plan.problems ?? [];
  if (problems.length > 0) {
    lines.push('', `<details><summary>Notes (${problems.length})</summary>`, '');
    for (const p of problems) lines.push(`- ${cell(p)}`);
    lines.push('', '</details>');
  }
  if (plan.workloads.length > 0)
    lines.push('', '```mermaid', renderMermaid(plan, decisions).trimEnd(), '```');
  return lines.join('\n') + '\n';
}
