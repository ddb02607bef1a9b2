// The Kubernetes Event of a workload outcome: which outcomes are worth one, the fields the API
// server requires (events.k8s.io/v1), the note with secret and version, and the name that makes a
// redelivery's repeat the same Event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../functions/core/kube';
import { eventName, microTime, reportedAs, workloadEvent } from '../../functions/core/kubeEvents';
import type { WorkloadOutcome } from '../../functions/core/outcome';
import { withHaltNote } from '../../functions/core/outcome';

const workload: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'shop', uid: 'u-1' },
  spec: { template: { spec: {} } },
};
const base: WorkloadOutcome = {
  cluster: 'prod',
  kind: 'Deployment',
  namespace: 'shop',
  name: 'api',
  action: 'restart',
  result: 'restarted',
  reason: 'env PW only changes when the pod restarts',
};
const src = {
  secret: 'projects/p/secrets/db',
  version: '7',
  instance: 'onSecretEvent-00001/host-a',
  now: new Date('2026-12-01T10:00:00.123Z'),
};

describe('Kubernetes Events', () => {
  it('one reason per result worth reporting; none for unchanged, recorded, skipped, dry runs', () => {
    const reason = (o: Partial<WorkloadOutcome>): string | undefined => reportedAs({ ...base, ...o })?.reason;
    assert.equal(reason({ result: 'restarted' }), 'Restarted');
    assert.equal(reason({ result: 'reloaded', action: 'reload' }), 'Reloaded');
    assert.equal(reason({ result: 'failed', action: 'reload' }), 'ReloadFailed');
    assert.equal(reason({ result: 'failed', action: 'restart' }), undefined);
    assert.equal(reason({ result: 'waiting', action: 'wait' }), 'Waiting');
    assert.equal(reason({ result: 'halted' }), 'Halted');
    assert.equal(reason({ result: 'gave-up', action: 'wait' }), 'GaveUp');
    for (const result of ['unchanged', 'recorded', 'skipped', 'dry-run'] as const)
      assert.equal(reason({ result }), undefined, result);
  });

  it('carries what the API server requires: eventTime in microseconds, type, action, reporting controller and instance', () => {
    const e = workloadEvent(workload, base, src);
    assert.ok(e);
    assert.equal(e.apiVersion, 'events.k8s.io/v1');
    assert.equal(e.eventTime, '2026-12-01T10:00:00.123000Z');
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'Restarted');
    assert.equal(e.action, 'Restart');
    assert.equal(e.reportingController, 'rotor');
    assert.equal(e.reportingInstance, 'onSecretEvent-00001/host-a');
    assert.deepEqual(e.regarding, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'api',
      uid: 'u-1',
    });
    assert.equal(e.metadata.namespace, 'shop');
    assert.match(e.metadata.name, /^api\.rotor-[0-9a-f]{16}$/);
    assert.equal(e.note, 'projects/p/secrets/db version 7: env PW only changes when the pod restarts');
  });

  it('a halt is a Warning naming the reasons', () => {
    const e = workloadEvent(
      workload,
      { ...base, result: 'halted', reason: 'the rollout failed: api-1 app: CrashLoopBackOff' },
      src,
    );
    assert.equal(e?.type, 'Warning');
    assert.equal(e?.note, 'projects/p/secrets/db version 7: the rollout failed: api-1 app: CrashLoopBackOff');
  });

  it('a halt that requested a rollback says the previous value is being restored, ahead of a long list of pods', () => {
    const note =
      'the previous value is being restored: ROTOR_ON_HALT is rollback, so the rotation function was asked to add the version before 7 again as a new version (it refuses, saying why, if a rotation retired that version)';
    const pods = Array.from({ length: 30 }, (_, i) => `api-${i} app: CrashLoopBackOff (3 restarts)`);
    const halted = withHaltNote(
      { ...base, result: 'halted', reason: `the rollout failed: ${pods.join('; ')}` },
      note,
    );
    const e = workloadEvent(workload, halted, src);
    assert.equal(e?.reason, 'Halted');
    assert.ok(
      e?.note.startsWith(
        'projects/p/secrets/db version 7: the previous value is being restored: ROTOR_ON_HALT is rollback, so the rotation function was asked to add the version before 7 again as a new version (it refuses, saying why, if a rotation retired that version); the rollout failed: api-0 app: CrashLoopBackOff (3 restarts); ',
      ),
      e?.note,
    );
    assert.ok(e?.note.endsWith(' ...'), 'the pods that do not fit are cut, not the rollback');
    // Only a halted workload carries it.
    assert.equal(withHaltNote(base, note), base);
  });

  it('the same fact has the same name (a redelivery repeats nothing); another wave, version or reason does not', () => {
    const waiting: WorkloadOutcome = {
      ...base,
      result: 'waiting',
      action: 'restart',
      waitingFor: 'wave',
      wave: 2,
    };
    const name = (o: WorkloadOutcome, s = src): string | undefined =>
      workloadEvent(workload, o, s)?.metadata.name;
    assert.equal(name(waiting), name(waiting, { ...src, now: new Date('2026-12-01T11:00:00Z') }));
    assert.equal(name(waiting), name({ ...waiting, reason: 'other words, same wait' }));
    assert.notEqual(name(waiting), name({ ...waiting, waitingFor: 'eso' }));
    assert.notEqual(name(waiting), name(waiting, { ...src, version: '8' }));
    assert.notEqual(name(waiting), name(base));
  });

  it('alias moves (no version) are told apart by the versions they moved to, in any order', () => {
    const update = { secret: 'projects/p/secrets/db', instance: 'i', now: new Date('2026-12-01T10:00:00Z') };
    const name = (aliases: Record<string, string>): string | undefined =>
      workloadEvent(workload, base, { ...update, aliases })?.metadata.name;
    assert.notEqual(name({ current: '7' }), name({ current: '8' }), 'the next rotation is a new fact');
    assert.equal(name({ current: '7', canary: '8' }), name({ canary: '8', current: '7' }));
    assert.notEqual(name({ current: '7' }), workloadEvent(workload, base, update)?.metadata.name);
  });

  it('truncates the note to 1024 characters and the instance to 128', () => {
    const e = workloadEvent(
      workload,
      { ...base, reason: 'x'.repeat(2000) },
      { ...src, instance: 'i'.repeat(300) },
    );
    assert.equal(e?.note.length, 1024);
    assert.ok(e?.note.endsWith(' ...'));
    assert.equal(e?.reportingInstance.length, 128);
  });

  it('microTime has exactly six fractional digits', () => {
    assert.equal(microTime(new Date('2026-12-01T10:00:00Z')), '2026-12-01T10:00:00.000000Z');
  });

  it('a give-up is a Warning, like a halt and a failed reload; a restart, reload or wait is Normal', () => {
    const type = (o: Partial<WorkloadOutcome>): string | undefined =>
      workloadEvent(workload, { ...base, ...o }, src)?.type;
    assert.equal(type({ result: 'gave-up', action: 'wait' }), 'Warning');
    assert.equal(type({ result: 'halted' }), 'Warning');
    assert.equal(type({ result: 'failed', action: 'reload' }), 'Warning');
    assert.equal(type({ result: 'restarted' }), 'Normal');
    assert.equal(type({ result: 'reloaded', action: 'reload' }), 'Normal');
    assert.equal(type({ result: 'waiting', action: 'wait' }), 'Normal');
  });

  it('a wait on wave 2, then on wave 3, are two Events', () => {
    const onWave = (wave: number): WorkloadOutcome => ({
      ...base,
      result: 'waiting',
      waitingFor: 'wave',
      wave,
    });
    const two = workloadEvent(workload, onWave(2), src)?.metadata.name;
    const three = workloadEvent(workload, onWave(3), src)?.metadata.name;
    assert.ok(two && three);
    assert.notEqual(two, three);
  });

  it('a Restarted, then a Halted, for one workload and version, are two Events', () => {
    const restarted = workloadEvent(workload, base, src)?.metadata.name;
    const halted = workloadEvent(workload, { ...base, result: 'halted', reason: 'the rollout failed' }, src)
      ?.metadata.name;
    assert.ok(restarted && halted);
    assert.notEqual(restarted, halted);
  });
});

