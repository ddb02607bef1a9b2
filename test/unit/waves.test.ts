// Wave ordering, pacing and the halt, rule by rule, from hand-written planner entries; the wave
// annotation as hostile input; which workloads Rotor already acted on for an event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventContext } from '../../functions/core/decision';
import type { KubeObject } from '../../functions/core/kube';
import type { WaveEntry, WaveStep } from '../../functions/core/waves';
import {
  DEFAULT_WAVE,
  actedForEvent,
  appliedForEvent,
  planWaves,
  rolloutToJudge,
  waveIntent,
  waveOf,
} from '../../functions/core/waves';
import type { Delivery } from '../../functions/core/appliedBy';
import type { LiveDecision } from '../../functions/core/liveDecision';

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
  // The delivery of message m-1, for an event at 09:59, at 10:05.
  const delivery: Delivery = {
    id: 'm-1',
    eventTime: '2026-12-02T09:59:00Z',
    now: Date.parse('2026-12-02T10:05:00Z'),
  };
  it('a version event: the record under the secret', () => {
    const w = by({ [key]: 'restart' }, { [key]: '7' });
    const v7: EventContext = { type: 'SECRET_VERSION_ADD', secret, version: '7' };
    assert.deepEqual(appliedForEvent(w, key, v7, delivery), {
      action: 'restart',
      message: 'm-1',
      at: '2026-12-02T10:00:00Z',
    });
    assert.equal(appliedForEvent(w, key, { ...v7, version: '8' }, delivery), undefined);
  });
  it('an alias move: the record under secret@alias, not under the secret', () => {
    const w = by({ [key]: 'record', [`${key}@current`]: 'reload' }, { [key]: '3', [`${key}@current`]: '9' });
    const update: EventContext = { type: 'SECRET_UPDATE', secret, aliases: { current: '9' } };
    assert.equal(appliedForEvent(w, key, update, delivery)?.action, 'reload');
  });
  it('a record of another message (a tenant forged it, or another event wrote it) is not believed', () => {
    const w = by({ [key]: 'restart' }, { [key]: '7' });
    const v7: EventContext = { type: 'SECRET_VERSION_ADD', secret, version: '7' };
    assert.equal(appliedForEvent(w, key, v7, { ...delivery, id: 'm-2' }), undefined);
    const { id: _id, ...withoutId } = delivery;
    assert.equal(appliedForEvent(w, key, v7, withoutId), undefined, 'no delivery id: nothing is believed');
  });
});

describe('rolloutToJudge: whose rollout Rotor reads and may halt on', () => {
  const secret = { project: 'p', secret: 'db' };
  const key = 'projects/p/secrets/db';
  const v7: EventContext = { type: 'SECRET_VERSION_ADD', secret, version: '7', time: '2026-12-02T09:59:00Z' };
  const delivery: Delivery = {
    id: 'm-1',
    eventTime: '2026-12-02T09:59:00Z',
    now: Date.parse('2026-12-02T10:05:00Z'),
  };
  const w = (appliedBy: unknown): KubeObject =>
    withAnnotations({
      'rotor.dev/applied': JSON.stringify({ [key]: '7' }),
      ...(appliedBy !== undefined ? { 'rotor.dev/applied-by': JSON.stringify(appliedBy) } : {}),
    });
  it("Rotor's own restart of this delivery, between the event and now", () => {
    const by = { action: 'restart', message: 'm-1', at: '2026-12-02T10:01:00Z' };
    assert.deepEqual(rolloutToJudge(w({ [key]: by }), key, v7, delivery), by);
  });
  it('rotor.dev/applied alone (no applied-by) claims nothing: no rollout is read', () => {
    assert.equal(rolloutToJudge(w(undefined), key, v7, delivery), undefined);
  });
  it('a record: nothing rolled', () => {
    const by = { action: 'record', message: 'm-1', at: '2026-12-02T10:01:00Z' };
    assert.equal(rolloutToJudge(w({ [key]: by }), key, v7, delivery), undefined);
  });
  it('a record "at 2099" or from before the event is not believed; a minute of clock skew is', () => {
    const at = (t: string): unknown => ({ [key]: { action: 'restart', message: 'm-1', at: t } });
    assert.equal(rolloutToJudge(w(at('2099-01-01T00:00:00Z')), key, v7, delivery), undefined);
    assert.equal(rolloutToJudge(w(at('2026-12-02T10:06:00.001Z')), key, v7, delivery), undefined);
    assert.equal(rolloutToJudge(w(at('2026-12-02T09:57:59.999Z')), key, v7, delivery), undefined);
    assert.equal(rolloutToJudge(w(at('not a time')), key, v7, delivery), undefined);
    assert.equal(rolloutToJudge(w(at('2026-12-02T10:06:00Z')), key, v7, delivery)?.action, 'restart');
    assert.equal(rolloutToJudge(w(at('2026-12-02T09:58:00Z')), key, v7, delivery)?.action, 'restart');
  });
  it('rotor.dev/applied-by that is no JSON object ("null", a list, a string, a number) is ignored', () => {
    for (const raw of ['null', '[1]', '"restart"', '7', 'true', '{']) {
      const o = withAnnotations({
        'rotor.dev/applied': JSON.stringify({ [key]: '7' }),
        'rotor.dev/applied-by': raw,
      });
      assert.equal(rolloutToJudge(o, key, v7, delivery), undefined, raw);
      assert.equal(appliedForEvent(o, key, v7, delivery), undefined, raw);
    }
  });
});

