// One collection of a namespace, kept current from the API server the way an informer does: one
// list, then a watch from that list's resourceVersion (a fresh list when the watch answers 410 Gone
// or fails, a new watch from the last version seen when the server closes it). Each object is
// handed to the listeners as it arrives. The storm bench timestamps its Deployments' rollouts with
// it and waits on conditions over the fleet (scripts/bench/storm.ts), and the kubelet stand-in
// (./kubelet.ts, `watch`) follows its pods with it, instead of listing every object every few
// hundred ms (at 600–2 000 objects, megabytes per poll against the API server and the 2 cores
// Rotor and the controllers share, which inflated the very overhead the bench measures).
import { Watch } from '@kubernetes/client-node';
import type { ControlPlane } from '../../test/harness/controlPlane';

/** What the watch reads of every object: its name and version. */
export interface Named {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string };
}

/** Called with each object as it is listed or changes, and the time (epoch ms) it was seen. */
export type Listener<T> = (o: T, atMs: number) => void;

/** After a failed watch or list, the next attempt waits this long (the bench's own API server). */
const RETRY_MS = 500;
/** stop() waits at most this long for the watch request to end. */
const STOP_WAIT_MS = 5_000;

export class ListWatch<T extends Named> {
  /** The latest version of each object seen, by name (bounded by the collection). */
  readonly current = new Map<string, T>();
  private readonly listeners = new Set<Listener<T>>();
  private readonly watch: Watch;
  /** Ends the running watch request (whether or not its response has started). */
  private abortWatch: (() => void) | undefined;
  private stopped = false;
  private resourceVersion = '';
  private lastError = '';
  /** Re-lists after 410 Gone or a failure (a figure of the run, not an error). */
  relists = 0;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;

  private constructor(
    private readonly plane: ControlPlane,
    /** The collection, e.g. /apis/apps/v1/namespaces/storm/deployments. */
    private readonly path: string,
  ) {
    this.watch = new Watch(plane.kubeConfig());
  }

  /** Lists the collection at `path` (as the admin) and watches it until stop(). */
  static async start<T extends Named>(plane: ControlPlane, path: string): Promise<ListWatch<T>> {
    const w = new ListWatch<T>(plane, path);
    await w.list();
    w.loop = w.run();
    return w;
  }

  /** Calls `l` for every change from now on; returns a function that removes it. */
  listen(l: Listener<T>): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * Resolves when `done` holds over the objects seen (checked now and after each change);
   * rejects after `timeoutMs` saying `what` and the watch's last error.
   */
  until(done: (current: ReadonlyMap<string, T>) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done(this.current)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} (watch: ${this.lastError || 'no error'})`,
          ),
        );
      }, timeoutMs);
      const remove = this.listen(() => {
        if (!done(this.current)) return;
        clearTimeout(timer);
        remove();
        resolve();
      });
    });
  }

  /** Ends the watch and waits for its loop: no request is left running against the control plane. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abortWatch?.();
    this.wake?.();
    // A watch whose response never started cannot be aborted (the client hands its controller
    // back with the response): its failure later is caught, so the wait is bounded.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
  }

  private async list(): Promise<void> {
    const list = await this.plane.admin<{ metadata?: { resourceVersion?: string }; items: T[] }>(
      'GET',
      this.path,
    );
    const at = Date.now();
    // The list's own version: its items' versions are older (a watch from one replays changes).
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    for (const d of list.items) this.seen(d, at);
  }

  private seen(d: T, at: number): void {
    this.current.set(d.metadata.name, d);
    for (const l of [...this.listeners]) l(d, at);
  }

  /** Watches until stopped: from the last version seen, re-listing when that version is gone. */
  private async run(): Promise<void> {
    while (!this.stopped) {
      const ended = await this.watchOnce();
      if (this.stopped) return;
      if (ended === 'closed') continue;
      try {
        if (ended === 'failed') await this.pause(RETRY_MS);
        if (this.stopped) return;
        this.relists++;
        await this.list();
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
      }
    }
  }

  /** One watch request: 'closed' by the server (watch again), 'gone' (410: re-list) or 'failed'. */
  private watchOnce(): Promise<'closed' | 'gone' | 'failed'> {
    return new Promise((resolve) => {
      let gone = false;
      // The watch's events may arrive before its AbortController is handed back.
      let controller: AbortController | undefined;
      let aborted = false;
      this.abortWatch = () => {
        aborted = true;
        controller?.abort();
      };
      this.watch
        .watch(
          this.path,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
          (type: string, object: unknown) => {
            if (type === 'ERROR') {
              gone = true;
              this.lastError = `watch ERROR: ${JSON.stringify(object).slice(0, 200)}`;
              this.abortWatch?.();
              return;
            }
            const d = object as T;
            if (type === 'BOOKMARK') {
              if (d.metadata.resourceVersion) this.resourceVersion = d.metadata.resourceVersion;
              return;
            }
            if (d.metadata.resourceVersion) this.resourceVersion = d.metadata.resourceVersion;
            if (type === 'DELETED') {
              this.current.delete(d.metadata.name);
              return;
            }
            this.seen(d, Date.now());
          },
          (err: unknown) => {
            if (err && !gone && !this.stopped)
              this.lastError = err instanceof Error ? err.message : JSON.stringify(err);
            resolve(gone ? 'gone' : err && !this.stopped ? 'failed' : 'closed');
          },
        )
        .then((c) => {
          controller = c;
          if (aborted || this.stopped) c.abort();
        })
        .catch((e: unknown) => {
          this.lastError = e instanceof Error ? e.message : String(e);
          resolve('failed');
        });
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
