// Tenant text is bounded wherever Rotor repeats it: a reason quotes a short, escaped prefix of an
// annotation value (core/tenantText.ts); a published outcome stays under OUTCOME_LIMIT_BYTES and
// says how many workloads it left out; a log line stays under Cloud Logging's 256 KiB.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import { buildPlan, decideAll } from '../../functions/core/plan';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { fitUtf8, quoteTenant, tenantText, utf8Prefix } from '../../functions/core/tenantText';
import { waveOf } from '../../functions/core/waves';
import { LOG_LINE_LIMIT, createLogger } from '../../functions/log';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import { OUTCOME_LIMIT_BYTES, boundedOutcome } from '../../functions/core/outcome';
import { container, csiVolume, deployment, mount, spc } from './k8s';

const KB = 1000;

describe('quoteTenant and tenantText', () => {
  it('a short value is quoted whole', () => {
    assert.equal(quoteTenant('sometimes'), '"sometimes"');
    assert.equal(tenantText('f0.txt'), 'f0.txt');
  });
  it('control characters, bidi overrides, quotes and backslashes are made visible', () => {
    assert.equal(quoteTenant('\u001b[1A\u001b[2K\u001b[8m'), '"\\x1b[1A\\x1b[2K\\x1b[8m"');
    assert.equal(quoteTenant('a\nb\r\u0000\u007f\u009b'), '"a\\x0ab\\x0d\\x00\\x7f\\x9b"');
    assert.equal(quoteTenant('evil\u202etxt.exe\u2066'), '"evil\\u202etxt.exe\\u2066"');
    assert.equal(quoteTenant('say "hi" \\x1b'), '"say \\"hi\\" \\\\x1b"');
  });
  it('a long value shows its first 64 characters and how many more there were', () => {
    assert.equal(quoteTenant('r'.repeat(250 * KB)), `"${'r'.repeat(64)}…" (+249936 more characters)`);
    assert.equal(quoteTenant('r'.repeat(65)), `"${'r'.repeat(64)}…" (+1 more characters)`);
    assert.equal(quoteTenant('r'.repeat(64)), `"${'r'.repeat(64)}"`);
  });
  it('characters are whole code points: an emoji is never cut in half', () => {
    const faces = '😀'.repeat(70);
    assert.equal(quoteTenant(faces), `"${'😀'.repeat(64)}…" (+6 more characters)`);
    assert.equal(quoteTenant(`${'😀'.repeat(64)}x`), `"${'😀'.repeat(64)}…" (+1 more characters)`);
  });
});

describe('utf8Prefix and fitUtf8', () => {
  it('cut between characters, counted in bytes', () => {
    assert.equal(utf8Prefix('aé€😀', 1), 'a');
    assert.equal(utf8Prefix('aé€😀', 2), 'a');
    assert.equal(utf8Prefix('aé€😀', 3), 'aé');
    assert.equal(utf8Prefix('aé€😀', 5), 'aé');
    assert.equal(utf8Prefix('aé€😀', 6), 'aé€');
    assert.equal(utf8Prefix('aé€😀', 9), 'aé€');
    assert.equal(utf8Prefix('aé€😀', 10), 'aé€😀');
    assert.equal(fitUtf8('€€€€', 12), '€€€€');
    assert.equal(fitUtf8('€€€€', 11), '€€ …');
  });
});

describe('42 workloads with 250 KB annotation values', () => {
  const secret = 'projects/my-proj/secrets/db-password';
  const huge = (c: string): string => c.repeat(250 * KB);
  const objects = [
    spc('latest', [{ resourceName: `${secret}/versions/latest`, path: 'pw' }]),
    ...Array.from({ length: 42 }, (_, i) =>
      deployment(
        `app-${i}`,
        {
          containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
          volumes: [csiVolume('s', 'latest')],
        },
        { annotations: { 'rotor.dev/on-rotate': huge('x'), 'rotor.dev/wave': huge('9') } },
      ),
    ),
  ];

  it('every reason and warning quotes a short prefix: the plan is a few KB, not 10 MB', () => {
    const projects = ProjectMap.parse('my-proj=123456789012');
    const index = new DependencyIndex(inventoryFrom('c', objects), { projects });
    const event = { type: 'SECRET_VERSION_ADD' as const, secret: parseSecretName(secret).id, version: '7' };
    const plan = buildPlan(event, decideAll(index, event), projects);
    assert.equal(plan.workloads.length, 42);
    for (const w of plan.workloads)
      assert.equal(
        w.reason,
        `CSI file pw in app updates in place, but the app declared no rotor.dev/reload-endpoint and no rotor.dev/on-rotate: none (rotor.dev/on-rotate "${'x'.repeat(64)}…" (+249936 more characters) ignored: expected restart, reload, none or manual)`,
      );
    assert.ok(JSON.stringify(plan).length < 64 * 1024, `${JSON.stringify(plan).length} characters`);
    assert.equal(
      waveOf(objects[1] ?? {}).warning,
      `rotor.dev/wave "${'9'.repeat(64)}…" (+249936 more characters) is not a whole number from 0 to 99: the workload goes in the default wave (100)`,
    );
  });
});

