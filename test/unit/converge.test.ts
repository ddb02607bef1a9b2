// The in-delivery loop's rules (core/converge.ts), each from hand-written passes: when the event is
// done, how long to wait and when the budget is spent, what counts as progress, when a delivery
// continues the event or throws, and how a duplicate continuation is recognised.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  ChainPosition,
  LoopSettings,
  LoopState,
  PassRecord,
  WatchGroup,
  WatchTarget,
} from '../../functions/core/converge';
import {
  MAX_CONTINUATION_STEP,
  afterPass,
  chainOf,
  continuationAttributes,
  continuationMessage,
  madeProgress,
  reportOwner,
  supersededBy,
  supersededEverywhere,
  waitClockOf,
  wakesPass,
  watchGroups,
  watchTargetsOf,
} from '../../functions/core/converge';

const settings: LoopSettings = {
  budgetMs: 60_000,
  pollMs: 5_000,
  minIntervalMs: 1_000,
  reportLeaseMs: 180_000,
};
const chain: ChainPosition = { event: 'm1', step: 0, delivery: 'm1' };

function pass(startedAt: number, endedAt: number, fields: Partial<PassRecord> = {}): PassRecord {
  return { startedAt, endedAt, pending: 1, acted: 0, fingerprint: 'a', ...fields };
}

function state(passes: [PassRecord, ...PassRecord[]], now: number, more: Partial<LoopState> = {}): LoopState {
  return { startedAt: 0, now, passes, chain, canContinue: true, ...more };
}

describe('after a pass', () => {
  it('nothing pending: done, whatever the budget left', () => {
    const step = afterPass(state([pass(0, 100, { pending: 0, acted: 3 })], 100), settings);
    assert.equal(step.kind, 'end');
    assert.equal(step.kind === 'end' && step.end.end, 'done');
  });

  it('work pending and budget left: wait for a change, at most one poll, no pass sooner than the minimum interval', () => {
    const step = afterPass(state([pass(0, 200, { acted: 1 })], 200), settings);
    assert.deepEqual(step, { kind: 'wait', untilMs: 5_200, notBeforeMs: 1_000 });
  });

  it('a wait never runs past the last moment a pass as long as the longest one can start', () => {
    // Budget 60 s; the longest pass took 4 s: the last pass may start at 56 s.
    const passes: [PassRecord, ...PassRecord[]] = [pass(0, 4_000, { acted: 1 }), pass(50_000, 50_500)];
    assert.deepEqual(afterPass(state(passes, 54_000), settings), {
      kind: 'wait',
      untilMs: 56_000,
      notBeforeMs: 51_000,
    });
  });

  it('budget spent after progress: continue as the next step of the same event', () => {
    const passes: [PassRecord, ...PassRecord[]] = [pass(0, 4_000, { acted: 2 }), pass(50_000, 53_000)];
    const step = afterPass(state(passes, 56_500), settings);
    assert.equal(step.kind, 'end');
    if (step.kind !== 'end') return;
    assert.equal(step.end.end, 'continue');
    assert.deepEqual(step.end.end === 'continue' && step.end.next, { event: 'm1', step: 1, delivery: '' });
  });

  it('budget spent without progress: retry (counts towards the attempts)', () => {
    const passes: [PassRecord, ...PassRecord[]] = [
      pass(0, 1_000),
      pass(30_000, 31_000),
      pass(58_000, 59_000),
    ];
    const step = afterPass(state(passes, 59_500), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'retry');
  });

  it('budget spent after progress but no continuation topic: retry', () => {
    const step = afterPass(state([pass(0, 59_000, { acted: 1 })], 59_000, { canContinue: false }), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'retry');
  });

  it('no progress, but this delivery started the wait clock: continue (the continuation carries the clock)', () => {
    const passes: [PassRecord, ...PassRecord[]] = [pass(0, 1_000), pass(58_000, 59_000)];
    const step = afterPass(state(passes, 59_500, { startsClock: true }), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'continue');
    assert.match(step.kind === 'end' ? step.end.reason : '', /started the wait clock: continued as step 1/);
    // Without a continuation topic it cannot carry it: retry, as any delivery without progress.
    const alone = afterPass(state(passes, 59_500, { startsClock: true, canContinue: false }), settings);
    assert.equal(alone.kind === 'end' && alone.end.end, 'retry');
  });

  it('a continuation past the last step gives up instead of publishing another', () => {
    const last: ChainPosition = { event: 'm1', step: MAX_CONTINUATION_STEP, delivery: 'c' };
    const step = afterPass(state([pass(0, 59_000, { acted: 1 })], 59_000, { chain: last }), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'give-up');
  });

  it('a budget of 0 is one pass: the delivery ends after it', () => {
    const step = afterPass(state([pass(0, 10, { acted: 1 })], 10), { ...settings, budgetMs: 0 });
    assert.equal(step.kind === 'end' && step.end.end, 'continue');
  });

  it('superseded by a later step of the chain: stand down, even with work pending', () => {
    const by = { event: 'm1', step: 2, delivery: 'c2' };
    const step = afterPass(state([pass(0, 100, { acted: 1 })], 100, { superseded: by }), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'stand-down');
    assert.deepEqual(step.kind === 'end' && step.end.end === 'stand-down' && step.end.by, by);
  });

  it('superseded but already done: done (nothing is left to leave to anyone)', () => {
    const by = { event: 'm1', step: 2, delivery: 'c2' };
    const step = afterPass(state([pass(0, 100, { pending: 0 })], 100, { superseded: by }), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'done');
  });
});

