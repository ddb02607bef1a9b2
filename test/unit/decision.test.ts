// The decision table of shared/DESIGN.md, row by row: restart | reload | none | wait, overrides,
// idempotency through rotor.dev/applied, alias moves, warnings, and coalesced restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  AppliedRecord,
  Decision,
  EventContext,
  ReadinessCheck,
  ReloadEndpoint,
} from '../../functions/core/decision';
import { decide, decisionWarning, describeVia } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import type { SecretEventType } from '../../functions/core/event';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { buildPlan, decideAll } from '../../functions/core/plan';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import {
  container,
  csiVolume,
  deployment,
  envFromKey,
  externalSecret,
  mount,
  secretVolume,
  spc,
  store,
  workload,
} from './k8s';

const DB = 'projects/my-proj/secrets/db-password';
const BY_NUMBER = 'projects/123456789012/secrets/db-password';
const projects = ProjectMap.parse('my-proj=123456789012');

// Everything a workload may read db-password through.
const world: KubeObject[] = [
  store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' }),
  externalSecret('creds', {
    secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
    data: [
      { secretKey: 'pw', remoteRef: { key: 'db-password' } },
      { secretKey: 'pw-current', remoteRef: { key: 'db-password', version: 'current' } },
      { secretKey: 'pw-previous', remoteRef: { key: 'db-password', version: 'previous' } },
    ],
  }),
  spc('latest', [{ resourceName: `${BY_NUMBER}/versions/latest`, path: 'pw' }]),
  spc('pinned', [{ resourceName: `${DB}/versions/3`, path: 'pw' }]),
  spc('current', [{ resourceName: `${DB}/versions/current`, path: 'pw' }]),
  spc('previous', [{ resourceName: `${DB}/versions/previous`, path: 'pw' }]),
];

type Pod = Parameters<typeof deployment>[1];
const env = (key = 'pw'): Pod => ({
  containers: [container('app', { env: [envFromKey('DB_PASSWORD', 'creds', key)] })],
});
const envFrom: Pod = { containers: [container('app', { envFrom: [{ secretRef: { name: 'creds' } }] })] };
const csi = (cls = 'latest', subPath?: string): Pod => ({
  containers: [container('app', { volumeMounts: [mount('s', '/s', subPath)] })],
  volumes: [csiVolume('s', cls)],
});
const initCsi: Pod = {
  initContainers: [container('init', { volumeMounts: [mount('s', '/s')] })],
  containers: [container('app')],
  volumes: [csiVolume('s', 'latest')],
};
const initEnv: Pod = {
  initContainers: [container('init', { env: [envFromKey('PW', 'creds', 'pw')] })],
  containers: [container('app')],
};
const secretVol: Pod = {
  containers: [container('app', { volumeMounts: [mount('c', '/etc/creds')] })],
  volumes: [secretVolume('c', 'creds', [{ key: 'pw', path: 'pw' }])],
};
const api = (extra: Record<string, string> = {}) => ({ annotations: { 'rotor.dev/secrets': DB, ...extra } });
const EP = { 'rotor.dev/reload-endpoint': '8080/-/reload' };

function event(type: SecretEventType, extra: Partial<EventContext> = {}): EventContext {
  return { type, secret: parseSecretName(BY_NUMBER).id, ...extra };
}
const ADD7 = event('SECRET_VERSION_ADD', { version: '7', time: '2024-05-01T10:00:00Z' });

function decideFor(w: KubeObject, ev: EventContext = ADD7, readiness?: ReadinessCheck): Decision {
  const index = new DependencyIndex(inventoryFrom('c', [...world, w]), { projects });
  const found = index.dependentsOf(ev.secret);
  assert.equal(found.length, 1, `${w.metadata?.name} should depend on db-password`);
  return decide(found[0], ev, { secretKey: index.keyOf(ev.secret), ...(readiness ? { readiness } : {}) });
}

/** What the decision writes into rotor.dev/applied (restart, reload, record); undefined otherwise. */
const recordsOf = (d: Decision): readonly AppliedRecord[] | undefined =>
  'records' in d ? d.records : undefined;
const recordOf = (d: Decision): AppliedRecord | undefined => recordsOf(d)?.[0];
const endpointOf = (d: Decision): ReloadEndpoint | undefined =>
  d.action === 'reload' ? d.endpoint : undefined;
/** Coalesced: nothing runs, but the version is recorded (a newer restart covered it). */
const isRecord = (d: Decision): boolean => d.action === 'record';

