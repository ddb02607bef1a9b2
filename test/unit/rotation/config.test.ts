import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { readRotationConfig } from '../../../functions/rotation/config';
import { parseDuration } from '../../../functions/rotation/duration';
import { ALPHABETS, fitsAlphabet, randomString, resolveAlphabet } from '../../../functions/rotation/alphabet';
import { mapLimit as mapBounded } from '../../../functions/concurrency';
import { scramSha256Verifier } from '../../../functions/rotation/strategies/scram';
import { SecretValue } from '../../../functions/secretmanager/secretValue';
import type { SecretMetadata } from '../../../functions/secretmanager/types';
import { InputError } from '../../../functions/errors';

const defaults = { graceMs: 86_400_000, minIntervalMs: 300_000 };
function meta(labels: Record<string, string>, annotations: Record<string, string>): SecretMetadata {
  return {
    id: { project: 'p', secret: 's' },
    name: 'projects/p/secrets/s',
    etag: '"e"',
    labels,
    annotations,
    versionAliases: {},
    topics: [],
  };
}

describe('per-secret rotation config', () => {
  it('takes the strategy from a label or an annotation, with defaults', () => {
    const c = readRotationConfig(meta({ 'rotor-strategy': 'random' }, {}), defaults);
    assert.equal(c.strategy, 'random');
    assert.equal(c.length, 32);
    assert.equal(c.alphabet, ALPHABETS.alphanumeric);
    assert.equal(c.graceMs, 86_400_000);
    const d = readRotationConfig(
      meta(
        {},
        {
          'rotor-strategy': 'random',
          'rotor-length': '64',
          'rotor-alphabet': 'hex',
          'rotor-disable-after': 'never',
          'rotor-min-interval': '0',
        },
      ),
      defaults,
    );
    assert.equal(d.length, 64);
    assert.equal(d.alphabet, '0123456789abcdef');
    assert.equal(d.graceMs, null);
    assert.equal(d.minIntervalMs, 0);
  });

  it('resolves the admin secret next to the rotated one and reads both roles', () => {
    const c = readRotationConfig(
      meta(
        { 'rotor-strategy': 'postgres-alternating' },
        { 'rotor-admin-secret': 'pg-admin', 'rotor-users': 'app_a, app_b' },
      ),
      defaults,
    );
    assert.deepEqual(c.adminSecret, { project: 'p', secret: 'pg-admin' });
    assert.deepEqual(c.users, ['app_a', 'app_b']);
    const sql = readRotationConfig(
      meta({ 'rotor-strategy': 'cloudsql' }, { 'rotor-cloudsql-instance': 'proj:europe-west1:main' }),
      defaults,
    );
    assert.deepEqual(sql.cloudSqlInstance, { project: 'proj', instance: 'main' });
  });

  it('names the key that is wrong', () => {
    const cases: Array<[Record<string, string>, Record<string, string>, RegExp]> = [
      [{}, {}, /rotor-strategy/],
      [{ 'rotor-strategy': 'magic' }, {}, /not one of/],
      [{ 'rotor-strategy': 'random' }, { 'rotor-length': '3' }, /rotor-length/],
      [{ 'rotor-strategy': 'random' }, { 'rotor-alphabet': 'klingon' }, /unknown alphabet/],
      [{ 'rotor-strategy': 'postgres' }, {}, /rotor-admin-secret/],
      [
        { 'rotor-strategy': 'postgres-alternating' },
        { 'rotor-admin-secret': 'a', 'rotor-users': 'one' },
        /rotor-users/,
      ],
      [{ 'rotor-strategy': 'cloudsql' }, {}, /rotor-cloudsql-instance/],
      [{ 'rotor-strategy': 'random' }, { 'rotor-disable-after': 'soon' }, /duration/],
    ];
    for (const [labels, annotations, msg] of cases) {
      assert.throws(
        () => readRotationConfig(meta(labels, annotations), defaults),
        (e: unknown) => e instanceof InputError && msg.test(e.message),
      );
    }
  });
});

describe('values and helpers', () => {
  it('generates values of the asked length and alphabet', () => {
    const alphabet = resolveAlphabet('chars:xyz', 'test');
    const v = randomString(100, alphabet);
    assert.ok(fitsAlphabet(v, 100, alphabet));
    assert.ok(!fitsAlphabet(v + 'a', 101, alphabet));
    // All three symbols turn up in 100 draws (probability of failure ~1e-17).
    assert.equal(new Set(v).size, 3);
  });

  it('parses durations', () => {
    assert.equal(parseDuration('90s', 'x'), 90_000);
    assert.equal(parseDuration('10m', 'x'), 600_000);
    assert.equal(parseDuration('1.5h', 'x'), 5_400_000);
    assert.equal(parseDuration('7d', 'x'), 604_800_000);
    assert.equal(parseDuration('30', 'x'), 30_000);
    assert.equal(parseDuration('never', 'x', true), null);
    assert.throws(() => parseDuration('never', 'x'), InputError);
  });

  it('builds SCRAM-SHA-256 verifiers in the format PostgreSQL stores', () => {
    const v = scramSha256Verifier('pencil', Buffer.alloc(16, 1));
    assert.match(v, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    assert.ok(!v.includes('pencil'));
  });

  it('never prints a SecretValue', () => {
    const s = SecretValue.fromString('hunter2-very-secret');
    const outputs = [
      String(s),
      `${s.toString()}`,
      JSON.stringify({ s }),
      inspect(s),
      inspect({ nested: { s } }),
      (() => {
        try {
          throw new Error(`x ${String(s)}`);
        } catch (e) {
          return (e as Error).message;
        }
      })(),
    ];
    for (const o of outputs) assert.ok(!o.includes('hunter2'), o);
    assert.equal(s.reveal(), 'hunter2-very-secret');
  });

  it('runs at most `limit` tasks at once and keeps order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapBounded(
      Array.from({ length: 20 }, (_, i) => i),
      4,
      async (i) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return i * 2;
      },
    );
    assert.equal(peak, 4);
    assert.deepEqual(
      out,
      Array.from({ length: 20 }, (_, i) => i * 2),
    );
  });
});
