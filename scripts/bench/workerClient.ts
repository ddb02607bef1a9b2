// The parent's side of a contender's process: forks it with an IPC channel and exchanges one
// message at a time with it (./protocol.ts). The process is ./worker.ts under tsx (given a
// kubeconfig), or any script speaking the same messages, such as ./bundle-worker.mjs (Rotor from
// the packaged bundle in plain node).
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/harness/controlPlane';
import type { EventResult, FromWorker, Role, ToWorker, WorkerStats } from './protocol';

const WORKER_TIMEOUT_MS = 5 * 60_000;

/** A worker script other than ./worker.ts: what to fork, with which node flags and environment. */
export interface WorkerScript {
  readonly path: string;
  readonly args: readonly string[];
  readonly execArgv: readonly string[];
  /** The child's whole environment (default: the parent's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** A contender's process: one message in flight at a time. */
export class Worker {
  private readonly child: ChildProcess;
  private readonly waiting: Array<{ resolve: (m: FromWorker) => void; reject: (e: Error) => void }> = [];
  private readonly inbox: FromWorker[] = [];
  private exitError?: Error;

  constructor(
    readonly role: Role,
    /** A kubeconfig for ./worker.ts as `role`, or another worker script. */
    kubeconfigOrScript: string | WorkerScript,
  ) {
    const script: WorkerScript =
      typeof kubeconfigOrScript === 'string'
        ? {
            path: join(__dirname, 'worker.ts'),
            args: [role, kubeconfigOrScript],
            execArgv: ['--import', 'tsx'],
          }
        : kubeconfigOrScript;
    this.child = fork(script.path, [...script.args], {
      cwd: REPO_ROOT,
      execArgv: [...script.execArgv],
      ...(script.env ? { env: script.env } : {}),
      // The worker's stdout goes to our stderr: our stdout carries only the result line.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    this.child.on('message', (m: FromWorker) => {
      const w = this.waiting.shift();
      if (w) w.resolve(m);
      else this.inbox.push(m);
    });
    this.child.on('exit', (code, signal) => {
      const error = new Error(`${role} worker exited (${code ?? signal ?? '?'})`);
      this.exitError = error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    });
  }

  /** The worker's next message; a worker silent for WORKER_TIMEOUT_MS fails the bench rather than hanging it. */
  next(): Promise<FromWorker> {
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.role} worker: no answer in ${WORKER_TIMEOUT_MS / 1000}s`)),
        WORKER_TIMEOUT_MS,
      );
      const done =
        <T>(f: (v: T) => void) =>
        (v: T): void => {
          clearTimeout(timer);
          f(v);
        };
      this.waiting.push({ resolve: done(resolve), reject: done(reject) });
    });
  }

  async ready(): Promise<void> {
    const m = await this.next();
    if (m.type !== 'ready') throw new Error(`${this.role} worker: expected ready, got ${m.type}`);
  }

  async event(id: number, notification: string): Promise<EventResult> {
    const msg: ToWorker = { type: 'event', id, notification };
    this.child.send(msg);
    const m = await this.next();
    if (m.type !== 'result') throw new Error(`${this.role} worker: expected a result, got ${m.type}`);
    if (m.error) throw new Error(`${this.role} worker, event ${id}: ${m.error}`);
    return m;
  }

  /** Every notification at once (bundle-worker.mjs only); results in their order, errors included. */
  async burst(id: number, notifications: readonly string[]): Promise<readonly EventResult[]> {
    const msg: ToWorker = { type: 'burst', id, notifications };
    this.child.send(msg);
    const m = await this.next();
    if (m.type !== 'burst-result')
      throw new Error(`${this.role} worker: expected a burst result, got ${m.type}`);
    return m.results;
  }

  async finish(): Promise<WorkerStats> {
    const msg: ToWorker = { type: 'done' };
    this.child.send(msg);
    const m = await this.next();
    if (m.type !== 'stats') throw new Error(`${this.role} worker: expected stats, got ${m.type}`);
    return m;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
