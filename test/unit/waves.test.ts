// Wave ordering, pacing and the halt, rule by rule, from hand-written planner entries; the wave
// annotation as hostile input; which workloads Rotor already acted on for an event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventContext } from '../../functions/core/decision';
import type { KubeObject } from '../../functions/core/kube';
import type { WaveEntry, WaveStep } from '../../functions/core/waves';
import { DEFAULT_WAVE, actedForEvent, appliedForEvent, planWaves, waveOf } from '../../functions/core/waves';

const withAnnotations = (annotations: Record<string, unknown>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'w', namespace: 'shop', annotations: annotations as Record<string, string> },
  spec: { template: { spec: {} } },
});

describe('rotor.dev/wave', () => {
  it('reads 0..99; absent is the default wave, after every numbered one', () => {
    assert.deepEqual(waveOf(withAnnotations({ 'rotor.dev/wave': '0' })), { wave: 0 });
    assert.deepEqual(waveOf(withAnnotations({ 'rotor.dev/wave': ' 7 ' })), { wave: 7 });
    assert.deepEqual(waveOf(withAnnotations({ 'rotor.dev/wave': '99' })), { wave: 99 });
    assert.deepEqual(waveOf(withAnnotations({})), { wave: 100 });
    assert.equal(DEFAULT_WAVE, 100);
  });
  it('an unquoted YAML number is read as its text', () => {
    assert.deepEqual(waveOf(withAnnotations({ 'rotor.dev/wave': 2 })), { wave: 2 });
  });
  it('anything else is the default wave with a warning naming the value', () => {
    for (const bad of ['-1', '100', '1.5', 'first', '', '1e3', '0x1']) {
      const w = waveOf(withAnnotations({ 'rotor.dev/wave': bad }));
      assert.equal(w.wave, DEFAULT_WAVE, bad);
      assert.equal(
        w.warning,
        `rotor.dev/wave "${bad}" is not a whole number from 0 to 99: the workload goes in the default wave (100)`,
      );
    }
  });
  it('the pod template annotation counts too', () => {
    const o: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'w' },
      spec: { template: { metadata: { annotations: { 'rotor.dev/wave': '3' } }, spec: {} } },
    };
    assert.deepEqual(waveOf(o), { wave: 3 });
  });
});

describe('actedForEvent', () => {
  const secret = { project: 'p', secret: 'db' };
  const key = 'projects/p/secrets/db';
  const add: EventContext = { type: 'SECRET_VERSION_ADD', secret, version: '7' };
  it('is true when rotor.dev/applied records the event version', () => {
    assert.equal(
      actedForEvent(withAnnotations({ 'rotor.dev/applied': JSON.stringify({ [key]: '7' }) }), key, add),
      true,
    );
    assert.equal(
      actedForEvent(withAnnotations({ 'rotor.dev/applied': JSON.stringify({ [key]: '6' }) }), key, add),
      false,
    );
    assert.equal(actedForEvent(withAnnotations({}), key, add), false);
  });
  it('counts a moved alias recorded at its target', () => {
    const update: EventContext = { type: 'SECRET_UPDATE', secret, aliases: { prod: '9' } };
    const applied = withAnnotations({ 'rotor.dev/applied': JSON.stringify({ [`${key}@prod`]: '9' }) });
    assert.equal(actedForEvent(applied, key, update), true);
    assert.equal(actedForEvent(applied, key, { ...update, aliases: { prod: '10' } }), false);
  });
});

describe('appliedForEvent: the rotor.dev/applied-by record of this event', () => {
  const secret = { project: 'p', secret: 'db' };
  const key = 'projects/p/secrets/db';
  const by = (records: Record<string, string>, applied: Record<string, string>): KubeObject =>
    withAnnotations({
      'rotor.dev/applied': JSON.stringify(applied),
      'rotor.dev/applied-by': JSON.stringify(
        Object.fromEntries(
          Object.entries(records).map(([k, action]) => [
            k,
            { action, message: 'm-1', at: '2026-12-02T10:00:00Z' },
          ]),
        ),
      ),
    });
  it('a version event: the record under the secret', () => {
    const w = by({ [key]: 'restart' }, { [key]: '7' });
    assert.deepEqual(appliedForEvent(w, key, { type: 'SECRET_VERSION_ADD', secret, version: '7' }), {
      action: 'restart',
      message: 'm-1',
      at: '2026-12-02T10:00:00Z',
    });
    assert.equal(appliedForEvent(w, key, { type: 'SECRET_VERSION_ADD', secret, version: '8' }), undefined);
  });
  it('an alias move: the record under secret@alias, not under the secret', () => {
    const w = by({ [key]: 'record', [`${key}@current`]: 'reload' }, { [key]: '3', [`${key}@current`]: '9' });
    const update: EventContext = { type: 'SECRET_UPDATE', secret, aliases: { current: '9' } };
    assert.equal(appliedForEvent(w, key, update)?.action, 'reload');
  });
});