function expectAction(d: Decision, action: Decision['action'], reason: RegExp): void {
  assert.equal(d.action, action, d.reason);
  assert.match(d.reason, reason);
}

describe('restart: a dependency that only changes when the pod restarts', () => {
  const cases: Array<[string, Pod, RegExp]> = [
    [
      'env',
      env(),
      /^env DB_PASSWORD \(key pw\) in app \(Secret creds from ExternalSecret creds\) only changes when the pod restarts$/,
    ],
    [
      'envFrom',
      envFrom,
      /^envFrom in app \(Secret creds from ExternalSecret creds\) only changes when the pod restarts$/,
    ],
    [
      'subPath',
      csi('latest', 'pw'),
      /^CSI file pw mounted with subPath in app only changes when the pod restarts$/,
    ],
    ['init (CSI)', initCsi, /^init container CSI file pw in init only changes when the pod restarts$/],
    [
      'init (env)',
      initEnv,
      /^init container env PW \(key pw\) in init \(Secret creds from ExternalSecret creds\) only changes/,
    ],
  ];
  for (const [name, pod, reason] of cases) {
    it(name, () => {
      const d = decideFor(deployment(name.replace(/\W+/g, '-'), pod, { annotations: EP }));
      expectAction(d, 'restart', reason);
      assert.deepEqual(recordOf(d), { key: DB, version: '7' });
      assert.deepEqual(recordsOf(d), [{ key: DB, version: '7' }]);
      assert.equal(endpointOf(d), undefined);
    });
  }

  it('a mounted value (CSI or secret volume) whose app declared no other way', () => {
    expectAction(
      decideFor(deployment('csi', csi())),
      'restart',
      /^CSI file pw in app updates in place, but the app declared no rotor.dev\/reload-endpoint and no rotor.dev\/on-rotate: none$/,
    );
    expectAction(
      decideFor(deployment('vol', secretVol)),
      'restart',
      /^volume c at \/etc\/creds in app \(Secret creds from ExternalSecret creds\) updates in place, but the app declared no rotor.dev\/reload-endpoint/,
    );
  });

  it('warns when a StatefulSet or DaemonSet with updateStrategy OnDelete will not roll', () => {
    for (const kind of ['StatefulSet', 'DaemonSet']) {
      const w = workload(kind, 'od', env());
      (w.spec as Record<string, unknown>).updateStrategy = { type: 'OnDelete' };
      const d = decideFor(w);
      assert.equal(d.action, 'restart');
      assert.equal(
        decisionWarning(d) ?? '',
        `${kind} shop/od uses updateStrategy OnDelete: a restart changes its pod template, but running pods keep the old value until they are deleted`,
      );
    }
    const rolling = workload('StatefulSet', 'rolling', env());
    (rolling.spec as Record<string, unknown>).updateStrategy = { type: 'RollingUpdate' };
    assert.equal(decisionWarning(decideFor(rolling)), undefined);
  });

  it('every workload kind', () => {
    for (const kind of ['StatefulSet', 'DaemonSet', 'CronJob', 'Rollout']) {
      expectAction(
        decideFor(workload(kind, kind.toLowerCase(), env())),
        'restart',
        /only changes when the pod restarts/,
      );
    }
  });
});

describe('reload: every dependency updates in place and the workload declares an endpoint', () => {
  it('CSI volume', () => {
    const d = decideFor(deployment('web', csi(), { annotations: EP }));
    expectAction(
      d,
      'reload',
      /^CSI file pw in app updates in place; the app re-reads it on POST 8080\/-\/reload$/,
    );
    assert.deepEqual(endpointOf(d), { port: '8080', path: '/-/reload' });
    assert.deepEqual(recordOf(d), { key: DB, version: '7' });
  });

  it('secret volume of a synced Secret', () => {
    expectAction(
      decideFor(deployment('vol', secretVol, { annotations: EP })),
      'reload',
      /^volume c at \/etc\/creds in app .* updates in place; the app re-reads it on POST 8080\/-\/reload$/,
    );
  });

  it('Secret Manager API with an endpoint (declared on the pod template too)', () => {
    expectAction(
      decideFor(deployment('sdk', {}, api(EP))),
      'reload',
      /^the app reads projects\/my-proj\/secrets\/db-password through the Secret Manager API and refreshes its cache on POST 8080\/-\/reload$/,
    );
    const t = deployment(
      'sdk-t',
      {},
      { templateAnnotations: { 'rotor.dev/secrets': DB, 'rotor.dev/reload-endpoint': 'http/admin/reload' } },
    );
    assert.deepEqual(endpointOf(decideFor(t)), { port: 'http', path: '/admin/reload' });
  });

  it('CSI and API together: both in place, reload', () => {
    expectAction(
      decideFor(deployment('both', csi(), api(EP))),
      'reload',
      /CSI file pw in app updates in place/,
    );
  });
});

