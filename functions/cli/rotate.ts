// `rotor rotate`: the same protocol as the rotateSecret function, run from a terminal or a CI job.
// Flags: ROTATE_COMMAND in commands.ts.
// Exit codes: 0 every secret rotated, resumed, retired or skipped; 1 some secret failed;
// 2 bad usage or input. Output names versions and outcomes, never a value.
import { randomUUID } from 'node:crypto';
import { InputError, errorMessage } from '../errors';
import type { SecretId } from '../core/secretName';
import { formatSecretId, parseSecretArg } from '../core/secretName';
import { envDefaultProject, logLevel } from '../config';
import { createLogger } from '../log';
import type { BatchReport } from '../rotation/batch';
import { rotateAll } from '../rotation/batch';
import type { RotateSecretEnvironment } from '../rotation/rotateSecretFunction';
import { environmentFromEnv } from '../rotation/rotateSecretFunction';
import { dump } from 'js-yaml';
import { ROTATE_COMMAND } from './commands';
import { helpText, parseFlags } from './flags';

export interface RotateIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const USAGE = helpText(ROTATE_COMMAND);

interface RotateArgs {
  names: string[];
  project?: string;
  force: boolean;
  retireOnly: boolean;
  dryRun: boolean;
  concurrency?: number;
  output: 'table' | 'json' | 'yaml';
}

function parseRotateArgs(args: string[]): RotateArgs | 'help' {
  const flags = parseFlags(ROTATE_COMMAND, args);
  if (flags.boolean('help')) return 'help';
  if (flags.positionals.length > 0) throw new InputError(`unknown argument "${flags.positionals[0] ?? ''}"`);
  const names = flags.strings('secret').flatMap((v) => v.split(',').filter(Boolean));
  if (names.length === 0) throw new InputError('--secret is required');
  const concurrency = flags.string('concurrency');
  let n: number | undefined;
  if (concurrency !== undefined) {
    n = Number(concurrency);
    if (!Number.isInteger(n) || n < 1 || n > 100)
      throw new InputError('--concurrency must be a whole number from 1 to 100');
  }
  const output = flags.string('output');
  const project = flags.string('project');
  return {
    names,
    ...(project !== undefined ? { project } : {}),
    force: flags.boolean('force'),
    retireOnly: flags.boolean('retire-only'),
    dryRun: flags.boolean('dry-run'),
    ...(n !== undefined ? { concurrency: n } : {}),
    output: output === 'json' || output === 'yaml' ? output : 'table',
  };
}

/**
 * Runs `rotor rotate`. `environment` is for tests (a stand-in Secret Manager, fake backends);
 * by default everything comes from io.env like the function.
 */
export async function runRotate(
  args: string[],
  io: RotateIo,
  environment?: (env: NodeJS.ProcessEnv) => RotateSecretEnvironment,
): Promise<number> {
  let parsed: RotateArgs | 'help';
  let secrets: SecretId[];
  let env: RotateSecretEnvironment;
  try {
    parsed = parseRotateArgs(args);
    if (parsed === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    secrets = namedSecrets(parsed.names, parsed.project ?? envDefaultProject(io.env));
    env = (environment ?? cliEnvironment)(io.env);
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr(`rotor rotate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const trigger = `cli:${randomUUID()}`;
  let report: BatchReport;
  try {
    report = await rotateAll(
      secrets,
      {
        secretManager: env.secretManager,
        strategies: env.strategies,
        logger: env.logger,
        defaults: env.settings.defaults,
        lockTtlMs: env.settings.lockTtlMs,
        ...(env.pinnedVersions ? { pinnedVersions: env.pinnedVersions } : {}),
        ...(env.now ? { now: env.now } : {}),
      },
      {
        trigger,
        force: parsed.force,
        retireOnly: parsed.retireOnly,
        dryRun: parsed.dryRun || env.settings.dryRun,
      },
      parsed.concurrency ?? env.settings.concurrency,
    );
  } catch (err) {
    io.stderr(`rotor rotate: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    if (!environment) await env.secretManager.close().catch(() => undefined);
  }

  printReport(report, parsed.output, io);
  return exitCodeOf(report);
}

/** The secrets named on the command line, each once, in order; a version is refused. */
function namedSecrets(names: readonly string[], project: string | undefined): SecretId[] {
  const seen = new Set<string>();
  const secrets: SecretId[] = [];
  for (const n of names) {
    const ref = parseSecretArg(n, project);
    if (ref.version !== undefined) throw new InputError(`"${n}" names a version; rotation works on a secret`);
    if (!seen.has(formatSecretId(ref.id))) {
      seen.add(formatSecretId(ref.id));
      secrets.push(ref.id);
    }
  }
  return secrets;
}

function printReport(report: BatchReport, output: RotateArgs['output'], io: RotateIo): void {
  if (output === 'json') {
    io.stdout(JSON.stringify({ results: report.results, counts: report.counts }, null, 2) + '\n');
  } else if (output === 'yaml') {
    io.stdout(dump({ results: report.results, counts: report.counts }, { noRefs: true, lineWidth: -1 }));
  } else {
    for (const r of report.results) {
      const version = r.version !== undefined ? ` version ${r.version}` : '';
      const disabled = r.disabled.length ? ` (disabled ${r.disabled.join(', ')})` : '';
      io.stdout(`${r.outcome.padEnd(9)} ${r.secret}${version}${disabled}: ${r.reason}\n`);
    }
  }
}

function exitCodeOf(report: BatchReport): number {
  if (!report.failed) return 0;
  // A secret that cannot rotate until someone changes its configuration (no strategy, missing
  // role, bad annotation) is bad input: 2. Anything a retry may fix, or a refused value: 1.
  const inputOnly = report.results.every(
    (r) => r.outcome !== 'abandoned' && (r.outcome !== 'failed' || r.retry === false),
  );
  return inputOnly ? 2 : 1;
}

function cliEnvironment(env: NodeJS.ProcessEnv): RotateSecretEnvironment {
  const base = environmentFromEnv(env);
  // Logs go to stderr on the CLI, so stdout stays the result (table or JSON).
  return {
    ...base,
    logger: createLogger({
      sink: (line) => process.stderr.write(line + '\n'),
      minSeverity: logLevel(env, 'WARNING'),
    }),
  };
}
