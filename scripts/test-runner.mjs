// The node:test run behind scripts/test.mjs: every test file in its own process (node:test's run(),
// one file per call), `slots` of them at once. The `alone` files run first, each with nothing beside
// it; then the `shared` files, then the `last` ones (short files that fill the last gaps).
// Shared files start longest first, by the durations of the last run kept in `durations` (a JSON
// file outside the checkout; without one, in the order given), so no long file starts last.
// Reported as ONE run: one spec reporter, each file's output as one block when it ends, one closing
// summary (`ℹ tests N` … `ℹ duration_ms`) that counts every file, the failing tests listed once
// after it, and exit 1 when any test failed or was cancelled. Started by test.mjs with
// `--import tsx`, which node:test passes on to every test file's process.
//   node --import tsx scripts/test-runner.mjs '{"slots": 2, "alone": [...], "shared": [...], "last": [...],
//     "root": "/repo", "durations": "~/.cache/rotor/test-durations.json"}'
import { once } from 'node:events';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const plan = JSON.parse(process.argv[2] ?? '{}');
const slots = plan.slots ?? 1;
/** Seconds each file (by its path in the checkout) took in earlier runs. */
const durations = readDurations();
const lastTook = (file) => durations[relative(plan.root ?? '.', file)] ?? Infinity;
const queue = {
  alone: [...(plan.alone ?? [])],
  // Stable: files never timed keep their order, ahead of the timed ones.
  shared: [...(plan.shared ?? [])].sort((a, b) => lastTook(b) - lastTook(a) || 0),
  last: [...(plan.last ?? [])],
};

function readDurations() {
  try {
    const parsed = JSON.parse(readFileSync(plan.durations, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}
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
  const fileStarted = performance.now();
  for await (const event of run({ files: [file], concurrency: 1 })) events.push(event);
  durations[relative(plan.root ?? '.', file)] = Math.round((performance.now() - fileStarted) / 100) / 10;
  await report(events);
}

let running = 0;
let aloneRunning = false;
/** The next file to start now, if any (see the top of this file). */
function next() {
  if (running >= slots || aloneRunning) return undefined;
  if (queue.alone.length > 0) return running === 0 ? { file: queue.alone.shift(), alone: true } : undefined;
  const file = queue.shared.shift() ?? queue.last.shift();
  return file ? { file, alone: false } : undefined;
}

await new Promise((allDone) => {
  const fill = () => {
    for (let job = next(); job; job = next()) {
      running++;
      if (job.alone) aloneRunning = true;
      void runFile(job.file)
        .catch((e) => {
          // node:test reports a file that fails to start as a failing test; anything else is counted here.
          console.error(`✖ ${job.file}: the runner failed: ${e?.stack ?? e}`);
          totals.fail++;
        })
        .finally(() => {
          running--;
          if (job.alone) aloneRunning = false;
          fill();
        });
    }
    if (running === 0) allDone();
  };
  fill();
});
await reported;
if (plan.durations) {
  try {
    mkdirSync(dirname(plan.durations), { recursive: true });
    // Written whole, then renamed: another run reading it meanwhile sees the old file or the new one.
    writeFileSync(`${plan.durations}.${process.pid}`, `${JSON.stringify(durations, null, 1)}\n`);
    renameSync(`${plan.durations}.${process.pid}`, plan.durations);
  } catch {
    // Only an ordering hint: a run without it is as correct, only its long files may start late.
  }
}
for (const [name, value] of Object.entries(totals))
  await write({ type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${value}` } });
await write({
  type: 'test:diagnostic',
  data: { nesting: 0, message: `duration_ms ${performance.now() - started}` },
});
reporter.end();
await finished(reporter);
process.exitCode = totals.fail + totals.cancelled > 0 ? 1 : 0;
