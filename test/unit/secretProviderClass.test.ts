// SecretProviderClass parameters are a tenant's text, read on every event (issue 18 item 8): YAML
// aliases, which a few bytes of `- *a` turn into thousands of entries, are refused as they are
// read, and a class holds at most MAX_SPC_ENTRIES entries. A normal class still parses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../functions/errors';
import type { KubeObject } from '../../functions/core/kube';
import { MAX_SPC_ENTRIES, readSecretProviderClass } from '../../functions/core/secretProviderClass';

const spc = (secrets: string): KubeObject => ({
  apiVersion: 'secrets-store.csi.x-k8s.io/v1',
  kind: 'SecretProviderClass',
  metadata: { name: 'db', namespace: 'shop' },
  spec: { provider: 'gke', parameters: { secrets } },
});

const entry = (i: number): string => `- resourceName: projects/p/secrets/s${i}/versions/1\n  path: s${i}\n`;

/** readSecretProviderClass's InputError message for `secrets` (fails the test if it does not throw). */
function refusal(secrets: string): string {
  try {
    readSecretProviderClass(spc(secrets));
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.message;
  }
  assert.fail('the class was accepted');
}

describe('SecretProviderClass parameters.secrets: no aliases, bounded entries', () => {
  it('an alias bomb (300 000 `- *a` after one anchored entry, 1.5 MB) is refused at its first alias', () => {
    const bomb =
      '- &a {resourceName: projects/p/secrets/db/versions/1, path: db}\n' + '- *a\n'.repeat(300_000);
    assert.equal(
      refusal(bomb),
      'SecretProviderClass shop/db: spec.parameters.secrets does not parse as YAML: YAML aliases (*name) are not accepted here: write each entry out at line 2, column 3',
    );
  });

  it('anchors of anchors (lists of aliases of lists) are refused at the first alias', () => {
    const laughs = [
      '- &a [x, x, x, x, x, x, x, x, x, x]',
      '- &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      '- &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      '- [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    assert.match(
      refusal(laughs),
      /YAML aliases \(\*name\) are not accepted here: write each entry out at line 2/,
    );
  });

  it('a merge key of an anchored mapping is an alias too', () => {
    const merged = [
      '- &base {resourceName: projects/p/secrets/a/versions/1, path: a}',
      '- <<: *base',
      '  path: b',
    ].join('\n');
    assert.match(refusal(merged), /YAML aliases \(\*name\) are not accepted here/);
  });

  it(`more than ${MAX_SPC_ENTRIES} entries are refused, saying how many and the bound`, () => {
    const text = Array.from({ length: 1001 }, (_, i) => entry(i)).join('');
    assert.equal(
      refusal(text),
      'SecretProviderClass shop/db: spec.parameters.secrets has 1001 entries; at most 1000 are read per class',
    );
  });

  it(`exactly ${MAX_SPC_ENTRIES} entries are read`, () => {
    const text = Array.from({ length: 1000 }, (_, i) => entry(i)).join('');
    const info = readSecretProviderClass(spc(text));
    assert.equal(info.entries.length, 1000);
    assert.deepEqual(info.entries[999], {
      file: 's999',
      ref: { id: { project: 'p', secret: 's999' }, version: '1' },
      resourceName: 'projects/p/secrets/s999/versions/1',
    });
  });

  it('a normal class parses, a repeated plain entry included', () => {
    const text = [
      '- resourceName: projects/p/secrets/db/versions/latest',
      '  path: db',
      '- resourceName: projects/p/secrets/api/versions/3',
      '  fileName: api.txt',
      '- resourceName: projects/p/secrets/db/versions/latest',
      '  path: db-again',
    ].join('\n');
    assert.deepEqual(readSecretProviderClass(spc(text)), {
      namespace: 'shop',
      name: 'db',
      provider: 'gke',
      entries: [
        {
          file: 'db',
          ref: { id: { project: 'p', secret: 'db' }, version: 'latest' },
          resourceName: 'projects/p/secrets/db/versions/latest',
        },
        {
          file: 'api.txt',
          ref: { id: { project: 'p', secret: 'api' }, version: '3' },
          resourceName: 'projects/p/secrets/api/versions/3',
        },
        {
          file: 'db-again',
          ref: { id: { project: 'p', secret: 'db' }, version: 'latest' },
          resourceName: 'projects/p/secrets/db/versions/latest',
        },
      ],
      secretObjects: [],
    });
  });
});
