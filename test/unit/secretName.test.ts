// Secret identity: parsing full and short names, project id ↔ number mapping, normalised keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../functions/errors';
import {
  ProjectMap,
  formatSecretId,
  formatSecretVersion,
  parseSecretArg,
  parseSecretName,
  secretKey,
  versionKind,
} from '../../functions/core/secretName';
import type { SecretId } from '../../functions/core/secretName';

/** Two SecretIds name the same secret when their normalised keys are equal. */
const sameSecret = (a: SecretId, b: SecretId, projects: ProjectMap): boolean =>
  secretKey(a, projects) === secretKey(b, projects);

/** Asserts `fn` throws an InputError whose message matches every pattern. */
function throwsInput(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe('parseSecretName', () => {
  it('parses a global secret without a version', () => {
    assert.deepEqual(parseSecretName('projects/my-proj/secrets/db-password'), {
      id: { project: 'my-proj', secret: 'db-password' },
      version: undefined,
    });
  });

  it('parses a global secret with a numbered, latest and alias version', () => {
    assert.equal(parseSecretName('projects/123456789012/secrets/db/versions/7').version, '7');
    assert.equal(parseSecretName('projects/p/secrets/db/versions/latest').version, 'latest');
    assert.equal(parseSecretName('projects/p/secrets/db/versions/current').version, 'current');
    assert.equal(parseSecretName('projects/p/secrets/db/versions/blue_green-2').version, 'blue_green-2');
  });

  it('parses a regional secret, keeping the location in the identity', () => {
    assert.deepEqual(
      parseSecretName('projects/my-proj/locations/europe-west1/secrets/db-password/versions/latest'),
      {
        id: { project: 'my-proj', location: 'europe-west1', secret: 'db-password' },
        version: 'latest',
      },
    );
  });

  it('accepts domain-scoped project ids and a leading slash', () => {
    assert.equal(
      parseSecretName('projects/example.com:legacy-proj/secrets/s').id.project,
      'example.com:legacy-proj',
    );
    assert.equal(parseSecretName('/projects/p/secrets/s').id.secret, 's');
  });

  it('names the segment that is wrong', () => {
    throwsInput(() => parseSecretName(''), /secret name is empty/);
    throwsInput(
      () => parseSecretName('project/p/secrets/s'),
      /expected "projects" at segment 1, found "project"/,
    );
    throwsInput(
      () => parseSecretName('projects/p/secret/s'),
      /expected "secrets" at segment 3, found "secret"/,
    );
    throwsInput(
      () => parseSecretName('projects/p/locations/eu/secret/s'),
      /expected "secrets" at segment 5, found "secret"/,
    );
    throwsInput(
      () => parseSecretName('projects/p/secrets/s/version/1'),
      /expected "versions" at segment 5, found "version"/,
    );
    throwsInput(
      () => parseSecretName('projects/p/secrets/s/versions/1/extra'),
      /unexpected trailing segments "extra"/,
    );
    throwsInput(() => parseSecretName('projects/p/secrets/s/'), /expected "versions" at segment 5, found ""/);
  });

  it('rejects invalid projects, locations, names and versions with the offending value', () => {
    throwsInput(() => parseSecretName('projects/My_Proj/secrets/s'), /invalid project "My_Proj"/);
    throwsInput(() => parseSecretName('projects//secrets/s'), /invalid project ""/);
    throwsInput(
      () => parseSecretName('projects/p/locations/Europe West/secrets/s'),
      /invalid location "Europe West"/,
    );
    throwsInput(
      () => parseSecretName('projects/p/secrets/db.password'),
      /invalid secret name "db.password" \(letters, digits, _ and - only\)/,
    );
    throwsInput(() => parseSecretName(`projects/p/secrets/${'a'.repeat(256)}`), /invalid secret name/);
    throwsInput(
      () => parseSecretName('projects/p/secrets/s/versions/-1'),
      /invalid version "-1" \(latest, a number or an alias\)/,
    );
    throwsInput(() => parseSecretName('projects/p/secrets/s/versions/'), /invalid version ""/);
  });

  it('rejects non-Secret Manager resources such as Parameter Manager names', () => {
    throwsInput(
      () => parseSecretName('projects/p/locations/global/parameters/cfg/versions/v1'),
      /expected "secrets" at segment 5, found "parameters"/,
    );
  });
});

describe('parseSecretArg', () => {
  it('passes full names through', () => {
    assert.deepEqual(parseSecretArg('projects/p/secrets/s').id, { project: 'p', secret: 's' });
  });

  it('resolves short names against the default project', () => {
    assert.deepEqual(parseSecretArg('db-password', 'my-proj'), {
      id: { project: 'my-proj', secret: 'db-password' },
      version: undefined,
    });
  });

  it('accepts a short name with a version', () => {
    assert.deepEqual(parseSecretArg('db-password/versions/3', 'my-proj'), {
      id: { project: 'my-proj', secret: 'db-password' },
      version: '3',
    });
  });

  it('explains what to type when a short name has no default project', () => {
    throwsInput(
      () => parseSecretArg('db-password'),
      /secret "db-password" is a short name: give projects\/P\/secrets\/db-password or a default project/,
    );
  });

  it('rejects a short name with a location: regional secrets need their full name', () => {
    throwsInput(
      () => parseSecretArg('europe-west1/db-password', 'my-proj'),
      /"europe-west1\/db-password".*full name/,
    );
  });
});

describe('formatting and version kinds', () => {
  it('formats global and regional names', () => {
    assert.equal(formatSecretId({ project: 'p', secret: 's' }), 'projects/p/secrets/s');
    assert.equal(
      formatSecretId({ project: 'p', location: 'us-central1', secret: 's' }),
      'projects/p/locations/us-central1/secrets/s',
    );
    assert.equal(formatSecretVersion({ project: 'p', secret: 's' }, '3'), 'projects/p/secrets/s/versions/3');
  });

  it('round-trips every form through parse and format', () => {
    for (const name of [
      'projects/p/secrets/s/versions/3',
      'projects/123/locations/us-east4/secrets/s_1/versions/latest',
      'projects/p/secrets/S-2/versions/stable',
    ]) {
      const ref = parseSecretName(name);
      assert.equal(formatSecretVersion(ref.id, ref.version!), name);
    }
  });

  it('classifies versions', () => {
    assert.equal(versionKind('latest'), 'latest');
    assert.equal(versionKind('12'), 'number');
    assert.equal(versionKind('current'), 'alias');
  });
});

describe('ProjectMap and secret identity', () => {
  it('parses ID=NUMBER lists, ignoring blanks and spaces', () => {
    const map = ProjectMap.parse(' my-proj=123456789012, ,other=42 ');
    assert.deepEqual(map.entries(), [
      ['my-proj', '123456789012'],
      ['other', '42'],
    ]);
    assert.equal(map.canonical('123456789012'), 'my-proj');
    assert.equal(map.canonical('my-proj'), 'my-proj');
    assert.equal(map.canonical('999'), '999');
    assert.equal(map.numberOf('my-proj'), '123456789012');
    assert.equal(map.numberOf('555'), '555');
    assert.equal(map.numberOf('unknown'), undefined);
    assert.deepEqual(ProjectMap.parse(undefined).entries(), []);
  });

  it('rejects malformed pairs, naming them', () => {
    throwsInput(() => ProjectMap.parse('my-proj'), /project map: "my-proj" is not ID=NUMBER/);
    throwsInput(() => ProjectMap.parse('my-proj=abc'), /"abc" is not a project number \(for my-proj\)/);
    throwsInput(() => ProjectMap.parse('123=456'), /"123" looks like a number, expected a project id/);
    throwsInput(() => ProjectMap.parse('a=1=2'), /"a=1=2" is not ID=NUMBER/);
  });

  it('makes a secret named by number and by id the same secret once mapped', () => {
    const byNumber = parseSecretName('projects/123456789012/secrets/db').id;
    const byId = parseSecretName('projects/my-proj/secrets/db').id;
    assert.equal(sameSecret(byNumber, byId, new ProjectMap()), false);
    const map = ProjectMap.parse('my-proj=123456789012');
    assert.equal(sameSecret(byNumber, byId, map), true);
    assert.equal(secretKey(byNumber, map), 'projects/my-proj/secrets/db');
  });

  it('keeps regional and global secrets of the same name apart, and regions apart', () => {
    const map = ProjectMap.parse('my-proj=1');
    const global = parseSecretName('projects/my-proj/secrets/db').id;
    const eu = parseSecretName('projects/1/locations/europe-west1/secrets/db').id;
    const us = parseSecretName('projects/my-proj/locations/us-central1/secrets/db').id;
    assert.equal(sameSecret(global, eu, map), false);
    assert.equal(sameSecret(eu, us, map), false);
    assert.equal(
      sameSecret(eu, parseSecretName('projects/my-proj/locations/europe-west1/secrets/db').id, map),
      true,
    );
  });

  it('distinguishes secrets whose names differ only in case', () => {
    assert.equal(
      sameSecret({ project: 'p', secret: 'DB' }, { project: 'p', secret: 'db' }, new ProjectMap()),
      false,
    );
  });
});
