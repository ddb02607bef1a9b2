#!/usr/bin/env node
// rotor: the command-line face of the same core the functions run.
//   rotor plan    what a rotation will do to which workload (offline or live, read-only)
//   rotor audit   every Secret Manager secret in use, its consumers by action and rotation risks
//   rotor apply   act on a live cluster for a secret or a notification file
//   rotor rotate  rotate a secret now with its configured strategy
//   rotor rollback  restore a secret's previous value as a new version
//   rotor status  is a rotation done, and where is it stuck (read-only)
//   rotor completion bash|zsh, rotor --version
import { InputError, errorMessage } from '../errors';
import { COMMANDS, COMPLETION_COMMAND } from './commands';
import { completionScript } from './completion';
import { helpText, parseFlags } from './flags';
import type { CliIo } from './io';
import { processIo } from './io';
import { packageVersion } from './version';

const USAGE = `Usage: rotor <command> [flags]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(11)}${c.summary.split('\n')[0]}`).join('\n')}

Flags:
  -h, --help   show this help
  --version    print rotor's version

Run rotor <command> --help for the flags of each.
`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'plan':
        return await (await import('./plan')).runPlan(rest, io);
      case 'audit':
        return await (await import('./audit')).runAudit(rest, io);
      case 'apply':
        return await (await import('./apply')).runApply(rest, io);
      case 'rotate':
        return await (await import('./rotate')).runRotate(rest, io);
      case 'rollback':
        return await (await import('./rollback')).runRollback(rest, io);
      case 'status':
        return await (await import('./status')).runStatus(rest, io);
      case 'completion': {
        const flags = parseFlags(COMPLETION_COMMAND, rest);
        if (flags.boolean('help')) {
          io.stdout(helpText(COMPLETION_COMMAND));
          return 0;
        }
        if (flags.positionals.length > 1)
          throw new InputError(`unexpected argument "${flags.positionals[1] ?? ''}"`);
        io.stdout(completionScript(flags.positionals[0]));
        return 0;
      }
      case '--version':
        io.stdout(`rotor ${packageVersion()}\n`);
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        // Asked for help: usage on stdout, exit 0. No command at all is bad usage: stderr, exit 2.
        if (command === undefined) {
          io.stderr(USAGE);
          return 2;
        }
        io.stdout(USAGE);
        return 0;
      default:
        throw new InputError(`unknown command "${command}" (${COMMANDS.map((c) => c.name).join(', ')})`);
    }
  } catch (e) {
    if (e instanceof InputError) {
      io.stderr(`rotor ${command ?? ''}: ${e.message}\n`);
      return 2;
    }
    io.stderr(`rotor ${command ?? ''}: ${errorMessage(e)}\n`);
    if (io.env.ROTOR_DEBUG && e instanceof Error && e.stack) io.stderr(e.stack + '\n');
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`rotor: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    },
  );
}
