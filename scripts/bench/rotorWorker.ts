// The benchmark's Rotor process, as Cloud Functions runs it: plain node loading the packaged
// bundle (./bundle-worker.mjs), configured through the environment only. One place for the
// environment both the event scenarios (scripts/bench.ts) and the burst (./burst.ts) run it with.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/harness/controlPlane';
import { PROJECT_ID, PROJECT_NUMBER } from './fleet';
import { Worker } from './workerClient';

/** The node flags the Terraform module gives onSecretEvent at its default 512Mi (functions.tf heap_mb). */
export const DEPLOYED_NODE_FLAGS = '--max-old-space-size=384';

/** `npm run package`: dist/function, the bundle the Rotor worker loads. */
export function packageBundle(): void {
  const pkg = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'package.mjs')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (pkg.status !== 0) throw new Error(`npm run package failed (${pkg.status ?? pkg.signal ?? '?'})`);
}

/** A Rotor instance reconciling the contexts `clusterNames` of `kubeconfig` (`env`: e.g. the Secret Manager stand-in's endpoint). */
export function rotorWorker(
  kubeconfig: string,
  clusterNames: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Worker {
  return new Worker('rotor', {
    path: join(__dirname, 'bundle-worker.mjs'),
    args: [join(REPO_ROOT, 'dist', 'function')],
    // As deployed: the Terraform module bounds the heap to 3/4 of the function's 512Mi
    // (NODE_OPTIONS, terraform/modules/rotor/functions.tf). ROTOR_BENCH_NODE_FLAGS replaces it
    // (e.g. --max-old-space-size=128: a smaller instance; an empty string: V8's own sizing).
    execArgv: (process.env.ROTOR_BENCH_NODE_FLAGS ?? DEPLOYED_NODE_FLAGS).split(' ').filter(Boolean),
    env: {
      PATH: process.env.PATH ?? '',
      // As the Cloud Functions runtime sets it: the deployed entry point (functions/index.ts loads its code at once).
      FUNCTION_TARGET: 'onSecretEvent',
      ROTOR_CLUSTERS: clusterNames.map((n) => `kubeconfig:${kubeconfig}#${n}`).join(','),
      ROTOR_PROJECT_MAP: `${PROJECT_ID}=${PROJECT_NUMBER}`,
      ROTOR_DEFAULT_PROJECT: PROJECT_ID,
      ROTOR_MAX_WAIT_SECONDS: '1800',
      ...env,
      // This control plane has no controller manager, so no restart ever finishes rolling out:
      // gated waves (ROTOR_WAVE_SIZE, default 10) would hold every dependent but the first 10 of
      // each event. The bench measures one event's whole work, so every dependent is one step
      // (the --storm scenario measures the waves, on a control plane with the controller manager).
      ROTOR_WAVE_SIZE: process.env.ROTOR_WAVE_SIZE ?? '1000000',
      ...(process.env.ROTOR_CONCURRENCY ? { ROTOR_CONCURRENCY: process.env.ROTOR_CONCURRENCY } : {}),
      ...(process.env.ROTOR_CLUSTER_CONCURRENCY
        ? { ROTOR_CLUSTER_CONCURRENCY: process.env.ROTOR_CLUSTER_CONCURRENCY }
        : {}),
    },
  });
}
