// The views of an Audit: a terminal table and Markdown for a pull-request comment (json is the
// Audit itself).
import type { Action } from '../core/decision';
import type { Audit } from '../core/audit';
import { markdownCode, markdownText, terminalCell, terminalLines } from './text';

const ACTIONS: readonly Action[] = ['restart', 'reload', 'wait', 'manual', 'none'];

function counts(byAction: Partial<Record<Action, number>>): string {
  return ACTIONS.filter((a) => (byAction[a] ?? 0) > 0)
    .map((a) => `${byAction[a] ?? 0} ${a}`)
    .join(', ');
}

export function renderAuditTable(audit: Audit): string {
  const lines: string[] = [];
  if (audit.secrets.length === 0) lines.push('No workload uses a Secret Manager secret.');
  for (const s of audit.secrets) {
    lines.push(
      `${s.secret}: ${s.consumers.length} consumer${s.consumers.length === 1 ? '' : 's'} (${counts(s.byAction)})`,
    );
    const rows = s.consumers.map((c) => [
      c.action.toUpperCase(),
      terminalCell(`${c.kind}/${c.namespace}/${c.name}`),
      c.via.join(','),
    ]);
    const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) lines.push(`  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`);
    for (const r of s.risks) lines.push(`  RISK ${r.risk}: ${r.workload}: ${r.detail}`);
  }
  for (const p of audit.problems ?? []) lines.push(`note: ${p}`);
  return terminalLines(lines);
}

const cell = markdownText;

export function renderAuditMarkdown(audit: Audit): string {
  const lines = [
    '| secret | consumers | restart | reload | manual | none | risks |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const s of audit.secrets)
    lines.push(
      `| ${markdownCode(s.secret)} | ${s.consumers.length} | ${s.byAction.restart ?? 0} | ${s.byAction.reload ?? 0} | ${s.byAction.manual ?? 0} | ${s.byAction.none ?? 0} | ${s.risks.length} |`,
    );
  for (const s of audit.secrets) {
    if (s.risks.length === 0) continue;
    lines.push('', `### ${markdownCode(s.secret)}`, '');
    for (const r of s.risks) lines.push(`- **${r.risk}** ${cell(r.workload)}: ${cell(r.detail)}`);
  }
  for (const p of audit.problems ?? []) lines.push('', `> note: ${cell(p)}`);
  return lines.join('\n') + '\n';
}