describe('none', () => {
  it('pinned to another version', () => {
    expectAction(
      decideFor(deployment('p', csi('pinned'))),
      'none',
      /^CSI file pw in app is pinned to version 3; a new version 7 does not change it$/,
    );
    assert.equal(recordOf(decideFor(deployment('p', csi('pinned')))), undefined);
  });

  it('an alias the new version does not move', () => {
    expectAction(
      decideFor(deployment('a', csi('current'))),
      'none',
      /follows alias "current", which a new version does not move/,
    );
  });

  it('rotor.dev/ignore: "true" (any case), before anything else', () => {
    expectAction(
      decideFor(deployment('i', env(), { annotations: { 'rotor.dev/ignore': 'True' } })),
      'none',
      /^rotor.dev\/ignore: "true" on the workload$/,
    );
    expectAction(
      decideFor(deployment('i2', env(), { annotations: { 'rotor.dev/ignore': 'false' } })),
      'restart',
      /only changes/,
    );
  });

  it('annotations written unquoted (a boolean or a number in the manifest) are read as their text', () => {
    const w = deployment('b', env(), { annotations: {} });
    (w.metadata!.annotations as Record<string, unknown>)['rotor.dev/ignore'] = true;
    expectAction(decideFor(w), 'none', /rotor.dev\/ignore/);
    const p = deployment('p', csi(), { annotations: {} });
    (p.metadata!.annotations as Record<string, unknown>)['rotor.dev/reload-endpoint'] = 8080;
    assert.deepEqual(endpointOf(decideFor(p)), { port: '8080', path: '/' });
  });

  it('rotor.dev/on-rotate: none, even for env', () => {
    const d = decideFor(deployment('n', env(), { annotations: { 'rotor.dev/on-rotate': 'none' } }));
    expectAction(
      d,
      'none',
      /^rotor.dev\/on-rotate: none — the app re-reads env DB_PASSWORD \(key pw\) in app .* itself$/,
    );
    assert.equal(recordOf(d), undefined);
  });

  it('Secret Manager API without an endpoint: the app reads the new version itself', () => {
    expectAction(
      decideFor(deployment('sdk', {}, api())),
      'none',
      /^the app reads projects\/my-proj\/secrets\/db-password through the Secret Manager API \(rotor.dev\/secrets\) and declared no rotor.dev\/reload-endpoint$/,
    );
  });
});

