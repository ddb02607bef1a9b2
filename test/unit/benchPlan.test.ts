// The bench:plan input (10 000 generated workloads, 2% dependents through every consumption mode)
// planned through the CLI: the plan must be exactly the expected one. Correctness only; timings
// belong to `npm run bench:plan`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CliIo } from '../../functions/cli/io';
import { main } from '../../functions/cli/main';
import type { Plan } from '../../functions/core/plan';
import {
  BENCH_PROJECT,
  BENCH_PROJECT_NUMBER,
  BENCH_SECRET,
  checkPlan,
  generateBenchManifests,
} from '../../scripts/bench-plan';

const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:plan input', () => {
  it('10 000 workloads: every dependent with its action, nothing else', async () => {
    const gen = generateBenchManifests(dir, { workloads: 10_000, namespaces: 100 });
    assert.equal(gen.workloads, 10_000);
    assert.equal(gen.expected.size, 200);
    assert.deepEqual(new Set(gen.expected.values()), new Set(['restart', 'reload', 'none']));
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
      env: {},
    };
    const code = await main(
      [
        'plan',
        '--secret',
        BENCH_SECRET,
        '--version',
        '8',
        '--manifests',
        dir,
        '--project-map',
        `${BENCH_PROJECT}=${BENCH_PROJECT_NUMBER}`,
        '-o',
        'json',
      ],
      io,
    );
    assert.equal(code, 0, stderr);
    const plan = JSON.parse(stdout) as Plan;
    assert.deepEqual(checkPlan(plan, gen.expected), []);
    // checkPlan itself notices a wrong plan.
    const tampered: Plan = {
      ...plan,
      workloads: plan.workloads.map((w, i) =>
        i === 0 ? { ...w, action: w.action === 'none' ? 'restart' : 'none' } : w,
      ),
    };
    assert.equal(checkPlan(tampered, gen.expected).length, 1);
  });
});
