// A benchmark contender in a process of its own (forked by scripts/bench.ts with an IPC channel):
//   worker.ts rotor    KUBECONFIG   Rotor's live pipeline (reconcileEvent), as the `rotor` user
//   worker.ts baseline KUBECONFIG   the naive per-namespace script (./baseline.ts)
// For each notification it receives it reports wall time, requests and patches; on `done`, its
// peak RSS. Nothing here writes to stdout: the parent's last stdout line is the result.
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import { parseNotification } from '../../functions/core/event';
import { eventContext } from '../../functions/core/plan';
import { ProjectMap } from '../../functions/core/secretName';
import { createLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import type { ReconcileConfig } from '../../functions/pipeline/reconcile';
import { naiveRestart } from './baseline';
import { PROJECT_ID, PROJECT_NUMBER } from './fleet';
import type { EventResult, FromWorker, Role, ToWorker } from './protocol';

/** Counts PATCH requests on top of the API's own request count. */
class CountingApi implements KubeApi {
  patches = 0;
  constructor(private readonly inner: KubeApi) {}
  get cluster(): string {
    return this.inner.cluster;
  }
  request<T>(req: KubeRequest): Promise<T> {
    if (req.method === 'PATCH') this.patches++;
    return this.inner.request<T>(req);
  }
  requestCount(): number {
    return this.inner.requestCount();
  }
  close(): void {
    this.inner.close();
  }
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function main(): void {
  const [role, kubeconfig] = process.argv.slice(2) as [Role, string];
  if ((role !== 'rotor' && role !== 'baseline') || !kubeconfig)
    throw new Error('usage: worker.ts rotor|baseline KUBECONFIG');
  const api = new CountingApi(kubeApiFromKubeconfig(kubeconfig, undefined, 'bench'));
  let logLines = 0;
  const logger = createLogger({
    minSeverity: 'WARNING',
    sink: (line) => {
      // A few lines are worth seeing; thousands would drown the progress output.
      if (logLines++ < 5) process.stderr.write(`[${role}] ${line}\n`);
    },
  });
  const cfg: ReconcileConfig = {
    clusters: [api],
    projects: ProjectMap.parse(`${PROJECT_ID}=${PROJECT_NUMBER}`),
    defaultProject: PROJECT_ID,
    dryRun: false,
    maxWaitMs: 30 * 60_000,
    concurrency: Number(process.env.ROTOR_CONCURRENCY ?? 8),
    reload: { retries: 3, backoffMs: 500 },
    logger,
  };

  const handle = async (id: number, notification: string): Promise<EventResult> => {
    const requests0 = api.requestCount();
    const patches0 = api.patches;
    const started = performance.now();
    const done = (r: Omit<EventResult, 'type' | 'id' | 'ms' | 'requests' | 'patches'>): EventResult => ({
      type: 'result',
      id,
      ms: performance.now() - started,
      requests: api.requestCount() - requests0,
      patches: api.patches - patches0,
      ...r,
    });
    try {
      const event = parseNotification(notification);
      if (role === 'baseline') {
        if (!event.secret) throw new Error('no secret in the notification');
        const r = await naiveRestart(api, event.secret.secret);
        return done({ restarted: r.restarted, recorded: [], otherResults: {}, converged: true });
      }
      const ctx = eventContext(event);
      if (!ctx) throw new Error('no secret in the notification');
      const outcome = await reconcileEvent(ctx, event.messageId ? { messageId: event.messageId } : {}, cfg);
      const restarted: string[] = [];
      const recorded: string[] = [];
      const otherResults: Record<string, number> = {};
      for (const w of outcome.workloads) {
        const id2 = `${w.namespace}/${w.name}`;
        if (w.result === 'restarted') restarted.push(id2);
        else if (w.result === 'recorded') recorded.push(id2);
        else otherResults[w.result] = (otherResults[w.result] ?? 0) + 1;
      }
      const errors = outcome.clusterErrors.map((e) => e.error).join('; ');
      return done({
        restarted,
        recorded,
        otherResults,
        // This control plane runs no pods, so no rollout ever finishes: the event's work is done
        // once only rollouts are awaited (the --storm scenario measures rollouts, with pods).
        converged: outcome.pending === outcome.awaitingRollouts,
        ...(errors ? { error: errors } : {}),
      });
    } catch (e) {
      return done({
        restarted: [],
        recorded: [],
        otherResults: {},
        converged: false,
        error: (e as Error).message,
      });
    }
  };

  const startRssMb = mb(process.memoryUsage().rss);
  // One request at a time: the parent sends the next event only after this one's result.
  let queue = Promise.resolve();
  process.on('message', (msg: ToWorker) => {
    queue = queue.then(async () => {
      if (msg.type === 'event') {
        send(await handle(msg.id, msg.notification));
      } else {
        api.close();
        send({ type: 'stats', peakRssMb: mb(process.resourceUsage().maxRSS * 1024), startRssMb, logLines });
        process.disconnect();
      }
    });
  });
  send({ type: 'ready' });
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench worker: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