describe('boundedOutcome', () => {
  const workload = (i: number, reason: string): WorkloadOutcome => ({
    cluster: 'c',
    kind: 'Deployment',
    namespace: 'shop',
    name: `app-${i}`,
    action: 'restart',
    result: 'restarted',
    reason,
  });
  const outcome = (workloads: WorkloadOutcome[]): EventOutcome => ({
    event: { type: 'SECRET_VERSION_ADD', secret: 'projects/my-proj/secrets/db', version: '7' },
    scope: { kind: 'event' },
    dryRun: false,
    workloads,
    clusterErrors: [],
    warnings: workloads.map((w) => `Deployment shop/${w.name}: ${w.reason}`),
    pending: 0,
    awaitingRollouts: 0,
    converged: true,
    durationMs: 5,
  });

  it('an outcome that fits is published whole', () => {
    const small = outcome([workload(1, 'restarted')]);
    assert.equal(boundedOutcome(small), small);
  });

  it('42 workloads with 250 KB reasons: under the bound, with the workloads that fit and how many were left out', () => {
    const big = outcome(Array.from({ length: 42 }, (_, i) => workload(i, 'r'.repeat(250 * KB))));
    assert.ok(JSON.stringify(big).length > 20_000_000, 'the unbounded outcome would be over Pub/Sub’s 10 MB');
    const published = boundedOutcome(big);
    const bytes = Buffer.byteLength(JSON.stringify(published));
    assert.ok(bytes <= OUTCOME_LIMIT_BYTES, `${bytes} bytes`);
    // 4 MiB holds 16 whole 250 KB workload outcomes; the warnings did not fit beside them.
    assert.deepEqual(
      published.workloads.map((w) => w.name),
      Array.from({ length: 16 }, (_, i) => `app-${i}`),
    );
    assert.deepEqual(published.warnings, []);
    assert.deepEqual(published.leftOut, {
      workloads: 26,
      warnings: 42,
      note: "… 26 of 42 workload outcome(s) and 42 of 42 warning(s) left out: the outcome message is bounded to 4194304 bytes (the log has each workload's line)",
    });
    assert.equal(published.converged, true);
    assert.equal(published.pending, 0);
  });
});

describe('log lines', () => {
  it('a 489 KiB message is cut, and the line says so; it stays under 256 KiB', () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l) });
    log.error(`Deployment shop/app: ${'é'.repeat(250 * 1024)}`, {
      workload: { reason: 'r'.repeat(100 * 1024) },
      cluster: 'c1',
    });
    const line = lines[0] ?? '';
    assert.ok(Buffer.byteLength(line) < 256 * 1024, `${Buffer.byteLength(line)} bytes`);
    assert.ok(Buffer.byteLength(line) <= LOG_LINE_LIMIT);
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.severity, 'ERROR');
    assert.equal(entry.cluster, 'c1');
    assert.equal(entry.workload, undefined);
    assert.equal(
      entry.cut,
      'message cut from 512021 bytes; field(s) workload left out (over 4096 bytes each)',
    );
    assert.match(String(entry.message), /^Deployment shop\/app: éé+ …$/);
  });
  it('a line within the bound is untouched', () => {
    const lines: string[] = [];
    createLogger({ sink: (l) => lines.push(l) }).info('hello', { a: 1 });
    assert.deepEqual(lines, ['{"severity":"INFO","message":"hello","a":1}']);
  });
});
