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
import { TransientError, isTransient } from '../../functions/errors';
import { memoryLogger } from '../../functions/log';
import {
  ProjectLookupRefused,
  ProjectNumberResolver,
  resourceManagerProjectIds,
} from '../../functions/projectLookup';
import { startResourceManagerStandIn } from '../harness/resourceManagerStandIn';

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
        new ProjectLookupRefused(
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

describe('a Resource Manager failure that may pass', () => {
  it('is thrown for redelivery, not remembered and not warned about; the next event asks again and maps', async () => {
    const projects = new ProjectMap();
    const answers: Array<() => Promise<string>> = [
      () => Promise.reject(new TransientError('Resource Manager projects.get: HTTP 503: UNAVAILABLE')),
      () => Promise.reject(new TypeError('fetch failed')),
      () => Promise.resolve('my-proj'),
    ];
    let calls = 0;
    const resolver = new ProjectNumberResolver(projects, () => answers[calls++]());
    const log = memoryLogger();
    await assert.rejects(
      resolver.resolve('42', log),
      new TransientError(
        'project number 42 could not be mapped to its id yet (Resource Manager projects.get: HTTP 503: UNAVAILABLE): Pub/Sub will redeliver',
      ),
    );
    await assert.rejects(resolver.resolve('42', log), TransientError, 'a network error too');
    assert.equal(projects.canonical('42'), '42', 'not mapped yet');
    await resolver.resolve('42', log);
    assert.equal(calls, 3, 'each delivery asked again: no failure was cached');
    assert.equal(projects.canonical('42'), 'my-proj');
    assert.deepEqual(log.entries, [], 'no WARNING: the event was not let through unmapped');
  });
});

describe('resourceManagerProjectIds classifies the answer', () => {
  const TOKEN = 'rm-token';
  const token = () => Promise.resolve(TOKEN);

  it('503 and 429 may pass (transient); 403 and 404 are a definite no; 200 is the id', async () => {
    const rm = await startResourceManagerStandIn({ projects: { '42': 'my-proj' }, token: TOKEN });
    try {
      const ids = resourceManagerProjectIds(token, rm.url);
      rm.failNext(503);
      await assert.rejects(ids('42'), (e: unknown) => {
        assert.ok(e instanceof TransientError, String(e));
        assert.equal(
          e.message,
          'Resource Manager projects.get: HTTP 503: UNAVAILABLE: The service is currently unavailable.',
        );
        return true;
      });
      rm.failNext(429);
      await assert.rejects(ids('42'), (e: unknown) => e instanceof TransientError && isTransient(e));
      await assert.rejects(ids('43'), (e: unknown) => {
        assert.ok(e instanceof ProjectLookupRefused, String(e));
        assert.equal(isTransient(e), false);
        assert.match(e.message, /^Resource Manager projects.get: HTTP 403 \(grant resourcemanager/);
        return true;
      });
      rm.failNext(404);
      await assert.rejects(ids('42'), (e: unknown) => e instanceof ProjectLookupRefused && !isTransient(e));
      assert.equal(await ids('42'), 'my-proj');
    } finally {
      await rm.close();
    }
  });

  it('a request that never gets an answer and a refused connection may pass', async () => {
    const rm = await startResourceManagerStandIn({ projects: { '42': 'my-proj' }, token: TOKEN });
    try {
      rm.stallNext();
      await assert.rejects(resourceManagerProjectIds(token, rm.url, 50)('42'), (e: unknown) => {
        assert.ok(e instanceof TransientError, String(e));
        assert.match(e.message, /^Resource Manager projects.get: .*(timeout|aborted)/i);
        return true;
      });
    } finally {
      await rm.close();
    }
    // The stand-in is closed: nothing listens on its port any more.
    await assert.rejects(
      resourceManagerProjectIds(token, rm.url)('42'),
      (e: unknown) => e instanceof TransientError && /fetch failed/.test(e.message),
    );
  });
});
