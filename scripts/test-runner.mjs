// The node:test run behind scripts/test.mjs: test files in phases, each phase with its own number of
// files at once, reported as ONE run: one spec reporter for every phase, one closing summary
// (`ℹ tests N` … `ℹ duration_ms`) that counts every phase, the failing tests listed once after it,
// and exit 1 when any test failed or was cancelled. Started by test.mjs with `--import tsx`, which
// node:test passes on to every test file's process.
//   node --import tsx scripts/test-runner.mjs '[{"files": [...], "concurrency": 2}, ...]'
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const phases = JSON.parse(process.argv[2] ?? '[]');
const started = performance.now();
const reporter = new spec();
reporter.pipe(process.stdout);
const write = async (event) => {
  if (!reporter.write(event)) await once(reporter, 'drain');
};

// Each run() ends with its own summary: the root's plan and `ℹ NAME VALUE` diagnostics at nesting 0
// without a file (a test's own diagnostics always carry its file). They are summed here instead.
const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;
const totals = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const isRunSummary = (event) =>
  event.data?.nesting === 0 &&
  event.data.file === undefined &&
  (event.type === 'test:plan' || (event.type === 'test:diagnostic' && SUMMARY.test(event.data.message)));

for (const phase of phases) {
  for await (const event of run({ files: phase.files, concurrency: phase.concurrency })) {
    if (!isRunSummary(event)) {
      await write(event);
      continue;
    }
    const [, name, value] = event.type === 'test:diagnostic' ? SUMMARY.exec(event.data.message) : [];
    if (name in totals) totals[name] += Number(value);
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