describe('overrides and mixes', () => {
  it('asked to reload an env var: restart, and the reason says why', () => {
    expectAction(
      decideFor(deployment('r', env(), { annotations: { ...EP, 'rotor.dev/on-rotate': 'reload' } })),
      'restart',
      /^asked to reload \(rotor.dev\/on-rotate\), but env DB_PASSWORD \(key pw\) in app .* only changes when the pod restarts$/,
    );
  });

  it('asked to reload without an endpoint: restart, and the reason says why', () => {
    expectAction(
      decideFor(deployment('r', csi(), { annotations: { 'rotor.dev/on-rotate': 'reload' } })),
      'restart',
      /^asked to reload \(rotor.dev\/on-rotate\), but the workload declares no rotor.dev\/reload-endpoint$/,
    );
  });

  it('on-rotate: restart is honoured over an in-place dependency with an endpoint, and for API readers', () => {
    expectAction(
      decideFor(deployment('r', csi(), { annotations: { ...EP, 'rotor.dev/on-rotate': 'Restart' } })),
      'restart',
      /^rotor.dev\/on-rotate: restart \(CSI file pw in app\)$/,
    );
    expectAction(
      decideFor(deployment('r2', {}, api({ 'rotor.dev/on-rotate': 'restart' }))),
      'restart',
      /^rotor.dev\/on-rotate: restart \(rotor.dev\/secrets \(Secret Manager API\)\)$/,
    );
  });

  it('an unknown on-rotate value is ignored, and the reason says so', () => {
    expectAction(
      decideFor(deployment('u', csi(), { annotations: { ...EP, 'rotor.dev/on-rotate': 'sometimes' } })),
      'reload',
      /updates in place; the app re-reads it on POST 8080\/-\/reload \(rotor.dev\/on-rotate "sometimes" ignored: expected restart, reload, none or manual\)$/,
    );
  });

  it('the strongest action wins: an env var next to a reloadable CSI file restarts, naming the env var', () => {
    const pod: Pod = {
      containers: [
        container('app', { env: [envFromKey('PW', 'creds', 'pw')], volumeMounts: [mount('s', '/s')] }),
      ],
      volumes: [csiVolume('s', 'latest')],
    };
    expectAction(
      decideFor(deployment('mixed', pod, { annotations: EP })),
      'restart',
      /^env PW \(key pw\) in app .* only changes when the pod restarts$/,
    );
  });

  it('only dependencies the event moves count: a pinned env var next to a reloadable CSI file reloads', () => {
    const pod: Pod = {
      containers: [
        container('app', { env: [envFromKey('PW', 'pinned-creds', 'pw')], volumeMounts: [mount('s', '/s')] }),
      ],
      volumes: [csiVolume('s', 'latest')],
    };
    const pinnedEs = externalSecret('pinned-creds', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
      data: [{ secretKey: 'pw', remoteRef: { key: 'db-password', version: '3' } }],
    });
    const index = new DependencyIndex(
      inventoryFrom('c', [...world, pinnedEs, deployment('m', pod, { annotations: EP })]),
      { projects },
    );
    const [wd] = index.dependentsOf(ADD7.secret);
    const d = decide(wd, ADD7, { secretKey: DB });
    expectAction(d, 'reload', /CSI file pw/);
    assert.deepEqual(
      d.affected.map((x) => x.via),
      ['csi'],
    );
    assert.equal(wd.dependencies.length, 2);
  });

  it('a malformed reload endpoint restarts and says so', () => {
    expectAction(
      decideFor(deployment('bad', csi(), { annotations: { 'rotor.dev/reload-endpoint': '/reload' } })),
      'restart',
      /^rotor.dev\/reload-endpoint was rejected \(no port before the path; expected PORT or PORT\/PATH\), so CSI file pw in app is picked up by a restart$/,
    );
  });

  it('a reload endpoint that climbs out of the pod proxy is treated as none: restart, saying why', () => {
    const d = decideFor(
      deployment('climb', csi(), {
        annotations: {
          'rotor.dev/reload-endpoint':
            '8080/../../../../kube-system/pods/coredns-abc:9153/proxy/admin/shutdown',
        },
      }),
    );
    expectAction(
      d,
      'restart',
      /^rotor.dev\/reload-endpoint was rejected \(the path has a "\.\." segment\), so CSI file pw in app is picked up by a restart$/,
    );
    assert.equal(endpointOf(d), undefined);
  });
});

