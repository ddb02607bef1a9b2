// When ESO never refreshes an ExternalSecret again: its refreshPolicy and refreshInterval as its
// controller reads them (Go durations, `<= 0` means never for the Periodic policy).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { esoNeverRefreshes } from '../../functions/core/esoRefresh';
import type { KubeObject } from '../../functions/core/kube';

function es(spec: Record<string, unknown> | undefined): KubeObject {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'db', namespace: 'shop' },
    ...(spec ? { spec } : {}),
  };
}

describe('esoNeverRefreshes', () => {
  it('names CreatedOnce whatever the interval', () => {
    assert.equal(
      esoNeverRefreshes(es({ refreshPolicy: 'CreatedOnce', refreshInterval: '1h' })),
      'refreshPolicy CreatedOnce',
    );
  });

  it('names a zero or negative interval under Periodic or no policy', () => {
    for (const interval of ['0', '0s', '0h0m0s', '0.0ms', '-5m', '+0s'])
      assert.equal(
        esoNeverRefreshes(es({ refreshInterval: interval })),
        `refreshInterval ${interval}`,
        interval,
      );
    assert.equal(
      esoNeverRefreshes(es({ refreshPolicy: 'Periodic', refreshInterval: '0s' })),
      'refreshInterval 0s',
    );
  });

  it('leaves refreshing ones, OnChange, and unreadable input alone', () => {
    for (const spec of [
      undefined,
      {},
      { refreshInterval: '1h' },
      { refreshInterval: '1h0m0s' },
      { refreshInterval: '0h1m' },
      { refreshPolicy: 'OnChange', refreshInterval: '0s' },
      { refreshInterval: 'never' },
      { refreshInterval: '0x' },
      { refreshInterval: '' },
      { refreshInterval: 0 },
      { refreshPolicy: 'Sometimes', refreshInterval: '0s' },
    ])
      assert.equal(esoNeverRefreshes(es(spec)), undefined, JSON.stringify(spec));
  });
});
