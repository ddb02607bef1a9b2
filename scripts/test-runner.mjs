// The node:test run behind scripts/test.mjs: every test file in its own process (node:test's run(),
// one file per call), `slots` of them at once. The `alone` files run first, never two at a time, and
// beside one of them only a `beside` file; then the `shared` files, then the beside files left.
// Reported as ONE run: one spec reporter, each file's output as one block when it ends, one closing
// summary (`ℹ tests N` … `ℹ duration_ms`) that counts every file, the failing tests listed once
// after it, and exit 1 when any test failed or was cancelled. Started by test.mjs with
// `--import tsx`, which node:test passes on to every test file's process.
//   node --import tsx scripts/test-runner.mjs '{"slots": 2, "alone": [...], "beside": [...], "shared": [...]}'
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const plan = JSON.parse(process.argv[2] ?? '{}');
const slots = plan.slots ?? 1;
const queue = {
  alone: [...(plan.alone ?? [])],
  beside: [...(plan.beside ?? [])],
  shared: [...(plan.shared ?? [])],
};
const started = performance.now();
const reporter = new spec();
reporter.pipe(process.stdout);

// Each run() ends with its own summary: the root's plan and `ℹ NAME VALUE` diagnostics at nesting 0
// without a file (a test's own diagnostics always carry its file). They are summed here instead.
const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;
const totals = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const isRunSummary = (event) =>
  event.data?.nesting === 0 &&
  event.data.file === undefined &&
  (event.type === 'test:plan' || (event.type === 'test:diagnostic' && SUMMARY.test(event.data.message)));

const write = async (event) => {
  if (!reporter.write(event)) await once(reporter, 'drain');
};
let reported = Promise.resolve();
/** One file's events, written as one block once the file ended (blocks one after another). */
function report(events) {
  reported = reported.then(async () => {
    for (const event of events) {
      if (!isRunSummary(event)) await write(event);
      else if (event.type === 'test:diagnostic') {
        const [, name, value] = SUMMARY.exec(event.data.message);
        if (name in totals) totals[name] += Number(value);
      }
    }
  });
  return reported;
}

async function runFile(file) {
  const events = [];
  for await (const event of run({ files: [file], concurrency: 1 })) events.push(event);
  await report(events);
}

let running = 0;
let besideRunning = 0;
let aloneRunning = false;
/** The next file to start now, if any (see the top of this file). */
function next() {
  if (running >= slots) return undefined;
  const beside = () => (queue.beside.length > 0 ? { file: queue.beside.shift(), kind: 'beside' } : undefined);
  // The next alone file starts once nothing but beside files runs.
  if (!aloneRunning && queue.alone.length > 0 && running === besideRunning)
    return { file: queue.alone.shift(), kind: 'alone' };
  if (aloneRunning || queue.alone.length > 0) return beside();
  // The longer shared files first: the short beside ones fill the last gaps.
  return queue.shared.length > 0 ? { file: queue.shared.shift(), kind: 'shared' } : beside();
}

await new Promise((allDone) => {
  const fill = () => {
    for (let job = next(); job; job = next()) {
      running++;
      if (job.kind === 'alone') aloneRunning = true;
      if (job.kind === 'beside') besideRunning++;
      void runFile(job.file)
        .catch((e) => {
          // node:test reports a file that fails to start as a failing test; anything else is counted here.
          console.error(`✖ ${job.file}: the runner failed: ${e?.stack ?? e}`);
          totals.fail++;
        })
        .finally(() => {
          running--;
          if (job.kind === 'alone') aloneRunning = false;
          if (job.kind === 'beside') besideRunning--;
          fill();
        });
    }
    if (running === 0) allDone();
  };
  fill();
});
await reported;
for (const [name, value] of Object.entries(totals))
  await write({ type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${value}` } });
await write({
  type: 'test:diagnostic',
  data: { nesting: 0, message: `duration_ms ${performance.now() - started}` },
});
reporter.end();
await finished(reporter);
process.exitCode = totals.fail + totals.cancelled > 0 ? 1 : 0;