describe('idempotency through rotor.dev/applied', () => {
  const withApplied = (applied: Record<string, string>) =>
    deployment('api', env(), { annotations: { 'rotor.dev/applied': JSON.stringify(applied) } });

  it('the same version again: none', () => {
    expectAction(
      decideFor(withApplied({ [DB]: '7' })),
      'none',
      /^version 7 of projects\/my-proj\/secrets\/db-password already applied \(rotor.dev\/applied; env DB_PASSWORD/,
    );
  });

  it('an older version: none', () => {
    expectAction(
      decideFor(withApplied({ [DB]: '9' })),
      'none',
      /^version 9 of projects\/my-proj\/secrets\/db-password already applied; this event \(version 7\) is older/,
    );
  });

  it('a newer version: acts and records it; other secrets in the map do not matter', () => {
    const d = decideFor(withApplied({ [DB]: '6', 'projects/my-proj/secrets/other': '99' }));
    assert.equal(d.action, 'restart');
    assert.deepEqual(recordOf(d), { key: DB, version: '7' });
  });

  it('records under the normalised name whatever spelling the event used', () => {
    // The event names the project by number; rotor apply may name it by id: one record.
    const byId = { ...ADD7, secret: parseSecretName(DB).id };
    assert.deepEqual(
      recordOf(decideFor(deployment('a', env()), ADD7)),
      recordOf(decideFor(deployment('b', env()), byId)),
    );
    expectAction(decideFor(withApplied({ [DB]: '7' }), byId), 'none', /already applied/);
  });

  it('numeric comparison, not string comparison (10 is newer than 9)', () => {
    const d = decideFor(withApplied({ [DB]: '9' }), { ...ADD7, version: '10' });
    assert.equal(d.action, 'restart');
  });

  it('a corrupt annotation is ignored', () => {
    const w = deployment('api', env(), { annotations: { 'rotor.dev/applied': '{oops' } });
    assert.equal(decideFor(w).action, 'restart');
  });
});

describe('SECRET_UPDATE: alias moves', () => {
  const update = (aliases: Record<string, string>) => event('SECRET_UPDATE', { aliases });

  it('an alias a dependency reads moves: act, and record the alias', () => {
    const d = decideFor(deployment('cur', csi('current'), { annotations: EP }), update({ current: '8' }));
    expectAction(d, 'reload', /CSI file pw in app updates in place/);
    assert.deepEqual(recordOf(d), { key: `${DB}@current`, version: '8' });
  });

  it('the alias is no longer there, or the workload follows latest or a pinned version: none', () => {
    expectAction(
      decideFor(deployment('cur', csi('current')), update({ stable: '8' })),
      'none',
      /^alias "current" is not among the secret's aliases after the update \(CSI file pw in app\)$/,
    );
    expectAction(
      decideFor(deployment('lat', csi()), update({ current: '8' })),
      'none',
      /^the update moves no alias this workload reads \(CSI file pw in app uses latest\)$/,
    );
    expectAction(
      decideFor(deployment('pin', csi('pinned')), update({ current: '8' })),
      'none',
      /uses version 3\)$/,
    );
    expectAction(
      decideFor(deployment('none', csi('current')), event('SECRET_UPDATE')),
      'none',
      /not among the secret's aliases/,
    );
  });

  it('redelivered: the alias is already recorded at its version', () => {
    const w = deployment('cur', csi('current'), {
      annotations: { ...EP, 'rotor.dev/applied': JSON.stringify({ [`${DB}@current`]: '8' }) },
    });
    expectAction(
      decideFor(w, update({ current: '8' })),
      'none',
      /^alias "current" at version 8 of projects\/my-proj\/secrets\/db-password already applied/,
    );
  });

  it('an alias moved back to an older version (a rollback) is acted on', () => {
    const w = deployment('cur', csi('current'), {
      annotations: { ...EP, 'rotor.dev/applied': JSON.stringify({ [`${DB}@current`]: '8' }) },
    });
    const d = decideFor(w, update({ current: '6' }));
    assert.equal(d.action, 'reload');
    assert.deepEqual(recordOf(d), { key: `${DB}@current`, version: '6' });
  });

  it('several aliases moved: the strongest action over all of them, each recorded', () => {
    // current through a reloadable CSI file, previous through an env var.
    const pod: Pod = {
      containers: [
        container('app', {
          env: [envFromKey('OLD', 'creds', 'pw-previous')],
          volumeMounts: [mount('s', '/s')],
        }),
      ],
      volumes: [csiVolume('s', 'current')],
    };
    const d = decideFor(
      deployment('both', pod, { annotations: EP }),
      update({ current: '8', previous: '7' }),
    );
    expectAction(d, 'restart', /^env OLD \(key pw-previous\) in app .* only changes when the pod restarts$/);
    assert.deepEqual(recordsOf(d), [
      { key: `${DB}@previous`, version: '7' },
      { key: `${DB}@current`, version: '8' },
    ]);
    // Only previous recorded: current still moves, and alone it reloads.
    const half = deployment('both', pod, {
      annotations: { ...EP, 'rotor.dev/applied': JSON.stringify({ [`${DB}@previous`]: '7' }) },
    });
    const again = decideFor(half, update({ current: '8', previous: '7' }));
    expectAction(again, 'reload', /CSI file pw in app/);
    assert.deepEqual(recordsOf(again), [{ key: `${DB}@current`, version: '8' }]);
  });
});

