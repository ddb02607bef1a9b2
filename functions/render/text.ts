// Tenant text as the CLI prints it. Names, annotation values, pod messages and reasons may hold
// anything a tenant wrote: on a terminal a control character can move the cursor, erase the
// summary or hide what follows; in a pull-request comment HTML and Markdown would format, link
// or hide. Every view goes through these, so no tenant text reaches either as anything but text.
import { escapeControls } from '../core/tenantText';

/** Lines for a terminal: control and invisible formatting characters shown as escapes. */
export function terminalLines(lines: readonly string[]): string {
  return lines.map(escapeControls).join('\n') + '\n';
}

/** A terminal table cell (escaped before it is measured, so the columns stay aligned). */
export const terminalCell = escapeControls;

/**
 * Text as it renders, never as markup: HTML's special characters as entities, Markdown's with a
 * backslash (emphasis, links, images, code, tables, strike-through, headings), control characters
 * as visible escapes, and line breaks as <br>, so one value stays one table cell.
 */
export function markdownText(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) =>
      escapeControls(line)
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/[\\`*_[\]|~!#]/g, (c) => `\\${c}`),
    )
    .join('<br>');
}

/** An inline code span: nothing inside is markup; a backquote would end it, a pipe the table cell. */
export function markdownCode(text: string): string {
  return `\`${escapeControls(text).replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}