const entry = (
  id: string,
  wave: number,
  intent: WaveEntry['intent'],
  health?: WaveEntry['health'],
  namespace = 'shop',
  canary = false,
): WaveEntry => ({
  id,
  label: `Deployment ${namespace}/${id}`,
  namespace,
  canary,
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
    assert.deepEqual(plan.halted, []);
  });
  it('a wave whose rollouts are in flight holds the next one', () => {
    const plan = planWaves([entry('a', 1, 'settled', ROLLING), entry('b', 2, 'act')], 10);
    assert.deepEqual(stepOf(plan.steps, 'a'), {
      step: 'rolling-out',
      detail: '1 of 2 updated replicas available',
    });
    assert.equal(stepOf(plan.steps, 'b')?.step, 'wait');
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
      reason: '2 workload(s) in flight (ROTOR_WAVE_SIZE): wave 1 waits for their rollouts',
    });
    assert.equal(stepOf(plan.steps, 'd')?.step, 'wait');
  });
  it('finished rollouts free their slots', () => {
    const plan = planWaves([entry('a', 1, 'settled', DONE), entry('b', 1, 'act'), entry('c', 1, 'act')], 2);
    assert.deepEqual([stepOf(plan.steps, 'b'), stepOf(plan.steps, 'c')], [{ step: 'act' }, { step: 'act' }]);
  });
  it('a failed rollout halts its namespace: nothing more is acted on there, in any wave', () => {
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
        'not acted on: the event halted in namespace shop because the rollout of Deployment shop/a (wave 1) failed; fix it, then run rotor apply',
    };
    assert.deepEqual(stepOf(plan.steps, 'a2'), halted);
    assert.deepEqual(stepOf(plan.steps, 'b'), halted);
    // A wait for the new version is not pursued either (no force-sync, not pending).
    assert.deepEqual(stepOf(plan.steps, 'e'), halted);
    assert.deepEqual(plan.halted, [{ id: 'a', label: 'Deployment shop/a', reasons: failed.reasons }]);
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
    assert.deepEqual(plan.halted, []);
  });
  it('a rollout that needs a person (OnDelete) does not keep the event going', () => {
    const manual = { health: 'manual', detail: 'updateStrategy OnDelete' } as const;
    const plan = planWaves([entry('s', DEFAULT_WAVE, 'settled', manual)], 10);
    assert.deepEqual(stepOf(plan.steps, 's'), { step: 'as-decided' });
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
  it('everything finished: nothing acts, waits or rolls out', () => {
    const plan = planWaves([entry('a', 1, 'settled', DONE), entry('b', 2, 'settled')], 10);
    assert.deepEqual(stepOf(plan.steps, 'a'), { step: 'as-decided' });
    assert.deepEqual(stepOf(plan.steps, 'b'), { step: 'as-decided' });
  });

  it('the lowest unfinished wave is chosen by number, not as text ("100" and "10" sort before "2")', () => {
    const plan = planWaves(
      [
        entry('d', DEFAULT_WAVE, 'act'),
        entry('ten', 10, 'act'),
        entry('two', 2, 'act'),
        entry('w3', 3, 'act'),
      ],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'two'), { step: 'act' });
    assert.deepEqual(stepOf(plan.steps, 'ten'), {
      step: 'wait',
      wave: 2,
      reason: 'wave 10 waits for wave 2 to finish its rollouts',
    });
    assert.deepEqual(stepOf(plan.steps, 'w3'), {
      step: 'wait',
      wave: 2,
      reason: 'wave 3 waits for wave 2 to finish its rollouts',
    });
    assert.deepEqual(stepOf(plan.steps, 'd'), {
      step: 'wait',
      wave: 2,
      reason: 'the default wave waits for wave 2 to finish its rollouts',
    });
  });
});

