// Maintenance windows applied to decisions: which windows apply (workload entry, namespace
// annotation, cluster-wide), the gate (act, wait until it opens, beyond the bound), and the live
// decision it produces. Expected instants are worked out by hand beside each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveDecision } from '../../functions/core/liveDecision';
import type { ApplicableWindows, WindowPolicy } from '../../functions/core/restartGate';
import { gateDecision, restartGate, windowsFor } from '../../functions/core/restartGate';
import type { RestartWindow } from '../../functions/core/restartWindows';
import { parseRestartWindows } from '../../functions/core/restartWindows';
import { loadConfig } from '../../functions/config';
import type { Plan, PlannedWorkload } from '../../functions/core/plan';
import { withPlannedTimes } from '../../functions/core/plan';
import { renderMarkdown } from '../../functions/render/markdown';

function windows(text: string): readonly RestartWindow[] {
  const parsed = parseRestartWindows(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.windows;
}

const HOUR = 3600_000;
const WEEK = 7 * 24 * HOUR;
// Monday 2026-12-07 10:00 UTC = 11:00 in Berlin (CET, UTC+1): outside 02:00-05:00 Berlin.
const MONDAY_10_UTC = Date.parse('2026-12-07T10:00:00Z');
// The next Berlin window starts Tuesday 02:00 CET = 01:00 UTC.
const TUESDAY_01_UTC = Date.parse('2026-12-08T01:00:00Z');

const policy = (over: Partial<WindowPolicy> = {}): WindowPolicy => ({
  cluster: windows('Mon-Fri 02:00-05:00 Europe/Berlin'),
  byWorkload: new Map(),
  reloadOutsideWindows: false,
  maxWaitMs: WEEK,
  ...over,
});
const ref = { namespace: 'payments', kind: 'Deployment' as const, name: 'api' };

describe('which windows apply to a workload', () => {
  it('the cluster-wide ones when nothing overrides them', () => {
    const a = windowsFor(policy(), ref, undefined);
    assert.equal(a.from, 'ROTOR_RESTART_WINDOWS');
    assert.equal(a.windows[0]?.text, 'Mon-Fri 02:00-05:00 Europe/Berlin');
  });

  it("the namespace's annotation over the cluster-wide ones", () => {
    const a = windowsFor(policy(), ref, 'Sat 00:00-06:00 UTC');
    assert.equal(a.from, "namespace payments's rotor.dev/restart-windows");
    assert.equal(a.windows[0]?.text, 'Sat 00:00-06:00 UTC');
  });

  it("the workload's own entry over its namespace's annotation", () => {
    const p = policy({ byWorkload: new Map([['payments/Deployment/api', windows('Sun 03:00-04:00 UTC')]]) });
    const a = windowsFor(p, ref, 'Sat 00:00-06:00 UTC');
    assert.equal(a.from, 'ROTOR_WORKLOAD_RESTART_WINDOWS for payments/Deployment/api');
    assert.equal(a.windows[0]?.text, 'Sun 03:00-04:00 UTC');
    // Another workload of the namespace keeps the namespace's windows.
    assert.equal(
      windowsFor(p, { ...ref, name: 'web' }, 'Sat 00:00-06:00 UTC').windows[0]?.text,
      'Sat 00:00-06:00 UTC',
    );
  });

  it('an unparsable namespace annotation falls back to the cluster-wide windows, with a warning', () => {
    const a = windowsFor(policy(), ref, 'whenever');
    assert.equal(a.from, 'ROTOR_RESTART_WINDOWS');
    assert.match(a.warning ?? '', /^namespace payments: rotor\.dev\/restart-windows ignored \(/);
  });
});

const berlin: ApplicableWindows = {
  windows: windows('Mon-Fri 02:00-05:00 Europe/Berlin'),
  from: 'ROTOR_RESTART_WINDOWS',
};

describe('the window gate', () => {
  it('acts at any time without windows', () => {
    const none = { windows: [], from: 'ROTOR_RESTART_WINDOWS' };
    assert.deepEqual(
      restartGate({ action: 'restart', applicable: none, policy: policy(), now: MONDAY_10_UTC }),
      {
        kind: 'act',
      },
    );
  });

  it('acts inside a window (Tuesday 01:30 UTC = 02:30 Berlin)', () => {
    const now = Date.parse('2026-12-08T01:30:00Z');
    assert.deepEqual(restartGate({ action: 'restart', applicable: berlin, policy: policy(), now }), {
      kind: 'act',
    });
  });

  it('outside a window waits until it opens, and says when', () => {
    assert.deepEqual(
      restartGate({ action: 'restart', applicable: berlin, policy: policy(), now: MONDAY_10_UTC }),
      {
        kind: 'wait',
        opensAtMs: TUESDAY_01_UTC,
        reason:
          'outside its maintenance window: the restart waits for ROTOR_RESTART_WINDOWS (Mon-Fri 02:00-05:00 Europe/Berlin), which opens at 2026-12-08T01:00:00.000Z',
      },
    );
  });

  it('a window opening after the bound (counted from the event) is reported, not waited for', () => {
    // The event was at 09:00; bound 15 h: 2026-12-08T00:00Z, before the window's 01:00Z.
    const gate = restartGate({
      action: 'restart',
      applicable: berlin,
      policy: policy({ maxWaitMs: 15 * HOUR }),
      now: MONDAY_10_UTC,
      eventTime: MONDAY_10_UTC - HOUR,
    });
    assert.equal(gate.kind, 'beyond-bound');
    assert.equal(
      gate.kind === 'beyond-bound' && gate.reason,
      'outside its maintenance window: ROTOR_RESTART_WINDOWS (Mon-Fri 02:00-05:00 Europe/Berlin) opens at 2026-12-08T01:00:00.000Z, later than 54000s after the event (ROTOR_WINDOW_MAX_WAIT_SECONDS); not waited for: run rotor apply inside the window',
    );
    // 16 h from 09:00 is 01:00Z: exactly the opening, still waited for.
    const atBound = restartGate({
      action: 'restart',
      applicable: berlin,
      policy: policy({ maxWaitMs: 16 * HOUR }),
      now: MONDAY_10_UTC,
      eventTime: MONDAY_10_UTC - HOUR,
    });
    assert.equal(atBound.kind, 'wait');
  });

  it('a reload waits too, unless reloads are allowed outside windows', () => {
    const waits = restartGate({ action: 'reload', applicable: berlin, policy: policy(), now: MONDAY_10_UTC });
    assert.equal(waits.kind, 'wait');
    assert.match(waits.kind === 'wait' ? waits.reason : '', /the reload waits for/);
    const allowed = policy({ reloadOutsideWindows: true });
    assert.deepEqual(
      restartGate({ action: 'reload', applicable: berlin, policy: allowed, now: MONDAY_10_UTC }),
      {
        kind: 'act',
      },
    );
    // The flag is about reloads only.
    assert.equal(
      restartGate({ action: 'restart', applicable: berlin, policy: allowed, now: MONDAY_10_UTC }).kind,
      'wait',
    );
  });
});

const restart: LiveDecision = {
  action: 'restart',
  reason: 'reads the secret',
  records: [{ key: 'projects/p/secrets/db', version: '2' }],
  at: '2026-12-07T10:00:00Z',
};
const reload: LiveDecision = {
  action: 'reload',
  reason: 'mounts the secret',
  endpoint: { port: '8080', path: '/reload' },
  pods: [],
  records: [{ key: 'projects/p/secrets/db', version: '2' }],
  onFailure: { restart: true, at: '2026-12-07T10:00:00Z' },
};

describe('a live decision with the windows applied', () => {
  it('a restart outside its window becomes a wait for the window, until it opens', () => {
    assert.deepEqual(gateDecision(restart, berlin, policy(), { now: MONDAY_10_UTC }), {
      action: 'wait',
      reason:
        'reads the secret; outside its maintenance window: the restart waits for ROTOR_RESTART_WINDOWS (Mon-Fri 02:00-05:00 Europe/Berlin), which opens at 2026-12-08T01:00:00.000Z',
      waitingFor: 'window',
      nudge: [],
      forceSecretSyncs: [],
      giveUpAt: TUESDAY_01_UTC,
    });
  });

  it('beyond the bound, a give-up that is reported and acked', () => {
    const d = gateDecision(restart, berlin, policy({ maxWaitMs: HOUR }), { now: MONDAY_10_UTC });
    assert.equal(d.action, 'give-up');
    assert.match(d.reason, /^reads the secret; outside its maintenance window: .* not waited for/);
  });

  it('a reload allowed outside windows keeps its ping, without the restart fallback outside a window', () => {
    const allowed = policy({ reloadOutsideWindows: true });
    const outside = gateDecision(reload, berlin, allowed, { now: MONDAY_10_UTC });
    assert.deepEqual(outside.action === 'reload' && outside.onFailure, { restart: false });
    // Inside the window the fallback restart stays.
    const inside = gateDecision(reload, berlin, allowed, { now: Date.parse('2026-12-08T01:30:00Z') });
    assert.deepEqual(inside.action === 'reload' && inside.onFailure, {
      restart: true,
      at: '2026-12-07T10:00:00Z',
    });
  });

  it('other decisions pass through untouched', () => {
    const none: LiveDecision = { action: 'none', reason: 'already applied' };
    assert.equal(gateDecision(none, berlin, policy(), { now: MONDAY_10_UTC }), none);
  });
});

describe('window configuration, validated at start', () => {
  it('reads the windows, the per-workload entries, the reload flag and the bound', () => {
    const c = loadConfig({
      ROTOR_RESTART_WINDOWS: 'Mon-Fri 02:00-05:00 Europe/Berlin',
      ROTOR_WORKLOAD_RESTART_WINDOWS: '{"payments/Deployment/api": "Sun 03:00-04:00 UTC"}',
      ROTOR_RELOAD_OUTSIDE_WINDOWS: 'true',
      ROTOR_WINDOW_MAX_WAIT_SECONDS: '3600',
    });
    assert.equal(c.windows.cluster[0]?.text, 'Mon-Fri 02:00-05:00 Europe/Berlin');
    assert.equal(c.windows.byWorkload.get('payments/Deployment/api')?.[0]?.text, 'Sun 03:00-04:00 UTC');
    assert.equal(c.windows.reloadOutsideWindows, true);
    assert.equal(c.windows.maxWaitMs, 3600_000);
  });

  it('unset: restarts at any time, a week as the bound', () => {
    const c = loadConfig({});
    assert.deepEqual(c.windows.cluster, []);
    assert.equal(c.windows.byWorkload.size, 0);
    assert.equal(c.windows.reloadOutsideWindows, false);
    assert.equal(c.windows.maxWaitMs, 604_800_000);
  });

  it('refuses a malformed setting with an error naming it', () => {
    assert.throws(
      () => loadConfig({ ROTOR_RESTART_WINDOWS: 'Mon-Fri 2-5' }),
      /^InputError: ROTOR_RESTART_WINDOWS: /,
    );
    assert.throws(
      () => loadConfig({ ROTOR_WORKLOAD_RESTART_WINDOWS: 'api=Sun' }),
      /ROTOR_WORKLOAD_RESTART_WINDOWS is not JSON/,
    );
    assert.throws(
      () => loadConfig({ ROTOR_WORKLOAD_RESTART_WINDOWS: '{"api": "Sun 03:00-04:00"}' }),
      /"api" is not NAMESPACE\/Kind\/NAME/,
    );
    assert.throws(
      () => loadConfig({ ROTOR_WORKLOAD_RESTART_WINDOWS: '{"a/Deployment/b": "Sun 3-4"}' }),
      /ROTOR_WORKLOAD_RESTART_WINDOWS for a\/Deployment\/b: /,
    );
    assert.throws(
      () => loadConfig({ ROTOR_RELOAD_OUTSIDE_WINDOWS: 'maybe' }),
      /ROTOR_RELOAD_OUTSIDE_WINDOWS/,
    );
  });
});

describe('rotor plan with maintenance windows', () => {
  const planned = (name: string, action: 'restart' | 'reload' | 'none'): PlannedWorkload => ({
    cluster: 'manifests',
    kind: 'Deployment',
    namespace: 'payments',
    name,
    action,
    reason: 'reads the secret',
    dependencies: [],
  });
  const plan: Plan = {
    secret: 'projects/p/secrets/db',
    event: 'SECRET_VERSION_ADD',
    workloads: [planned('api', 'restart'), planned('web', 'reload'), planned('cron', 'none')],
  };

  it('says when each restart and reload happens for an event at --now', () => {
    const timed = withPlannedTimes(plan, policy({ reloadOutsideWindows: true }), MONDAY_10_UTC);
    assert.deepEqual(
      timed.workloads.map((w) => [w.name, w.when]),
      [
        [
          'api',
          {
            when: 'window',
            at: '2026-12-08T01:00:00.000Z',
            windows: 'ROTOR_RESTART_WINDOWS: Mon-Fri 02:00-05:00 Europe/Berlin',
          },
        ],
        ['web', { when: 'now' }],
        ['cron', undefined],
      ],
    );
  });

  it('a namespace override read live applies to its workloads', () => {
    const timed = withPlannedTimes(
      plan,
      policy(),
      MONDAY_10_UTC,
      new Map([['payments', 'daily 00:00-24:00 UTC']]),
    );
    assert.deepEqual(timed.workloads[0]?.when, { when: 'now' });
  });

  it('without windows the plan is unchanged', () => {
    assert.equal(withPlannedTimes(plan, policy({ cluster: [] }), MONDAY_10_UTC), plan);
  });

  it('markdown has a When column and lists the windows', () => {
    const md = renderMarkdown(withPlannedTimes(plan, policy(), MONDAY_10_UTC), []);
    assert.ok(md.includes('| Action | Wave | When | Workload | Via | Reason |'), md);
    assert.ok(
      md.includes('| **RESTART** | - | at 2026-12-08T01:00:00.000Z | `Deployment/payments/api` |'),
      md,
    );
    assert.ok(
      md.includes(
        '**Maintenance windows**\n\n- ROTOR\\_RESTART\\_WINDOWS: Mon-Fri 02:00-05:00 Europe/Berlin',
      ),
      md,
    );
  });
});
