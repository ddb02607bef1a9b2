// `rotor rollback`: the rollback the rotation function performs after a halt under
// ROTOR_ON_HALT=rollback (rotation/rollback.ts), run by hand. Flags: ROLLBACK_COMMAND in
// commands.ts. Output names versions and outcomes, never a value.
import { randomUUID } from 'node:crypto';
import { dump } from 'js-yaml';
import { InputError } from '../errors';
import type { SecretId } from '../core/secretName';
import { parseSecretArg } from '../core/secretName';
import { envDefaultProject, logLevel } from '../config';
import { createLogger } from '../log';
import type { RollbackResult } from '../rotation/rollback';
import { handleRollback } from '../rotation/rotateSecretFunction';
import type { RotateSecretEnvironment } from '../rotation/rotateSecretFunction';
import { environmentFromEnv } from '../rotation/rotateSecretFunction';
import { TransientError, errorMessage } from '../errors';
import { ROLLBACK_COMMAND } from './commands';
import { helpText, parseFlags } from './flags';
import type { RotateIo } from './rotate';

interface RollbackArgs {
  readonly secret: SecretId;
  readonly to?: number;
  readonly dryRun: boolean;
  readonly output: 'table' | 'json' | 'yaml';
}

function parseRollbackArgs(args: string[], env: NodeJS.ProcessEnv): RollbackArgs | 'help' {
  const flags = parseFlags(ROLLBACK_COMMAND, args);
  if (flags.boolean('help')) return 'help';
  if (flags.positionals.length > 0) throw new InputError(`unknown argument "${flags.positionals[0] ?? ''}"`);
  const name = flags.string('secret');
  if (name === undefined) throw new InputError('--secret is required');
  const ref = parseSecretArg(name, flags.string('project') ?? envDefaultProject(env));
  if (ref.version !== undefined)
    throw new InputError(`"${name}" names a version: name the secret, and the version to restore with --to`);
  const to = flags.string('to');
  if (to !== undefined && !/^[1-9][0-9]{0,17}$/.test(to))
    throw new InputError(
      `--to "${to}" is not a version number (1, 2, ...): aliases and latest are not accepted`,
    );
  const output = flags.string('output');
  return {
    secret: ref.id,
    ...(to !== undefined ? { to: Number(to) } : {}),
    dryRun: flags.boolean('dry-run'),
    output: output === 'json' || output === 'yaml' ? output : 'table',
  };
}

/** Runs `rotor rollback`. `environment` is for tests (a stand-in Secret Manager). */
export async function runRollback(
  args: string[],
  io: RotateIo,
  environment?: (env: NodeJS.ProcessEnv) => RotateSecretEnvironment,
): Promise<number> {
  let parsed: RollbackArgs | 'help';
  let env: RotateSecretEnvironment;
  try {
    parsed = parseRollbackArgs(args, io.env);
    if (parsed === 'help') {
      io.stdout(helpText(ROLLBACK_COMMAND));
      return 0;
    }
    env = (environment ?? cliEnvironment)(io.env);
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr(`rotor rollback: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let result: RollbackResult;
  try {
    result = await handleRollback(
      {
        secret: parsed.secret,
        ...(parsed.to !== undefined ? { to: parsed.to } : {}),
        trigger: `cli:${randomUUID()}`,
      },
      { ...env, settings: { ...env.settings, dryRun: parsed.dryRun || env.settings.dryRun } },
      env.logger,
    );
  } catch (err) {
    if (!(err instanceof TransientError)) throw err;
    io.stderr(`rotor rollback: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    if (!environment) await env.secretManager.close().catch(() => undefined);
  }
  if (parsed.output === 'json') io.stdout(JSON.stringify(result, null, 2) + '\n');
  else if (parsed.output === 'yaml') io.stdout(dump(result, { noRefs: true, lineWidth: -1 }));
  else
    io.stdout(
      `${result.outcome.padEnd(11)} ${result.secret}${result.version !== undefined ? ` version ${result.version}` : ''}: ${result.reason}\n`,
    );
  switch (result.outcome) {
    case 'rolled-back':
    case 'skipped':
    case 'dry-run':
      return 0;
    case 'refused':
      return 2;
    case 'failed':
      return result.retry === false ? 2 : 1;
  }
}

function cliEnvironment(env: NodeJS.ProcessEnv): RotateSecretEnvironment {
  // Logs go to stderr on the CLI, so stdout stays the result.
  return {
    ...environmentFromEnv(env),
    logger: createLogger({
      sink: (line) => process.stderr.write(line + '\n'),
      minSeverity: logLevel(env, 'WARNING'),
    }),
  };
}