describe('planWaves: a tenant orders and halts only its own namespace', () => {
  const failed = { health: 'failed', reasons: ['api-1 app: ImagePullBackOff'] } as const;
  it("a tenant's wave 0 does not hold another namespace's default wave", () => {
    const plan = planWaves(
      [
        entry('a', 0, 'pending', undefined, 'tenant-a'),
        entry('b', DEFAULT_WAVE, 'act', undefined, 'tenant-b'),
      ],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'b'), { step: 'act' });
  });
  it('within a namespace, its waves still order it', () => {
    const plan = planWaves(
      [
        entry('a0', 0, 'settled', ROLLING, 'tenant-a'),
        entry('a1', DEFAULT_WAVE, 'act', undefined, 'tenant-a'),
      ],
      10,
    );
    assert.equal(stepOf(plan.steps, 'a1')?.step, 'wait');
  });
  it("a tenant's failed rollout halts its namespace only; the others go on", () => {
    const plan = planWaves(
      [
        entry('a0', 0, 'settled', failed, 'tenant-a'),
        entry('a1', DEFAULT_WAVE, 'act', undefined, 'tenant-a'),
        entry('b', DEFAULT_WAVE, 'act', undefined, 'tenant-b'),
        entry('c', 1, 'settled', ROLLING, 'tenant-c'),
      ],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'a0'), { step: 'failed', reasons: failed.reasons });
    assert.deepEqual(stepOf(plan.steps, 'a1'), {
      step: 'halted',
      reason:
        'not acted on: the event halted in namespace tenant-a because the rollout of Deployment tenant-a/a0 (wave 0) failed; fix it, then run rotor apply',
    });
    assert.deepEqual(stepOf(plan.steps, 'b'), { step: 'act' });
    assert.deepEqual(stepOf(plan.steps, 'c'), { step: 'rolling-out', detail: ROLLING.detail });
    assert.deepEqual(plan.halted, [{ id: 'a0', label: 'Deployment tenant-a/a0', reasons: failed.reasons }]);
  });
  it('a canary namespace (ROTOR_CANARY_NAMESPACES) orders every namespace', () => {
    const plan = planWaves(
      [
        entry('k', 0, 'settled', ROLLING, 'canary', true),
        entry('b', DEFAULT_WAVE, 'act', undefined, 'tenant-b'),
      ],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'b'), {
      step: 'wait',
      wave: 0,
      reason: 'the default wave waits for wave 0 to finish its rollouts',
    });
  });
  it("a tenant's waves do not hold a canary namespace's later wave", () => {
    const plan = planWaves(
      [entry('a', 0, 'pending', undefined, 'tenant-a'), entry('k', 5, 'act', undefined, 'canary', true)],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'k'), { step: 'act' });
  });
  it("a canary's failed rollout halts the whole event", () => {
    const plan = planWaves(
      [
        entry('k', 0, 'settled', failed, 'canary', true),
        entry('b', DEFAULT_WAVE, 'act', undefined, 'tenant-b'),
      ],
      10,
    );
    assert.deepEqual(stepOf(plan.steps, 'b'), {
      step: 'halted',
      reason:
        'not acted on: the event halted because the rollout of Deployment canary/k (wave 0) failed; fix it, then run rotor apply',
    });
  });
  it('ROTOR_WAVE_SIZE bounds the rollouts in flight across namespaces', () => {
    const plan = planWaves(
      [
        entry('a', DEFAULT_WAVE, 'settled', ROLLING, 'tenant-a'),
        entry('b', DEFAULT_WAVE, 'act', undefined, 'tenant-b'),
      ],
      1,
    );
    assert.equal(stepOf(plan.steps, 'b')?.step, 'wait');
  });
});

describe('waveIntent: what a live decision means to its wave', () => {
  const facts = { reason: 'r' };
  const records = [{ key: 'projects/p/secrets/db', version: '7' }] as const;
  const wait: LiveDecision = {
    ...facts,
    action: 'wait',
    waitingFor: 'eso',
    nudge: [],
    forceSecretSyncs: [],
    giveUpAt: 0,
  };
  it('a workload still waiting for its sync holds its wave; one acting takes a slot', () => {
    assert.equal(waveIntent(wait), 'pending');
    assert.equal(waveIntent({ ...facts, action: 'restart', records, at: 'x' }), 'act');
    assert.equal(
      waveIntent({
        ...facts,
        action: 'reload',
        endpoint: { port: '8080', path: '/reload' },
        pods: [],
        records,
        onFailure: { restart: false },
      }),
      'act',
    );
  });
  it('nothing more to do settles it: none, record, skip, give-up, manual, never-synced', () => {
    const settled: LiveDecision[] = [
      { ...facts, action: 'none' },
      { ...facts, action: 'record', records },
      { ...facts, action: 'skip' },
      { ...facts, action: 'give-up', waitedMs: 1 },
      { ...facts, action: 'manual', awaiting: 'approval' },
      { ...facts, action: 'never-synced' },
    ];
    for (const d of settled) assert.equal(waveIntent(d), 'settled', d.action);
  });
  it('a wait in wave 1 holds wave 2 through the plan', () => {
    const plan = planWaves([entry('a', 1, waveIntent(wait)), entry('b', 2, 'act')], 10);
    assert.equal(stepOf(plan.steps, 'b')?.step, 'wait');
  });
});
