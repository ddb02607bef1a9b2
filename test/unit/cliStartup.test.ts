// The offline `rotor plan` loads no cluster or Google client: they are most of a start-up's module
// compilation (826 modules of @kubernetes/client-node and 48 of google-auth-library, reached
// through config.ts → cluster/access.ts), and a plan over files never connects to anything.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(__dirname, '..', '..');

/** The node_modules packages a fresh process has loaded after requiring `module` (CommonJS). */
function packagesLoadedBy(module: string): string[] {
  const script = `require(${JSON.stringify(module)});
const names = new Set();
for (const k of Object.keys(require.cache)) {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k);
  if (m) names.add(m[1]);
}
process.stdout.write(JSON.stringify([...names].sort()));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--eval', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe('rotor plan start-up', () => {
  it('loading the plan command (and config.ts) loads neither @kubernetes/client-node nor google-auth-library', () => {
    const loaded = packagesLoadedBy('./functions/cli/plan.ts');
    assert.ok(loaded.includes('js-yaml'), `the plan's own parser is loaded: ${loaded.join(', ')}`);
    assert.deepEqual(
      loaded.filter((p) => p === '@kubernetes/client-node' || p === 'google-auth-library'),
      [],
    );
  });

  it('connecting code still loads them (the check can tell)', () => {
    const loaded = packagesLoadedBy('./functions/cluster/access.ts');
    assert.ok(
      loaded.includes('@kubernetes/client-node') && loaded.includes('google-auth-library'),
      loaded.join(', '),
    );
  });
});
