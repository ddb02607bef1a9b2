// ROTOR_CLUSTERS entries with a stage (`CLUSTER;stage=N`), and ROTOR_STAGE_MAX_WAIT_SECONDS.
// Expected values written by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClusterList, parseClusterSpec, stageOf } from '../../functions/cluster/clusterSpec';
import { loadConfig } from '../../functions/config';

const GKE = 'projects/p1/locations/europe-west1/clusters/prod';

describe('cluster stages in ROTOR_CLUSTERS', () => {
  it('an entry without a stage is stage 0, parsed as before', () => {
    const spec = parseClusterSpec(GKE);
    assert.deepEqual(spec, { kind: 'gke', raw: GKE, project: 'p1', location: 'europe-west1', name: 'prod' });
    assert.equal(stageOf(spec), 0);
  });

  it('`;stage=N` sets the stage; the name (raw) stays the cluster alone', () => {
    assert.deepEqual(parseClusterSpec(`${GKE};stage=2`), {
      kind: 'gke',
      raw: GKE,
      project: 'p1',
      location: 'europe-west1',
      name: 'prod',
      stage: 2,
    });
    assert.deepEqual(parseClusterSpec(' kubeconfig:/k/config#staging ; stage = 1 '), {
      kind: 'kubeconfig',
      raw: 'kubeconfig:/k/config#staging',
      path: '/k/config',
      context: 'staging',
      stage: 1,
    });
    assert.equal(stageOf(parseClusterSpec(`${GKE};stage=0`)), 0);
  });

  it('a bad stage or option is refused with a clear error', () => {
    assert.throws(
      () => parseClusterSpec(`${GKE};stage=prod`),
      new RegExp(`^InputError: cluster "${GKE};stage=prod": stage "prod" is not a whole number from 0 to 9$`),
    );
    assert.throws(() => parseClusterSpec(`${GKE};stage=10`), /stage "10" is not a whole number from 0 to 9/);
    assert.throws(() => parseClusterSpec(`${GKE};stage=`), /stage "" is not a whole number from 0 to 9/);
    assert.throws(
      () => parseClusterSpec(`${GKE};wave=1`),
      /"wave=1" is not an option \(only stage=N, e\.g\. projects\/p1\/locations\/europe-west1\/clusters\/prod;stage=1\)/,
    );
    assert.throws(() => parseClusterSpec(`${GKE};stage=1;stage=2`), /stage given twice/);
  });

  it('one cluster in two stages is refused; listed twice in one stage it is still one cluster', () => {
    assert.throws(
      () => parseClusterList(`${GKE};stage=0,${GKE};stage=1`),
      new RegExp(`cluster "${GKE}" is listed in stage 0 and in stage 1`),
    );
    assert.equal(parseClusterList(`${GKE};stage=1,${GKE};stage=1`).length, 2);
  });

  it('loadConfig: the stages, and the stage wait bound (default a day)', () => {
    const cfg = loadConfig({ ROTOR_CLUSTERS: `kubeconfig:/a;stage=0, kubeconfig:/b;stage=1, kubeconfig:/c` });
    assert.deepEqual(
      cfg.clusters.map((c) => [c.raw, stageOf(c)]),
      [
        ['kubeconfig:/a', 0],
        ['kubeconfig:/b', 1],
        ['kubeconfig:/c', 0],
      ],
    );
    assert.equal(cfg.stageMaxWaitMs, 86_400_000);
    assert.equal(loadConfig({ ROTOR_STAGE_MAX_WAIT_SECONDS: '600' }).stageMaxWaitMs, 600_000);
    assert.throws(
      () => loadConfig({ ROTOR_STAGE_MAX_WAIT_SECONDS: '0' }),
      /ROTOR_STAGE_MAX_WAIT_SECONDS="0" is not a whole number >= 1/,
    );
  });
});
