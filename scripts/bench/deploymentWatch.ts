// The storm bench's view of its Deployments (./storm.ts): one list, then a watch from that list's
// resourceVersion (a fresh list when the watch answers 410 Gone or fails, a new watch from the last
// version seen when the server closes it). Each change is handed to the listeners as it arrives,
// so the bench timestamps a Deployment's first Available on its new revision at the event's
// arrival, and waits on conditions over the fleet without listing every Deployment every 250 ms
// (at 600–2 000 Deployments, megabytes per poll against the API server and the 2 cores Rotor and
// the controllers share, which inflated the very overhead the bench measures).
import { Watch } from '@kubernetes/client-node';
import type { ControlPlane } from '../../test/harness/controlPlane';

export interface DeploymentView {
  metadata: {
    name: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

/** Called with each Deployment as it is listed or changes, and the time (epoch ms) it was seen. */
export type DeploymentListener = (d: DeploymentView, atMs: number) => void;

/** After a failed watch or list, the next attempt waits this long (the bench's own API server). */
const RETRY_MS = 500;
/** stop() waits at most this long for the watch request to end. */
const STOP_WAIT_MS = 5_000;

export class DeploymentWatch {
  /** The latest version of each Deployment seen, by name (bounded by the fleet). */
  readonly current = new Map<string, DeploymentView>();
  private readonly listeners = new Set<DeploymentListener>();
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
    private readonly namespace: string,
  ) {
    this.watch = new Watch(plane.kubeConfig());
  }

  /** Lists the namespace's Deployments and watches them until stop(). */
  static async start(plane: ControlPlane, namespace: string): Promise<DeploymentWatch> {
    const w = new DeploymentWatch(plane, namespace);
    await w.list();
    w.loop = w.run();
    return w;
  }

  /** Calls `l` for every change from now on; returns a function that removes it. */
  listen(l: DeploymentListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * Resolves when `done` holds over the Deployments seen (checked now and after each change);
   * rejects after `timeoutMs` saying `what` and the watch's last error.
   */
  until(
    done: (current: ReadonlyMap<string, DeploymentView>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<void> {
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
    const list = await this.plane.admin<{ metadata?: { resourceVersion?: string }; items: DeploymentView[] }>(
      'GET',
      `/apis/apps/v1/namespaces/${this.namespace}/deployments`,
    );
    const at = Date.now();
    // The list's own version: its items' versions are older (a watch from one replays changes).
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    for (const d of list.items) this.seen(d, at);
  }

  private seen(d: DeploymentView, at: number): void {
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
      const path = `/apis/apps/v1/namespaces/${this.namespace}/deployments`;
      this.watch
        .watch(
          path,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
          (type: string, object: unknown) => {
            if (type === 'ERROR') {
              gone = true;
              this.lastError = `watch ERROR: ${JSON.stringify(object).slice(0, 200)}`;
              this.abortWatch?.();
              return;
            }
            const d = object as DeploymentView;
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
