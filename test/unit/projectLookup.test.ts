// A project number missing from ROTOR_PROJECT_MAP: looked up through Resource Manager once per
// instance; when that fails, a warning names the number and Rotor goes on without the mapping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isUnmappedNumber,
  projectIdFromProjectsGet,
  unmappedNumberProblem,
} from '../../functions/core/projectNumber';
import { ProjectMap } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { ProjectNumberResolver } from '../../functions/projectLookup';

describe('project numbers without a mapping', () => {
  it('a number is unmapped until the map knows its id; ids are never "unmapped"', () => {
    const projects = new ProjectMap([['my-proj', '123456789012']]);
    assert.equal(isUnmappedNumber('123456789012', projects), false);
    assert.equal(isUnmappedNumber('987654321098', projects), true);
    assert.equal(isUnmappedNumber('other-proj', projects), false);
  });

  it('the plan problem names the number and how to map it', () => {
    assert.equal(
      unmappedNumberProblem('987654321098'),
      'project number 987654321098 is not mapped to a project id: references that name the project by id do not match it (give --project-map ID=987654321098 or ROTOR_PROJECT_MAP)',
    );
  });

  it('reads projectId from a v3 projects.get answer for that number, and rejects anything else', () => {
    assert.equal(
      projectIdFromProjectsGet('42', { name: 'projects/42', projectId: 'my-proj', state: 'ACTIVE' }),
      'my-proj',
    );
    assert.equal(
      projectIdFromProjectsGet('42', { name: 'projects/42', projectId: 'example.com:app-one' }),
      'example.com:app-one',
    );
    assert.throws(
      () => projectIdFromProjectsGet('42', { name: 'projects/43', projectId: 'my-proj' }),
      /answered for "projects\/43", not projects\/42/,
    );
    for (const body of [{ name: 'projects/42' }, { projectId: '42' }, { projectId: 'a/b' }, null, 'my-proj'])
      assert.throws(() => projectIdFromProjectsGet('42', body), /no valid projectId for projects\/42/);
  });
});

describe('ProjectNumberResolver', () => {
  it('maps an unmapped number once, however many events ask (concurrently or later)', async () => {
    const projects = new ProjectMap();
    const asked: string[] = [];
    const resolver = new ProjectNumberResolver(projects, (n) => {
      asked.push(n);
      return Promise.resolve('my-proj');
    });
    const log = memoryLogger();
    await Promise.all([resolver.resolve('42', log), resolver.resolve('42', log)]);
    await resolver.resolve('42', log);
    assert.deepEqual(asked, ['42']);
    assert.equal(projects.canonical('42'), 'my-proj');
    assert.deepEqual(log.entries, []);
  });

  it('asks nothing for a mapped number or a project id', async () => {
    const resolver = new ProjectNumberResolver(new ProjectMap([['my-proj', '42']]), () =>
      Promise.reject(new Error('must not be asked')),
    );
    const log = memoryLogger();
    await resolver.resolve('42', log);
    await resolver.resolve('other-proj', log);
    assert.deepEqual(log.entries, []);
  });

  it('a denied lookup: a WARNING naming the number on each event, asked again only after a while', async () => {
    const projects = new ProjectMap();
    let now = 1_000_000;
    let answer: () => Promise<string> = () =>
      Promise.reject(
        new Error(
          'Resource Manager projects.get: HTTP 403 (grant resourcemanager.projects.get on it, e.g. roles/browser): denied',
        ),
      );
    let calls = 0;
    const resolver = new ProjectNumberResolver(
      projects,
      () => {
        calls++;
        return answer();
      },
      { retryAfterMs: 60_000, now: () => now },
    );
    const log = memoryLogger();
    await resolver.resolve('987654321098', log);
    await resolver.resolve('987654321098', log);
    assert.equal(calls, 1, 'the failure is remembered');
    assert.equal(projects.canonical('987654321098'), '987654321098', 'goes on without a mapping');
    assert.equal(log.entries.length, 2);
    for (const e of log.entries) {
      assert.equal(e.severity, 'WARNING');
      assert.equal(e.projectNumber, '987654321098');
      assert.match(
        e.message,
        /^project number 987654321098 is not in ROTOR_PROJECT_MAP and Resource Manager could not map it \(Resource Manager projects.get: HTTP 403 .*\): workloads that name the project by id are not matched; add its id to ROTOR_PROJECT_MAP \(ID=987654321098\)$/,
      );
    }
    now += 60_000;
    answer = () => Promise.resolve('other-proj');
    await resolver.resolve('987654321098', log);
    assert.equal(calls, 2);
    assert.equal(projects.canonical('987654321098'), 'other-proj');
    assert.equal(log.entries.length, 2, 'no warning once mapped');
  });
});