describe('progress', () => {
  it('a pass that acted is progress', () => {
    assert.equal(madeProgress([pass(0, 1, { acted: 1 })]), true);
  });
  it('a change in what the passes saw is progress (a rollout advanced), without acting', () => {
    assert.equal(madeProgress([pass(0, 1, { fingerprint: 'x' }), pass(2, 3, { fingerprint: 'y' })]), true);
  });
  it('the same view pass after pass, with nothing done, is no progress', () => {
    assert.equal(madeProgress([pass(0, 1), pass(2, 3), pass(4, 5)]), false);
  });
  it('one pass that did nothing is no progress (the previous delivery is not compared)', () => {
    assert.equal(madeProgress([pass(0, 1, { fingerprint: 'z' })]), false);
  });
});

describe('continuations: identity and dedup', () => {
  it('a notification is step 0 of itself', () => {
    assert.deepEqual(chainOf({ eventType: 'SECRET_VERSION_ADD' }, { event: 'n1', delivery: 'n1' }), {
      ok: true,
      chain: { event: 'n1', step: 0, delivery: 'n1' },
    });
  });

  it('a continuation carries its event and step; its own id is the delivery', () => {
    assert.deepEqual(
      chainOf(continuationAttributes({ event: 'n1', step: 3, delivery: '' }, 0), {
        event: 'c9',
        delivery: 'c9',
      }),
      {
        ok: true,
        chain: { event: 'n1', step: 3, delivery: 'c9' },
      },
    );
  });

  it('refuses half a continuation, a step 0, a step beyond the bound and an id that is not one', () => {
    assert.equal(chainOf({ rotorEvent: 'n1' }, { event: 'c', delivery: 'c' }).ok, false);
    assert.equal(chainOf({ rotorStep: '2' }, { event: 'c', delivery: 'c' }).ok, false);
    assert.equal(chainOf({ rotorEvent: 'n1', rotorStep: '0' }, { event: 'c', delivery: 'c' }).ok, false);
    assert.equal(
      chainOf(
        { rotorEvent: 'n1', rotorStep: String(MAX_CONTINUATION_STEP + 1) },
        { event: 'c', delivery: 'c' },
      ).ok,
      false,
    );
    assert.equal(chainOf({ rotorEvent: 'n1', rotorStep: '2.5' }, { event: 'c', delivery: 'c' }).ok, false);
    assert.equal(chainOf({ rotorEvent: 'a/b', rotorStep: '2' }, { event: 'c', delivery: 'c' }).ok, false);
  });

  const mine: ChainPosition = { event: 'n1', step: 2, delivery: 'c5' };

  it('a mark of a later step of the same event supersedes', () => {
    const later = { event: 'n1', step: 3, delivery: 'c7' };
    assert.deepEqual(supersededBy(mine, [later]), later);
  });

  it('a duplicate at the same step: the delivery whose id sorts first goes on, the other stands down', () => {
    const twin = { event: 'n1', step: 2, delivery: 'c4' };
    assert.deepEqual(supersededBy(mine, [twin]), twin);
    assert.equal(supersededBy(twin, [mine]), undefined);
  });

  it('earlier steps, other events and its own marks (its redeliveries) never supersede', () => {
    assert.equal(
      supersededBy(mine, [
        { event: 'n1', step: 1, delivery: 'c1' },
        { event: 'n2', step: 9, delivery: 'c0' },
        { event: 'n1', step: 2, delivery: 'c5' },
      ]),
      undefined,
    );
  });

  it('of several superseding marks, the furthest along is named', () => {
    const marks = [
      { event: 'n1', step: 3, delivery: 'c9' },
      { event: 'n1', step: 4, delivery: 'c8' },
      { event: 'n1', step: 4, delivery: 'c6' },
    ];
    assert.deepEqual(supersededBy(mine, marks), { event: 'n1', step: 4, delivery: 'c6' });
  });
});

