#!/usr/bin/env node
// rotor: the command-line face of the same core the functions run.
//   rotor plan    what a rotation will do to which workload (offline or live, read-only)
//   rotor audit   every Secret Manager secret in use, its consumers by action and rotation risks
//   rotor apply   act on a live cluster for a secret or a notification file
//   rotor rotate  rotate a secret now with its configured strategy
import { InputError, errorMessage } from '../errors';
import type { CliIo } from './io';
import { processIo } from './io';

const USAGE = `Usage: rotor <command> [options]

Commands:
  plan     show what a rotation of a secret does to each dependent workload (read-only)
  audit    every Secret Manager secret the workloads use: consumers by action, rotation risks
  apply    act on live clusters: restart, reload or wait, per workload
  rotate   rotate a secret now with its configured strategy

Run rotor <command> --help for the options of each.
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
        throw new InputError(`unknown command "${command}" (plan, audit, apply, rotate)`);
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
