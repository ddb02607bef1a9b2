// Structured logging in Cloud Logging's JSON format: one object a line with `severity` and
// `message`. Never pass a secret value here: callers log names, versions and decisions only.

import { fitUtf8 } from './core/tenantText';

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  notice(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every entry (e.g. the event id). */
  with(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

/** Every severity, lowest first. */
export const SEVERITIES: readonly Severity[] = ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR'];
const ORDER = SEVERITIES;

export function createLogger(
  options: {
    sink?: LogSink;
    /** The caller's configured level (config.ts logLevel); INFO when not given. */
    minSeverity?: Severity;
    base?: LogFields;
  } = {},
): Logger {
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + '\n'));
  const min = ORDER.indexOf(options.minSeverity ?? 'INFO');
  const base = options.base ?? {};
  const emit = (severity: Severity, message: string, fields?: LogFields): void => {
    if (ORDER.indexOf(severity) < min) return;
    sink(boundedLine(severity, message, { ...base, ...fields }));
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    notice: (m, f) => emit('NOTICE', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    with: (fields) => createLogger({ sink, minSeverity: ORDER[min], base: { ...base, ...fields } }),
  };
}

/** A logger that keeps entries in memory: for tests and for the CLI's quiet mode. */
export function memoryLogger(): Logger & {
  entries: Array<{ severity: Severity; message: string } & LogFields>;
} {
  const entries: Array<{ severity: Severity; message: string } & LogFields> = [];
  const logger = createLogger({
    minSeverity: 'DEBUG',
    sink: (line) => entries.push(JSON.parse(line) as { severity: Severity; message: string } & LogFields),
  });
  return Object.assign(logger, { entries });
}

/**
 * Cloud Logging refuses an entry over 256 KiB (the line is lost, and with it what it said): each
 * line is kept well below that.
 */
export const LOG_LINE_LIMIT = 64 * 1024;
/** A field bigger than this is left out of a line that is over the limit. */
const FIELD_LIMIT = 4 * 1024;

/**
 * One JSON line within LOG_LINE_LIMIT bytes. A line over it keeps its severity, the fields up to
 * FIELD_LIMIT bytes each and the start of its message, and `cut` says what was left out.
 */
function boundedLine(severity: Severity, message: string, fields: LogFields): string {
  const whole = JSON.stringify({ severity, message, ...fields }, errorReplacer);
  if (Buffer.byteLength(whole, 'utf8') <= LOG_LINE_LIMIT) return whole;
  const kept: LogFields = {};
  const dropped: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    const text = JSON.stringify(v, errorReplacer) ?? '';
    if (Buffer.byteLength(text, 'utf8') <= FIELD_LIMIT) kept[k] = v;
    else dropped.push(k);
  }
  const messageBytes = Buffer.byteLength(message, 'utf8');
  const shown = fitUtf8(message, LOG_LINE_LIMIT / 2);
  const cut = [
    ...(shown !== message ? [`message cut from ${messageBytes} bytes`] : []),
    ...(dropped.length ? [`field(s) ${dropped.join(', ')} left out (over ${FIELD_LIMIT} bytes each)`] : []),
  ];
  const line = JSON.stringify({ severity, message: shown, ...kept, cut: cut.join('; ') }, errorReplacer);
  if (Buffer.byteLength(line, 'utf8') <= LOG_LINE_LIMIT) return line;
  // Many small fields: the message alone, and the names of the fields left out.
  const names = Object.keys(fields).join(', ');
  return JSON.stringify({
    severity,
    message: shown,
    cut: fitUtf8(`${cut.join('; ')}; every field left out: ${names}`, LOG_LINE_LIMIT / 4),
  });
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