describe('standing down only where every namespace with work says so', () => {
  const mine: ChainPosition = { event: 'n1', step: 2, delivery: 'c5' };
  const later = { event: 'n1', step: 3, delivery: 'c7' };
  const furthest = { event: 'n1', step: 5, delivery: 'c9' };

  it('a mark forged in one tenant namespace does not stop the work of another namespace', () => {
    const marks = [{ place: 'prod/tenant-a', mark: furthest }];
    assert.equal(supersededEverywhere(mine, marks, ['prod/tenant-a', 'prod/tenant-b']), undefined);
  });

  it('a namespace can stand down only the delivery whose work is all its own', () => {
    const marks = [{ place: 'prod/tenant-a', mark: later }];
    assert.deepEqual(supersededEverywhere(mine, marks, ['prod/tenant-a', 'prod/tenant-a']), later);
  });

  it('the same namespace in another cluster is another place', () => {
    const marks = [{ place: 'prod/shop', mark: later }];
    assert.equal(supersededEverywhere(mine, marks, ['prod/shop', 'staging/shop']), undefined);
  });

  it('superseded in every place: the least advanced superseding chain is named', () => {
    const marks = [
      { place: 'prod/a', mark: furthest },
      { place: 'prod/b', mark: later },
      { place: 'prod/b', mark: { event: 'n1', step: 1, delivery: 'c1' } },
    ];
    assert.deepEqual(supersededEverywhere(mine, marks, ['prod/a', 'prod/b']), later);
  });

  it('no dependents in the pass: nothing to leave to anyone, no stand-down', () => {
    assert.equal(supersededEverywhere(mine, [{ place: 'prod/a', mark: later }], []), undefined);
  });
});

