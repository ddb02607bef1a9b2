// Last-resort cleanup for test harness resources (processes, temp dirs, network namespaces).
//
// Tests call the async `stop()`/`close()` of what they start; this registry is for when they can't:
// a failing test that never reaches its `after`, an uncaught exception, Ctrl-C. Node runs no
// `exit` listeners when a signal kills it, so SIGINT/SIGTERM/SIGHUP are caught too, cleaned up
// synchronously, and then re-raised so the process still dies of the signal (exit status as usual).
// Children also get PDEATHSIG (see `deathSignalPrefix`) for the case nothing here can run: SIGKILL.
import { existsSync } from 'node:fs';

type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
let installed = false;

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function runAll(): void {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      // Best effort: one failed cleanup must not stop the others.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

/** Registers a synchronous cleanup to run at process exit or on a terminating signal; returns its remover. */
export function onExit(fn: Cleanup): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runAll);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

/**
 * `setpriv --pdeathsig KILL --` when available: the kernel kills the child if this process dies
 * (even by SIGKILL, or a test runner's timeout), so no etcd or apiserver outlives its test.
 */
export function deathSignalPrefix(): string[] {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
}