describe('Kubernetes Event names and notes the API server accepts', () => {
  const HASH = '0123456789abcdef';
  const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const named = (name: string): string | undefined =>
    workloadEvent({ ...workload, metadata: { name, namespace: 'shop' } }, { ...base, name }, src)?.metadata
      .name;

  it('a short name is kept whole', () => {
    assert.equal(eventName('api', HASH), 'api.rotor-0123456789abcdef');
  });
  it('the longest workload name (253 characters) makes a name of 253 characters at most', () => {
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal(longest.length, 253);
    const name = named(longest) ?? '';
    assert.ok(name.length <= 253, `${name.length} characters`);
    assert.match(name, DNS_SUBDOMAIN);
    assert.equal(eventName(longest, HASH), `${longest.slice(0, 230)}.rotor-${HASH}`);
    assert.equal(eventName(longest, HASH).length, 253);
  });
  it('a cut that ends in "-" or "." does not end the stem there', () => {
    // 240 characters: these put "-" or "." at the cut (230 characters).
    const dash = `${'a'.repeat(229)}-${'b'.repeat(10)}`;
    const dot = `${'a'.repeat(229)}.${'b'.repeat(10)}`;
    const dashes = `${'a'.repeat(225)}-----${'b'.repeat(10)}`;
    assert.equal(eventName(dash, HASH), `${'a'.repeat(229)}.rotor-${HASH}`);
    assert.equal(eventName(dot, HASH), `${'a'.repeat(229)}.rotor-${HASH}`);
    assert.equal(eventName(dashes, HASH), `${'a'.repeat(225)}.rotor-${HASH}`);
    for (const n of [dash, dot, dashes]) assert.match(named(n) ?? '', DNS_SUBDOMAIN);
  });
  it('a 201-character name whose 200th character is "-" is valid (the old cut at 200 made "x-.rotor-…")', () => {
    const name = `${'w'.repeat(199)}-x`;
    assert.equal(name.length, 201);
    assert.equal(eventName(name, HASH), `${name}.rotor-${HASH}`);
  });
  it('a name that is no DNS subdomain gives the hash alone', () => {
    assert.equal(eventName('Bad_Name', HASH), `rotor-${HASH}`);
    assert.equal(eventName('-', HASH), `rotor-${HASH}`);
  });

  it('the note is within 1024 bytes of UTF-8, cut between characters', () => {
    // 586 characters, 1386 bytes: each "—" is 3 bytes.
    const reason = `${'—'.repeat(400)}${'r'.repeat(153)}`;
    const e = workloadEvent(workload, { ...base, reason }, src);
    const note = e?.note ?? '';
    const prefix = 'projects/p/secrets/db version 7: ';
    assert.equal(prefix.length + reason.length, 586);
    assert.equal(Buffer.byteLength(prefix + reason), 1386);
    assert.ok(Buffer.byteLength(note) <= 1024, `${Buffer.byteLength(note)} bytes`);
    // 1024 bytes: the prefix (33), " ..." (4), and 329 whole dashes (987 bytes).
    assert.equal(note, `${prefix}${'—'.repeat(329)} ...`);
  });
  it('the reporting instance is within 128 bytes, cut between characters', () => {
    const e = workloadEvent(workload, base, { ...src, instance: `rev/${'é'.repeat(100)}` });
    assert.equal(e?.reportingInstance, `rev/${'é'.repeat(62)}`);
  });
});
