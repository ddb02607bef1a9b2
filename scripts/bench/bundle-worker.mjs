// The benchmark's Rotor contender as Cloud Functions runs it: plain node (no tsx) loading the
// packaged bundle (dist/function/index.js from `npm run package`) and calling its onSecretEvent
// entry point with each CloudEvent, configured only through the environment (ROTOR_CLUSTERS etc.,
// set by scripts/bench.ts). Outcomes are read from the function's own structured log lines; the
// requests and patches are counted by the cluster proxies (./clusterProxy.ts). Same messages as
// ./worker.ts (./protocol.ts).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [bundleDir] = process.argv.slice(2);
if (!bundleDir) throw new Error('usage: bundle-worker.mjs DIST_FUNCTION_DIR');

/**
 * Per delivery in flight, by its Pub/Sub messageId (every log line of a delivery carries it, so
 * concurrent deliveries of a burst are told apart): the workload outcomes and the summary line's
 * fields (jsonPayload.outcome: pending and awaitingRollouts), from the function's own log lines
 * (swallowed, not printed).
 */
const deliveries = new Map();
let warnings = 0;
process.stdout.write = (chunk, encoding, callback) => {
  for (const line of String(chunk).split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line);
      const d = deliveries.get(entry.messageId);
      if (d && entry.workload && typeof entry.workload.result === 'string') d.workloads.push(entry.workload);
      else if (d && entry.outcome && typeof entry.outcome.pending === 'number') d.summary = entry.outcome;
      else if ((entry.severity === 'WARNING' || entry.severity === 'ERROR') && warnings++ < 5)
        process.stderr.write(`[rotor] ${line}\n`);
    } catch {
      // not a log line
    }
  }
  if (typeof encoding === 'function') encoding();
  else if (typeof callback === 'function') callback();
  return true;
};

const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const require = createRequire(import.meta.url);
const fn = require(join(bundleDir, 'index.js'));
// "Start" is the instance ready to serve: Cloud Functions loads index.js, whose FUNCTION_TARGET
// (set by scripts/bench.ts as the runtime sets it) loads that function's code at once (one tick:
// the bundle's module initialisers run in a microtask), before the first request arrives.
await new Promise((resolve) => setImmediate(resolve));
const startRssMb = mb(process.memoryUsage().rss);

async function handle(id, notification) {
  const body = JSON.parse(notification);
  const messageId = body.data.message.messageId;
  const delivery = { workloads: [], summary: undefined };
  deliveries.set(messageId, delivery);
  const started = performance.now();
  let converged = true;
  let error;
  try {
    await fn.onSecretEvent(body);
  } catch (e) {
    // Not converged (waiting or transient): the function throws so Pub/Sub redelivers. This
    // control plane runs no pods, so no rollout ever finishes: an event whose only pending items
    // are the rollouts it started has done its work (the --storm scenario measures rollouts).
    const summary = delivery.summary;
    converged = summary !== undefined && summary.pending === summary.awaitingRollouts;
    error = /pending/.test(e.message) ? undefined : e.message;
  } finally {
    deliveries.delete(messageId);
  }
  const ms = performance.now() - started;
  const restarted = [];
  const recorded = [];
  const otherResults = {};
  for (const w of delivery.workloads) {
    const key = `${w.namespace}/${w.name}`;
    if (w.result === 'restarted') restarted.push(key);
    else if (w.result === 'recorded') recorded.push(key);
    else otherResults[w.result] = (otherResults[w.result] ?? 0) + 1;
  }
  return {
    type: 'result',
    id,
    ms,
    requests: 0,
    patches: 0,
    restarted,
    recorded,
    otherResults,
    converged,
    ...(error ? { error } : {}),
  };
}

let queue = Promise.resolve();
process.on('message', (msg) => {
  queue = queue.then(async () => {
    if (msg.type === 'event') process.send(await handle(msg.id, msg.notification));
    else if (msg.type === 'burst')
      // Every delivery at once, as Pub/Sub pushes a burst to an instance that takes them all.
      process.send({
        type: 'burst-result',
        id: msg.id,
        results: await Promise.all(msg.notifications.map((n, i) => handle(i, n))),
      });
    else {
      // Where the memory is at the end (not the peak): live heap, external buffers, and what a
      // full collection leaves (with --expose-gc in ROTOR_BENCH_NODE_FLAGS), on stderr.
      const at = (label) => {
        const u = process.memoryUsage();
        process.stderr.write(
          `[rotor] memory ${label}: rss ${mb(u.rss)} MB, heap used ${mb(u.heapUsed)} of ${mb(u.heapTotal)} MB, external ${mb(u.external)} MB (array buffers ${mb(u.arrayBuffers)} MB)\n`,
        );
      };
      at('after the events');
      if (typeof globalThis.gc === 'function') {
        globalThis.gc();
        at('after a full collection');
      }
      process.send({
        type: 'stats',
        peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
        startRssMb,
        logLines: warnings,
      });
      process.disconnect();
    }
  });
});
process.send({ type: 'ready' });
