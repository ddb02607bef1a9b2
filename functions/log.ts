// Structured logging in Cloud Logging's JSON format: one object a line with `severity` and
// `message`. Never pass a secret value here: callers log names, versions and decisions only.

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
    sink(JSON.stringify({ severity, message, ...base, ...fields }, errorReplacer));
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

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