describe('what a pass waits on', () => {
  const ref = { cluster: 'c', kind: 'Deployment' as const, namespace: 'shop', name: 'api' };
  const eso = {
    kind: 'eso' as const,
    namespace: 'shop',
    externalSecret: 'db',
    secretName: 'db',
  };
  const sync = { kind: 'gke-sync' as const, namespace: 'shop', secretSync: 'db', spc: 'p', secretName: 'db' };

  it('a rollout Rotor started: the workload itself, from the version the pass saw', () => {
    assert.deepEqual(watchTargetsOf(ref, { workload: '41' }, 'rollout', [eso]), [
      {
        cluster: 'c',
        namespace: 'shop',
        resource: 'workload',
        kind: 'Deployment',
        name: 'api',
        resourceVersion: '41',
      },
    ]);
    assert.deepEqual(watchTargetsOf(ref, {}, 'acted', []), [
      { cluster: 'c', namespace: 'shop', resource: 'workload', kind: 'Deployment', name: 'api' },
    ]);
  });

  it("ESO's sync: the ExternalSecrets it reads; GKE's sync: its SecretSyncs; the CSI driver: the namespace's pod statuses", () => {
    const none = { workload: '41' };
    assert.deepEqual(watchTargetsOf(ref, none, 'eso', [eso, sync]), [
      { cluster: 'c', namespace: 'shop', resource: 'external-secret', name: 'db' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, none, 'gke-sync', [eso, sync]), [
      { cluster: 'c', namespace: 'shop', resource: 'secret-sync', name: 'db' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, none, 'csi', []), [
      { cluster: 'c', namespace: 'shop', resource: 'spc-pod-status' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, none, 'pods', []), [
      { cluster: 'c', namespace: 'shop', resource: 'pod' },
    ]);
  });

  it("each from the version the pass read it at (the object, or the namespace's list), so nothing changed since is missed", () => {
    const seen = {
      workload: '41',
      externalSecrets: new Map([
        ['shop/db', '7'],
        ['other/db', '8'],
      ]),
      secretSyncs: new Map([['shop/db', '9']]),
      spcPodStatuses: '100',
      pods: '101',
    };
    assert.deepEqual(watchTargetsOf(ref, seen, 'eso', [eso, sync]), [
      { cluster: 'c', namespace: 'shop', resource: 'external-secret', name: 'db', resourceVersion: '7' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, seen, 'gke-sync', [eso, sync]), [
      { cluster: 'c', namespace: 'shop', resource: 'secret-sync', name: 'db', resourceVersion: '9' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, seen, 'csi', []), [
      { cluster: 'c', namespace: 'shop', resource: 'spc-pod-status', resourceVersion: '100' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, seen, 'pods', []), [
      { cluster: 'c', namespace: 'shop', resource: 'pod', resourceVersion: '101' },
    ]);
  });

  it('a namespace watch keeps the version its targets share, and starts afresh when they differ', () => {
    const pods = (rv: string): WatchTarget => ({
      cluster: 'c',
      namespace: 'shop',
      resource: 'pod',
      resourceVersion: rv,
    });
    assert.deepEqual(watchGroups([pods('5'), pods('5')], 16), [pods('5')]);
    assert.deepEqual(watchGroups([pods('5'), pods('6')], 16), [
      { cluster: 'c', namespace: 'shop', resource: 'pod' },
    ]);
  });

  it("a group's other secrets: the namespace's syncs of the kinds the workload reads through", () => {
    assert.deepEqual(watchTargetsOf(ref, { workload: '41' }, 'group', [eso]), [
      { cluster: 'c', namespace: 'shop', resource: 'external-secret' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, { workload: '41' }, 'group', [eso, sync]), [
      { cluster: 'c', namespace: 'shop', resource: 'external-secret' },
      { cluster: 'c', namespace: 'shop', resource: 'secret-sync' },
    ]);
    assert.deepEqual(watchTargetsOf(ref, { workload: '41' }, 'group', []), []);
  });

  it('a wave waits on other workloads (their own targets); nothing pending waits on nothing', () => {
    assert.deepEqual(watchTargetsOf(ref, { workload: '41' }, 'wave', [eso]), []);
    assert.deepEqual(watchTargetsOf(ref, { workload: '41' }, undefined, [eso]), []);
  });

  it('one watch per object; several objects of a resource in a namespace: one watch of the namespace', () => {
    const w = (name: string, rv: string): WatchTarget => ({
      cluster: 'c',
      namespace: 'shop',
      resource: 'workload',
      kind: 'Deployment',
      name,
      resourceVersion: rv,
    });
    assert.deepEqual(watchGroups([w('a', '1'), w('a', '1')], 16), [w('a', '1')]);
    assert.deepEqual(watchGroups([w('a', '1'), w('a', '2')], 16), [
      { cluster: 'c', namespace: 'shop', resource: 'workload', kind: 'Deployment', name: 'a' },
    ]);
    assert.deepEqual(watchGroups([w('a', '1'), w('b', '2')], 16), [
      { cluster: 'c', namespace: 'shop', resource: 'workload', kind: 'Deployment', awaited: ['a', 'b'] },
    ]);
  });

  it("workloads read in one list (one version): one watch of the namespace from that list's version, awaiting them by name", () => {
    const w = (name: string): WatchTarget => ({
      cluster: 'c',
      namespace: 'shop',
      resource: 'workload',
      kind: 'Deployment',
      name,
      resourceVersion: '900',
    });
    assert.deepEqual(watchGroups([w('b'), w('a'), w('b')], 16), [
      {
        cluster: 'c',
        namespace: 'shop',
        resource: 'workload',
        kind: 'Deployment',
        resourceVersion: '900',
        awaited: ['a', 'b'],
      },
    ]);
  });

  it('more groups than the bound: no watch, the wait is a poll', () => {
    const targets: WatchTarget[] = ['a', 'b', 'c'].map((ns) => ({
      cluster: 'c',
      namespace: ns,
      resource: 'pod',
    }));
    assert.equal(watchGroups(targets, 3).length, 3);
    assert.deepEqual(watchGroups(targets, 2), []);
  });
});

describe('the continuation message', () => {
  it('keeps the data and attributes, adds the chain, and keeps the event time when the notification had none', () => {
    const received = {
      data: 'e30=',
      attributes: { eventType: 'SECRET_VERSION_ADD' },
      messageId: 'n1',
      publishTime: '2026-12-07T10:00:00Z',
    };
    const clock = Date.parse('2026-12-07T12:00:00Z');
    assert.deepEqual(continuationMessage(received, { event: 'n1', step: 1, delivery: '' }, clock), {
      data: 'e30=',
      attributes: {
        eventType: 'SECRET_VERSION_ADD',
        timestamp: '2026-12-07T10:00:00Z',
        rotorEvent: 'n1',
        rotorStep: '1',
        rotorWaitSince: '2026-12-07T12:00:00.000Z',
      },
    });
  });

  it("a continuation's continuation names the next step and keeps the first event time", () => {
    const received = {
      attributes: {
        eventType: 'SECRET_VERSION_ADD',
        timestamp: '2026-12-07T10:00:00Z',
        rotorEvent: 'n1',
        rotorStep: '1',
        rotorWaitSince: '2026-12-07T10:00:03.000Z',
      },
      messageId: 'c1',
      publishTime: '2026-12-07T10:05:00Z',
    };
    const clock = Date.parse('2026-12-07T10:00:03Z');
    assert.deepEqual(
      continuationMessage(received, { event: 'n1', step: 2, delivery: '' }, clock).attributes,
      {
        eventType: 'SECRET_VERSION_ADD',
        timestamp: '2026-12-07T10:00:00Z',
        rotorEvent: 'n1',
        rotorStep: '2',
        rotorWaitSince: '2026-12-07T10:00:03.000Z',
      },
    );
  });
});

describe('who reports an action whose report is missing', () => {
  const at = Date.parse('2026-12-07T10:00:00Z');
  it('an earlier delivery of this very message is over: report it now', () => {
    assert.equal(reportOwner({ delivery: 'm1', atMs: at }, 'm1', at + 1_000, 180_000), 'report-now');
  });
  it('another delivery that acted within the lease may still report it: wait for its report', () => {
    assert.equal(reportOwner({ delivery: 'm2', atMs: at }, 'm1', at + 179_999, 180_000), 'wait-for-it');
  });
  it('another delivery whose lease has passed died before reporting: take its report over', () => {
    assert.equal(reportOwner({ delivery: 'm2', atMs: at }, 'm1', at + 180_000, 180_000), 'report-now');
  });
  it('an unreadable action time is no lease (never waited on forever)', () => {
    assert.equal(reportOwner({ delivery: 'm2', atMs: Number.NaN }, 'm1', at, 180_000), 'report-now');
  });
  it('no lease (a CLI run, or the setting 0): report at once', () => {
    assert.equal(reportOwner({ delivery: 'm2', atMs: at }, undefined, at, 0), 'report-now');
  });
});

describe('waiting for a maintenance window', () => {
  const windowed = (fields: Partial<PassRecord> = {}): PassRecord =>
    pass(0, 100, { pending: 2, windows: { waiting: 2, opensAt: 40_000 }, ...fields });

  it('sleeps until the window opens, not a poll at a time', () => {
    assert.deepEqual(afterPass(state([windowed()], 100), settings), {
      kind: 'wait',
      untilMs: 40_000,
      notBeforeMs: 1_000,
    });
  });

  it('a window after the budget: sleeps to the last pass start the budget allows', () => {
    // budget 60 000, longest pass 100 ms: the last pass starts by 59 900.
    const step = afterPass(state([windowed({ windows: { waiting: 2, opensAt: 90_000 } })], 100), settings);
    assert.deepEqual(step, { kind: 'wait', untilMs: 59_900, notBeforeMs: 1_000 });
  });

  it('a window already open (the clock passed it): the next pass at once', () => {
    const step = afterPass(state([windowed({ windows: { waiting: 2, opensAt: 50 } })], 100), settings);
    assert.deepEqual(step, { kind: 'wait', untilMs: 100, notBeforeMs: 1_000 });
  });

  it('budget spent waiting only for windows: continued, although nothing changed', () => {
    const passes: [PassRecord, ...PassRecord[]] = [
      windowed(),
      pass(59_800, 59_900, { pending: 2, windows: { waiting: 2, opensAt: 90_000 } }),
    ];
    const step = afterPass(state(passes, 59_950), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'continue');
    assert.equal(
      step.kind === 'end' && step.end.reason,
      '2 item(s) pending, waiting for a maintenance window (opens at 1970-01-01T00:01:30.000Z): continued as step 1 of the event',
    );
  });

  it('other pending work besides the windows: the usual rules (no progress: retry, and polls)', () => {
    const mixed = pass(0, 100, { pending: 3, windows: { waiting: 2, opensAt: 40_000 } });
    assert.deepEqual(afterPass(state([mixed], 100), settings), {
      kind: 'wait',
      untilMs: 5_100,
      notBeforeMs: 1_000,
    });
    const spent = afterPass(
      state([mixed, pass(59_800, 59_900, { pending: 3, windows: { waiting: 2, opensAt: 40_000 } })], 59_950),
      settings,
    );
    assert.equal(spent.kind === 'end' && spent.end.end, 'retry');
  });

  it('without a continuation topic a window wait redelivers', () => {
    const step = afterPass(state([windowed()], 59_950, { canContinue: false }), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'retry');
  });
});

describe("the chain's wait clock (rotorWaitSince)", () => {
  const event = '2026-12-07T10:00:00.000Z';
  const now = Date.parse('2026-12-07T12:05:00Z');
  const step2: ChainPosition = { event: 'n1', step: 2, delivery: 'c2' };
  const at = (v: string) => waitClockOf({ rotorWaitSince: v }, step2, event, now);

  it("a delivery without one starts it at its own now; a notification's attribute is not Rotor's", () => {
    assert.deepEqual(waitClockOf({}, step2, event, now), { since: now, carried: false });
    assert.deepEqual(waitClockOf({}, undefined, event, now), { since: now, carried: false });
    const notification = { event: 'n1', step: 0, delivery: 'n1' };
    assert.deepEqual(waitClockOf({ rotorWaitSince: '2026-12-07T10:00:01.000Z' }, notification, event, now), {
      since: now,
      carried: false,
    });
  });

  it('a continuation carries it: the time its chain started waiting', () => {
    assert.deepEqual(at('2026-12-07T12:00:00.000Z'), {
      since: Date.parse('2026-12-07T12:00:00Z'),
      carried: true,
    });
    assert.deepEqual(at('2026-12-07T12:00:00Z'), {
      since: Date.parse('2026-12-07T12:00:00Z'),
      carried: true,
    });
  });

  it('garbage is refused: the clock starts now (and it is said)', () => {
    for (const v of ['', 'yesterday', '1765101600000', '2026-12-07T12:00:00+01:00', '2026-13-45T99:00:00Z']) {
      const c = at(v);
      assert.deepEqual([c.since, c.carried], [now, false], v);
      assert.match(c.problem ?? '', /is not a UTC time: the wait clock starts now/, v);
    }
  });

  it('a time in the future is now at the latest (it can never stretch the bound)', () => {
    const c = at('2099-01-01T00:00:00.000Z');
    assert.deepEqual([c.since, c.carried], [now, true]);
    assert.match(c.problem ?? '', /lies in the future/);
    assert.deepEqual(at(new Date(now).toISOString()), { since: now, carried: true });
  });

  it('a time before the event is the event minus the skew at the earliest', () => {
    const c = at('2026-12-07T09:00:00.000Z');
    assert.deepEqual([c.since, c.carried], [Date.parse('2026-12-07T09:59:00Z'), true]);
    assert.match(c.problem ?? '', /before the event/);
    // Within the skew: kept as it is.
    assert.deepEqual(at('2026-12-07T09:59:30.000Z'), {
      since: Date.parse('2026-12-07T09:59:30Z'),
      carried: true,
    });
  });
});

describe('waiting for an earlier stage of clusters', () => {
  it('polls (what it waits for moves in other deliveries), never sleeps to a window', () => {
    const staged = pass(0, 100, { pending: 2, stageWaits: 2 });
    assert.deepEqual(afterPass(state([staged], 100), settings), {
      kind: 'wait',
      untilMs: 5_100,
      notBeforeMs: 1_000,
    });
  });

  it('budget spent waiting only for stages (and windows): continued, although nothing changed', () => {
    const passes: [PassRecord, ...PassRecord[]] = [
      pass(0, 100, { pending: 3, stageWaits: 2, windows: { waiting: 1, opensAt: 90_000 } }),
      pass(59_800, 59_900, { pending: 3, stageWaits: 2, windows: { waiting: 1, opensAt: 90_000 } }),
    ];
    const step = afterPass(state(passes, 59_950), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'continue');
    assert.equal(
      step.kind === 'end' && step.end.reason,
      '3 item(s) pending, waiting for an earlier stage of clusters: continued as step 1 of the event',
    );
  });

  it('other pending work besides the stage waits: no progress is a retry', () => {
    const passes: [PassRecord, ...PassRecord[]] = [
      pass(0, 100, { pending: 3, stageWaits: 2 }),
      pass(59_800, 59_900, { pending: 3, stageWaits: 2 }),
    ];
    const step = afterPass(state(passes, 59_950), settings);
    assert.equal(step.kind === 'end' && step.end.end, 'retry');
  });
});

describe('which watch event wakes a pass', () => {
  const group: WatchGroup = {
    cluster: 'c',
    namespace: 'storm',
    resource: 'workload',
    kind: 'Deployment',
    resourceVersion: '900',
    awaited: ['w1-00', 'w1-01'],
  };
  /** A one-replica Deployment at generation 2 (Rotor's restart), with the controller's status. */
  const deployment = (name: string, status: Record<string, unknown>) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'storm', generation: 2, resourceVersion: '901' },
    spec: { replicas: 1 },
    status,
  });
  const done = { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
  const modified = (object: unknown) => ({ type: 'MODIFIED', object });

  it('a waited rollout that advances wakes none: not observed yet, new pod not ready, old pod still there', () => {
    assert.equal(wakesPass(group, modified(deployment('w1-00', { ...done, observedGeneration: 1 }))), false);
    assert.equal(wakesPass(group, modified(deployment('w1-00', { ...done, updatedReplicas: 0 }))), false);
    assert.equal(wakesPass(group, modified(deployment('w1-00', { ...done, replicas: 2 }))), false);
    assert.equal(wakesPass(group, modified(deployment('w1-00', { ...done, availableReplicas: 0 }))), false);
  });

  it('a waited rollout that finished or failed wakes one', () => {
    assert.equal(wakesPass(group, modified(deployment('w1-01', done))), true);
    const deadline = {
      ...done,
      availableReplicas: 0,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    };
    assert.equal(wakesPass(group, modified(deployment('w1-00', deadline))), true);
  });

  it('another workload of the namespace wakes none, even when its rollout finished or it appeared', () => {
    assert.equal(wakesPass(group, modified(deployment('w3-07', done))), false);
    assert.equal(wakesPass(group, { type: 'ADDED', object: deployment('w3-07', done) }), false);
    assert.equal(wakesPass(group, { type: 'DELETED', object: deployment('w3-07', done) }), false);
  });

  it('a waited workload deleted or created wakes one; so does a watch that lost its place; a bookmark does not', () => {
    assert.equal(wakesPass(group, { type: 'DELETED', object: deployment('w1-00', {}) }), true);
    assert.equal(wakesPass(group, { type: 'ADDED', object: deployment('w1-00', {}) }), true);
    assert.equal(wakesPass(group, { type: 'ERROR', object: { kind: 'Status', code: 410 } }), true);
    assert.equal(wakesPass(group, { type: 'BOOKMARK', object: deployment('w1-00', done) }), false);
  });

  it('one waited object, or a whole namespace waited on: its change is judged by the rollout alone', () => {
    const one: WatchGroup = {
      cluster: 'c',
      namespace: 'storm',
      resource: 'workload',
      kind: 'Deployment',
      name: 'w1-00',
    };
    assert.equal(wakesPass(one, modified(deployment('w1-00', { ...done, availableReplicas: 0 }))), false);
    assert.equal(wakesPass(one, modified(deployment('w1-00', done))), true);
  });

  it('any change of a sync, a CSI pod status or a pod wakes one (that change may be what the pass waits for)', () => {
    const es: WatchGroup = { cluster: 'c', namespace: 'shop', resource: 'external-secret', name: 'db' };
    assert.equal(wakesPass(es, modified({ metadata: { name: 'db' }, status: {} })), true);
    const pods: WatchGroup = { cluster: 'c', namespace: 'shop', resource: 'pod' };
    assert.equal(wakesPass(pods, modified({ metadata: { name: 'web-1' } })), true);
  });
});