describe('disable, destroy, delete and the inert events', () => {
  for (const [type, verb] of [
    ['SECRET_VERSION_DISABLE', 'disabled'],
    ['SECRET_VERSION_DESTROY', 'destroyed'],
    ['SECRET_VERSION_DESTROY_SCHEDULED', 'scheduled for destruction'],
  ] as const) {
    it(`${type}: loud when a dependency pins the version, or Rotor last moved it there; calm otherwise`, () => {
      const pinned = decideFor(deployment('p', csi('pinned')), event(type, { version: '3' }));
      expectAction(pinned, 'none', new RegExp(`^CSI file pw in app pins version 3, which was ${verb}$`));
      assert.equal(
        decisionWarning(pinned),
        `version 3 of ${DB} was ${verb} but CSI file pw in app still pins it: pods will fail to read it at their next start or refresh`,
      );
      // latest: Rotor's own retirement disables superseded versions after every rotation; that
      // is no alarm unless Rotor knows the workload is on exactly that version.
      const latest = decideFor(deployment('l', env()), event(type, { version: '3' }));
      expectAction(
        latest,
        'none',
        new RegExp(
          `^env DB_PASSWORD .* uses latest; version 3 was ${verb} \\(a problem only if it is the newest version\\)$`,
        ),
      );
      assert.equal(decisionWarning(latest), undefined);
      const movedPast = decideFor(
        deployment('l2', env(), { annotations: { 'rotor.dev/applied': JSON.stringify({ [DB]: '4' }) } }),
        event(type, { version: '3' }),
      );
      assert.equal(decisionWarning(movedPast), undefined);
      const onIt = decideFor(
        deployment('l3', env(), { annotations: { 'rotor.dev/applied': JSON.stringify({ [DB]: '3' }) } }),
        event(type, { version: '3' }),
      );
      assert.match(
        decisionWarning(onIt) ?? '',
        new RegExp(
          `^version 3 of ${DB} was ${verb}; env DB_PASSWORD .* uses latest and Rotor last moved it to version 3: if no newer version exists, reads fail`,
        ),
      );
      // An alias consumer: warned when the alias pointed at the version when Rotor last acted.
      const other = decideFor(deployment('o', csi('current')), event(type, { version: '3' }));
      expectAction(
        other,
        'none',
        new RegExp(`^version 3 was ${verb}; the workload uses current \\(CSI file pw in app\\)$`),
      );
      assert.equal(decisionWarning(other), undefined);
      const onAlias = decideFor(
        deployment('o2', csi('current'), {
          annotations: { 'rotor.dev/applied': JSON.stringify({ [`${DB}@current`]: '3' }) },
        }),
        event(type, { version: '3' }),
      );
      assert.match(
        decisionWarning(onAlias) ?? '',
        new RegExp(
          `^version 3 of ${DB} was ${verb} but alias "current", which CSI file pw in app reads, pointed at it when Rotor last acted`,
        ),
      );
    });
  }

  it('SECRET_DELETE warns every reader', () => {
    const d = decideFor(deployment('d', envFrom), event('SECRET_DELETE'));
    expectAction(d, 'none', /^the secret was deleted \(envFrom in app/);
    assert.match(
      decisionWarning(d) ?? '',
      /^projects\/my-proj\/secrets\/db-password was deleted but envFrom in app .* still reads it: pods will fail at their next start or refresh$/,
    );
  });

  it('ignore silences the warnings too', () => {
    const d = decideFor(
      deployment('d', envFrom, { annotations: { 'rotor.dev/ignore': 'true' } }),
      event('SECRET_DELETE'),
    );
    assert.equal(decisionWarning(d), undefined);
  });

  it('SECRET_CREATE, SECRET_VERSION_ENABLE, SECRET_ROTATE: nothing to do', () => {
    expectAction(
      decideFor(deployment('c', env()), event('SECRET_CREATE')),
      'none',
      /^a new secret: no version changed under a running pod/,
    );
    expectAction(
      decideFor(deployment('e', env()), event('SECRET_VERSION_ENABLE', { version: '2' })),
      'none',
      /^enabling version 2 changes no value the pods already read/,
    );
    expectAction(
      decideFor(deployment('r', env()), event('SECRET_ROTATE')),
      'none',
      /^SECRET_ROTATE is handled by rotateSecret/,
    );
  });

  it('SECRET_VERSION_ADD without a version (an offline "what if"): the next version', () => {
    const d = decideFor(deployment('n', env()), event('SECRET_VERSION_ADD'));
    assert.equal(d.action, 'restart');
    assert.deepEqual(recordOf(d), { key: DB, version: 'new' });
  });
});

describe('live readiness: wait, and coalesced restarts', () => {
  const ready =
    (since?: string): ReadinessCheck =>
    () => ({ ready: true, detail: 'synced', ...(since ? { since } : {}) });

  it('wait while the new version is not visible yet, naming why', () => {
    const check: ReadinessCheck = (dep, action) => ({
      ready: false,
      detail: `ExternalSecret shop/${dep.source.kind === 'eso' ? dep.source.externalSecret : '?'} not refreshed since the event (${action})`,
    });
    const d = decideFor(deployment('api', env()), ADD7, check);
    expectAction(
      d,
      'wait',
      /^restart waits: ExternalSecret shop\/creds not refreshed since the event \(restart\)$/,
    );
    assert.equal(recordOf(d), undefined);
    assert.equal(d.affected.length, 1);
    assert.equal(d.action === 'wait' ? d.waitingFor : undefined, 'eso');
    expectAction(
      decideFor(deployment('web', csi(), { annotations: EP }), ADD7, check),
      'wait',
      /^reload waits:/,
    );
  });

  it('asks about the version each dependency must see (per alias on SECRET_UPDATE)', () => {
    const calls: string[] = [];
    const spy: ReadinessCheck = (dep, action, version) => {
      calls.push(`${dep.version}:${action}:${version}`);
      return { ready: true, detail: '' };
    };
    decideFor(deployment('api', env()), ADD7, spy);
    assert.deepEqual(calls, ['latest:restart:7']);
    calls.length = 0;
    const pod: Pod = {
      containers: [
        container('app', {
          env: [envFromKey('OLD', 'creds', 'pw-previous')],
          volumeMounts: [mount('s', '/s')],
        }),
      ],
      volumes: [csiVolume('s', 'current')],
    };
    decideFor(
      deployment('both', pod),
      event('SECRET_UPDATE', { aliases: { current: '8', previous: '7' } }),
      spy,
    );
    assert.deepEqual(calls, ['previous:restart:7', 'current:restart:8']);
  });

  it('acts once every dependency is ready; a check with no opinion does not block', () => {
    assert.equal(decideFor(deployment('api', env()), ADD7, ready()).action, 'restart');
    assert.equal(decideFor(deployment('api', env()), ADD7, () => undefined).action, 'restart');
  });

  it('none needs no readiness check', () => {
    let asked = 0;
    decideFor(deployment('p', csi('pinned')), ADD7, () => {
      asked++;
      return { ready: false, detail: 'x' };
    });
    assert.equal(asked, 0);
  });

  it('a restart that began after the version became visible already covers it: record only', () => {
    const w = deployment('api', env(), {
      templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:05:00Z' },
    });
    const d = decideFor(w, ADD7, ready('2024-05-01T10:02:00Z'));
    expectAction(
      d,
      'record',
      /^already restarted at 2024-05-01T10:05:00Z, after version 7 became visible: the new pods read it$/,
    );
    assert.equal(isRecord(d), true);
    assert.deepEqual(recordOf(d), { key: DB, version: '7' });
  });

  it('a restart before the version became visible does not count', () => {
    const w = deployment('api', env(), {
      templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:01:00Z' },
    });
    assert.equal(decideFor(w, ADD7, ready('2024-05-01T10:02:00Z')).action, 'restart');
  });

  it('compares instants, not strings (offsets and fractions)', () => {
    const w = deployment('api', env(), {
      templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T12:05:00+02:00' },
    });
    // 10:05Z is after 10:02Z although the string "12:05+02:00" sorts after "10:02:00.5Z" either way.
    assert.equal(isRecord(decideFor(w, ADD7, ready('2024-05-01T10:02:00.5Z'))), true);
    const checks: ReadinessCheck = (dep) => ({
      ready: true,
      detail: '',
      since: dep.via === 'env' ? '2024-05-01T10:06:00Z' : '2024-05-01T11:00:00+02:00',
    });
    const pod: Pod = {
      containers: [
        container('app', { env: [envFromKey('PW', 'creds', 'pw')], volumeMounts: [mount('s', '/s')] }),
      ],
      volumes: [csiVolume('s', 'latest')],
    };
    // Newest visibility is 10:06Z (the env), after the restart at 10:05Z: restart again.
    assert.equal(
      decideFor(
        deployment('m', pod, {
          templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:05:00Z' },
        }),
        ADD7,
        checks,
      ).action,
      'restart',
    );
  });

  it('a whole-second visibility time stands for its whole second; a fraction is exact (latestInstant)', () => {
    const restartedAt = (at: string): KubeObject =>
      deployment('api', env(), { templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': at } });
    // "10:02:00Z" (ESO's refreshTime) may be a sync at 10:02:00.999: only a restart from then on covers it.
    assert.equal(
      decideFor(restartedAt('2024-05-01T10:02:00Z'), ADD7, ready('2024-05-01T10:02:00Z')).action,
      'restart',
    );
    assert.equal(
      decideFor(restartedAt('2024-05-01T10:02:00.998Z'), ADD7, ready('2024-05-01T10:02:00Z')).action,
      'restart',
    );
    assert.equal(
      isRecord(decideFor(restartedAt('2024-05-01T10:02:00.999Z'), ADD7, ready('2024-05-01T10:02:00Z'))),
      true,
    );
    // With a fraction the instant is what it says.
    assert.equal(
      decideFor(restartedAt('2024-05-01T10:02:00.499Z'), ADD7, ready('2024-05-01T10:02:00.500Z')).action,
      'restart',
    );
    assert.equal(
      isRecord(decideFor(restartedAt('2024-05-01T10:02:00.500Z'), ADD7, ready('2024-05-01T10:02:00.500Z'))),
      true,
    );
    // The event time is read the same way when no check reports a visibility time.
    const ev = { ...ADD7, time: '2024-05-01T10:03:00Z' };
    assert.equal(decideFor(restartedAt('2024-05-01T10:03:00.500Z'), ev, ready()).action, 'restart');
    assert.equal(isRecord(decideFor(restartedAt('2024-05-01T10:03:01Z'), ev, ready())), true);
  });

  it('without a visibility time, the event time decides; Argo Rollouts use spec.restartAt', () => {
    const r = workload('Rollout', 'checkout', env());
    (r.spec as Record<string, unknown>).restartAt = '2024-05-01T10:00:30Z';
    assert.equal(isRecord(decideFor(r, ADD7, ready())), true);
    assert.equal(decideFor(r, { ...ADD7, time: '2024-05-01T10:01:00Z' }, ready()).action, 'restart');
  });

  it('offline (no readiness check) never coalesces', () => {
    const w = deployment('api', env(), {
      templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': '2030-01-01T00:00:00Z' },
    });
    assert.equal(decideFor(w).action, 'restart');
  });
});

describe('decideAll and buildPlan', () => {
  it('one decision per dependent workload, the plan naming the secret by id', () => {
    // Rotor last moved both to version 7, so disabling 7 is a loud warning for each.
    const on7 = { 'rotor.dev/applied': JSON.stringify({ [DB]: '7' }) };
    const objects = [
      ...world,
      deployment('api', env(), { annotations: on7 }),
      deployment('web', csi(), { annotations: { ...EP, ...on7 } }),
      deployment('static', {}),
    ];
    const index = new DependencyIndex(inventoryFrom('prod', objects), { projects });
    const decisions = decideAll(index, event('SECRET_VERSION_DISABLE', { version: '7' }));
    const plan = buildPlan(event('SECRET_VERSION_DISABLE', { version: '7' }), decisions, projects, [
      'a problem',
    ]);
    assert.equal(plan.secret, DB);
    assert.equal(plan.version, '7');
    assert.equal(plan.event, 'SECRET_VERSION_DISABLE');
    assert.deepEqual(
      plan.workloads.map((w) => [w.cluster, w.name, w.action]),
      [
        ['prod', 'api', 'none'],
        ['prod', 'web', 'none'],
      ],
    );
    assert.ok(plan.workloads.every((w) => w.warning));
    assert.deepEqual(plan.problems, ['a problem']);
    assert.deepEqual(Object.keys(plan.workloads[0]), [
      'cluster',
      'kind',
      'namespace',
      'name',
      'action',
      'reason',
      'dependencies',
      'warning',
    ]);
    assert.deepEqual(Object.keys(plan.workloads[0].dependencies[0]), ['via', 'container', 'detail']);
  });

  it('describeVia names each kind of source', () => {
    const index = new DependencyIndex(
      inventoryFrom('c', [
        ...world,
        deployment(
          'x',
          {
            ...csi(),
            containers: [
              container('app', {
                envFrom: [{ secretRef: { name: 'creds' } }],
                volumeMounts: [mount('s', '/s')],
              }),
            ],
          },
          api(),
        ),
      ]),
      { projects },
    );
    const deps = index.dependentsOf(ADD7.secret)[0].dependencies;
    // envFrom sees all three entries of creds (latest, current, previous).
    assert.deepEqual(
      deps.map((d) => [describeVia(d), d.version]),
      [
        ['envFrom in app (Secret creds from ExternalSecret creds)', 'latest'],
        ['envFrom in app (Secret creds from ExternalSecret creds)', 'current'],
        ['envFrom in app (Secret creds from ExternalSecret creds)', 'previous'],
        ['CSI file pw in app', 'latest'],
        ['rotor.dev/secrets (Secret Manager API)', 'latest'],
      ],
    );
  });
});
