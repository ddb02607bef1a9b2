import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALPHABETS, fitsAlphabet, randomString, resolveAlphabet } from '../../../functions/rotation/alphabet';
import { InputError } from '../../../functions/errors';

describe('alphabets', () => {
  it('printable is exactly letters, digits and the punctuation its comment and docs name', () => {
    assert.equal(
      ALPHABETS.printable,
      'abcdefghijklmnopqrstuvwxyz' + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' + '0123456789' + '!#%*+,-.:;=?^_~',
    );
    // What the comment says it leaves out really is left out.
    for (const c of ' "\'`\\$&|<>()[]{}/@') assert.ok(!ALPHABETS.printable.includes(c), `has ${c}`);
  });

  it('a chars: alphabet with emoji generates whole code points from the alphabet', () => {
    const alphabet = resolveAlphabet('chars:🔑🦀a😀', 'test');
    assert.deepEqual([...alphabet], ['🔑', '🦀', 'a', '😀']);
    const v = randomString(200, alphabet);
    const chars = [...v];
    assert.equal(chars.length, 200, 'length counts code points');
    for (const c of chars) assert.ok(['🔑', '🦀', 'a', '😀'].includes(c), `unexpected ${JSON.stringify(c)}`);
    assert.doesNotMatch(v, /\p{Cs}/u, 'no lone surrogate');
    // All four symbols turn up in 200 draws (probability of failure ~4·(3/4)^200 ≈ 1e-25).
    assert.equal(new Set(chars).size, 4);
    assert.ok(fitsAlphabet(v, 200, alphabet));
    // Half of an emoji is not a symbol of the alphabet.
    assert.ok(!fitsAlphabet('a'.repeat(199) + '\ud83d', 200, alphabet));
    assert.ok(!fitsAlphabet('a'.repeat(198) + '🔑', 200, alphabet), 'one code point short');
  });

  it('counts distinct characters by code point, and rejects half characters', () => {
    assert.throws(() => resolveAlphabet('chars:😀', 'test'), /at least 2 distinct characters/);
    assert.throws(() => resolveAlphabet('chars:😀😀', 'test'), /at least 2 distinct characters/);
    assert.throws(
      () => resolveAlphabet('chars:ab\ud83d', 'test'),
      (e: unknown) => e instanceof InputError && /unpaired UTF-16 surrogate/.test(e.message),
    );
  });
});