const entry = (
  id: string,
  wave: number,
  intent: WaveEntry['intent'],
  health?: WaveEntry['health'],
): WaveEntry => ({
  id,
  label: `Deployment shop/${id}`,
  wave,
  intent,
  ...(health ? { health } : {}),
});
const DONE = { health: 'done' } as const;
const ROLLING = { health: 'progressing', detail: '1 of 2 updated replicas available' } as const;
const stepOf = (steps: ReadonlyMap<string, WaveStep>, id: string): WaveStep | undefined => steps.get(id);

describe('planWaves', () => {
  it('acts on the lowest wave only; later waves wait for it, naming it', () => {
    const plan = planWaves([entry('b', 2, 'act'), entry('a', 1, 'act'), entry('c', DEFAULT_WAVE, 'act')], 10);
    assert.deepEqual(stepOf(plan.steps, 'a'), { step: 'act' });
    assert.deepEqual(stepOf(plan.steps, 'b'), {
      step: 'wait',
      wave: 1,
      reason: 'wave 2 waits for wave 1 to finish its rollouts',
    });
    assert.deepEqual(stepOf(plan.steps, 'c'), {
      step: 'wait',
      wave: 1,
      reason: 'the default wave waits for wave 1 to finish its rollouts',
    });
    assert.equal(plan.current, 1);
    assert.deepEqual(plan.halted, []);
  });
  it('a wave whose rollouts are in flight holds the next one', () => {
    const plan = planWaves([entry('a', 1, 'settled', ROLLING), entry('b', 2, 'act')], 10);
    assert.deepEqual(stepOf(plan.steps, 'a'), {
      step: 'rolling-out',
      detail: '1 of 2 updated replicas available',
    });
    assert.equal(stepOf(plan.steps, 'b')?.step, 'wait');
    assert.equal(plan.current, 1);
  });
  it('a wave still waiting for the new version (ESO, CSI) holds the next one', () => {
    const plan = planWaves([entry('a', 1, 'pending'), entry('b', 2, 'act')], 10);
    assert.deepEqual(stepOf(plan.steps, 'a'), { step: 'as-decided' });
    assert.equal(stepOf(plan.steps, 'b')?.step, 'wait');
  });
  it('the next wave starts once every rollout of the earlier one is done (or needs a person)', () => {
    const manual = { health: 'manual', detail: 'updateStrategy OnDelete' } as const;
    const plan = planWaves(
      [entry('a', 1, 'settled', DONE), entry('m', 1, 'settled', manual), entry('b', 2, 'act')],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'b'), { step: 'act' });
    assert.equal(plan.current, 2);
  });
  it('workloads Rotor did nothing for (pinned, ignored) do not hold a wave', () => {
    const plan = planWaves([entry('pinned', 1, 'settled'), entry('b', 2, 'act')], 10);
    assert.deepEqual(stepOf(plan.steps, 'b'), { step: 'act' });
  });
  it('at most `size` workloads of a wave in flight: the rest wait in their wave', () => {
    const plan = planWaves(
      [entry('a', 1, 'settled', ROLLING), entry('b', 1, 'act'), entry('c', 1, 'act'), entry('d', 1, 'act')],
      2,
    );
    assert.deepEqual(stepOf(plan.steps, 'b'), { step: 'act' });
    assert.deepEqual(stepOf(plan.steps, 'c'), {
      step: 'wait',
      wave: 1,
      reason: 'wave 1 has 2 workload(s) in flight (ROTOR_WAVE_SIZE): waits for their rollouts',
    });
    assert.equal(stepOf(plan.steps, 'd')?.step, 'wait');
  });
  it('finished rollouts free their slots', () => {
    const plan = planWaves([entry('a', 1, 'settled', DONE), entry('b', 1, 'act'), entry('c', 1, 'act')], 2);
    assert.deepEqual([stepOf(plan.steps, 'b'), stepOf(plan.steps, 'c')], [{ step: 'act' }, { step: 'act' }]);
  });
  it('a failed rollout halts the event: nothing more is acted on, in any wave', () => {
    const failed = { health: 'failed', reasons: ['a-1 app: CrashLoopBackOff (4 restarts)'] } as const;
    const plan = planWaves(
      [
        entry('a', 1, 'settled', failed),
        entry('a2', 1, 'act'),
        entry('b', 2, 'act'),
        entry('e', 2, 'pending'),
      ],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'a'), { step: 'failed', reasons: failed.reasons });
    const halted = {
      step: 'halted',
      reason:
        'not acted on: the event halted because the rollout of Deployment shop/a (wave 1) failed; fix it, then run rotor apply',
    };
    assert.deepEqual(stepOf(plan.steps, 'a2'), halted);
    assert.deepEqual(stepOf(plan.steps, 'b'), halted);
    assert.deepEqual(stepOf(plan.steps, 'e'), { step: 'as-decided' });
    assert.deepEqual(plan.halted, [{ id: 'a', label: 'Deployment shop/a', reasons: failed.reasons }]);
    assert.equal(plan.current, undefined);
  });
  it('a failure in the last wave still halts what is left of it', () => {
    const failed = { health: 'failed', reasons: ['timeout'] } as const;
    const plan = planWaves([entry('a', DEFAULT_WAVE, 'settled', failed), entry('b', DEFAULT_WAVE, 'act')], 1);
    assert.equal(stepOf(plan.steps, 'b')?.step, 'halted');
  });
  it('the last wave is not done until its rollouts are: each one still going is rolling-out', () => {
    const plan = planWaves(
      [
        entry('a', 1, 'settled', DONE),
        entry('z1', DEFAULT_WAVE, 'settled', ROLLING),
        entry('z2', DEFAULT_WAVE, 'settled', DONE),
        entry('pinned', DEFAULT_WAVE, 'settled'),
      ],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'z1'), {
      step: 'rolling-out',
      detail: '1 of 2 updated replicas available',
    });
    assert.deepEqual(stepOf(plan.steps, 'z2'), { step: 'as-decided' });
    assert.deepEqual(stepOf(plan.steps, 'pinned'), { step: 'as-decided' });
    assert.equal(plan.current, DEFAULT_WAVE);
    assert.deepEqual(plan.halted, []);
  });
  it('a rollout that needs a person (OnDelete) does not keep the event going', () => {
    const manual = { health: 'manual', detail: 'updateStrategy OnDelete' } as const;
    const plan = planWaves([entry('s', DEFAULT_WAVE, 'settled', manual)], 10);
    assert.deepEqual(stepOf(plan.steps, 's'), { step: 'as-decided' });
    assert.equal(plan.current, undefined);
  });
  it('a crash loop in the last wave, found after every action was taken, halts the event', () => {
    const failed = { health: 'failed', reasons: ['z1-5d app: CrashLoopBackOff (3 restarts)'] } as const;
    const plan = planWaves(
      [entry('z1', DEFAULT_WAVE, 'settled', failed), entry('z2', DEFAULT_WAVE, 'settled', ROLLING)],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'z1'), { step: 'failed', reasons: failed.reasons });
    // A halted event waits for nothing: the other rollout is reported as decided, not pending.
    assert.deepEqual(stepOf(plan.steps, 'z2'), { step: 'as-decided' });
    assert.deepEqual(plan.halted, [{ id: 'z1', label: 'Deployment shop/z1', reasons: failed.reasons }]);
  });
  it('everything finished: no current wave', () => {
    const plan = planWaves([entry('a', 1, 'settled', DONE), entry('b', 2, 'settled')], 10);
    assert.equal(plan.current, undefined);
    assert.deepEqual(stepOf(plan.steps, 'a'), { step: 'as-decided' });
  });
});
