// Fan-out (issue 14): the decision, the message format, the settings, and both entry points'
// handling of it with in-memory clusters and publishers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClusterSpec } from '../../functions/cluster/access';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { loadConfig } from '../../functions/config';
import { notificationMessage, parseNotification } from '../../functions/core/event';
import type { PubsubMessage } from '../../functions/core/event';
import type { FanOut } from '../../functions/core/fanOut';
import {
  configuredCluster,
  decideFanOut,
  fanOutMessage,
  isFanOutMessage,
  parseFanOut,
} from '../../functions/core/fanOut';
import { InputError, TransientError } from '../../functions/errors';
import { memoryLogger } from '../../functions/log';
import { handleClusterEvent } from '../../functions/onClusterEvent';
import { handleSecretEvent } from '../../functions/onSecretEvent';
import type { EventOutcome } from '../../functions/core/outcome';
import type { FanOutPublisher } from '../../functions/pipeline/fanOutPublisher';
import { pubsubFanOutPublisher } from '../../functions/pipeline/fanOutPublisher';
import type { PubSub } from '@google-cloud/pubsub';
import type { OutcomePublisher } from '../../functions/pipeline/outcomePublisher';
import { deployment } from './k8s';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';

const A = 'projects/p/locations/europe-west1/clusters/a';
const B = 'projects/p/locations/europe-west1/clusters/b';
const C = 'projects/p/locations/europe-west1/clusters/c';
const ON = { kind: 'on', topic: 'projects/p/topics/rotor-cluster-events', minClusters: 3 } as const;

/** The notification as Pub/Sub delivers it: Secret Manager's message plus id and publish time. */
const NOTIFICATION: PubsubMessage = {
  ...notificationMessage({
    type: 'SECRET_VERSION_ADD',
    secret: 'projects/123456789012/secrets/db-password',
    version: '7',
    timestamp: '2026-12-01T10:00:00.000Z',
  }),
  messageId: 'event-1',
  publishTime: '2026-12-01T10:00:01.000Z',
};

/** Secret Manager (the stand-in, through the real client) holding what NOTIFICATION announces. */
let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>>;
before(async () => {
  confirming = await startConfirmingSecretManager();
  confirming.announce(NOTIFICATION);
});
after(() => confirming.close());

/** The Pub/Sub message a subscriber receives for what fanOutMessage built (data base64, an id). */
function delivered(m: FanOut, messageId = 'fan-1'): PubsubMessage {
  const { data, attributes } = fanOutMessage(m);
  return {
    data: Buffer.from(data).toString('base64'),
    attributes,
    messageId,
    publishTime: '2026-12-01T10:00:02Z',
  };
}

describe('decideFanOut', () => {
  it('off without a topic, whatever the fleet', () => {
    assert.deepEqual(decideFanOut([A, B, C], { kind: 'off' }), {
      kind: 'in-process',
      reason: 'ROTOR_FANOUT_TOPIC is not set',
    });
  });

  it('below the threshold: in process, saying why', () => {
    assert.deepEqual(decideFanOut([A, B], ON), {
      kind: 'in-process',
      reason: '2 cluster(s), fewer than ROTOR_FANOUT_MIN_CLUSTERS (3)',
    });
    assert.equal(decideFanOut([], { ...ON, minClusters: 1 }).kind, 'in-process');
  });

  it('at the threshold: one message per cluster, in ROTOR_CLUSTERS order', () => {
    assert.deepEqual(decideFanOut([A, B, C], ON), {
      kind: 'fan-out',
      topic: 'projects/p/topics/rotor-cluster-events',
      clusters: [A, B, C],
    });
    assert.deepEqual(decideFanOut([B], { ...ON, minClusters: 1 }), {
      kind: 'fan-out',
      topic: 'projects/p/topics/rotor-cluster-events',
      clusters: [B],
    });
  });

  it('a cluster listed twice counts, and is sent, once', () => {
    assert.equal(decideFanOut([A, B, A], ON).kind, 'in-process');
    assert.deepEqual(decideFanOut([A, B, A, C], ON), {
      kind: 'fan-out',
      topic: 'projects/p/topics/rotor-cluster-events',
      clusters: [A, B, C],
    });
  });
});

describe('the fan-out message', () => {
  it('carries the original notification unchanged and names the cluster; attributes for people and filters', () => {
    const { data, attributes } = fanOutMessage({ cluster: B, notification: NOTIFICATION });
    assert.deepEqual(attributes, { rotorFanOut: '1', cluster: B, eventMessageId: 'event-1' });
    assert.deepEqual(JSON.parse(data), {
      cluster: B,
      notification: {
        attributes: NOTIFICATION.attributes,
        data: NOTIFICATION.data,
        messageId: 'event-1',
        publishTime: '2026-12-01T10:00:01.000Z',
      },
    });
  });

  it('decodes to the same notification, so the per-cluster handler parses the same event', () => {
    const received = parseFanOut(delivered({ cluster: B, notification: NOTIFICATION }, 'fan-9'));
    assert.equal(received.cluster, B);
    assert.equal(received.messageId, 'fan-9');
    assert.deepEqual(received.notification, NOTIFICATION);
    const event = parseNotification({ message: received.notification });
    assert.equal(event.messageId, 'event-1');
    assert.equal(event.version, '7');
    assert.equal(event.eventTime, '2026-12-01T10:00:00.000Z');
    assert.deepEqual(event, parseNotification({ message: NOTIFICATION }));
  });

  it('a notification without data (TOPIC_CONFIGURED-like) round-trips too', () => {
    const bare: PubsubMessage = { attributes: { eventType: 'TOPIC_CONFIGURED' }, messageId: 'e-2' };
    assert.deepEqual(parseFanOut(delivered({ cluster: A, notification: bare })).notification, bare);
  });

  it('is told apart from a notification: the marker attribute, never an eventType', () => {
    assert.equal(isFanOutMessage(delivered({ cluster: A, notification: NOTIFICATION })), true);
    assert.equal(isFanOutMessage(NOTIFICATION), false);
    assert.equal('eventType' in fanOutMessage({ cluster: A, notification: NOTIFICATION }).attributes, false);
  });

  it('refuses what is not a readable fan-out message, naming the problem', () => {
    const good = delivered({ cluster: A, notification: NOTIFICATION });
    const cases: Array<[PubsubMessage, RegExp]> = [
      [NOTIFICATION, /not a fan-out message \(no rotorFanOut attribute\)/],
      [{ ...good, attributes: { ...good.attributes, rotorFanOut: '2' } }, /rotorFanOut="2" is not supported/],
      [{ attributes: good.attributes, ...(good.data ? { data: good.data } : {}) }, /has no messageId/],
      [{ attributes: good.attributes, messageId: 'f' }, /has no data/],
      [{ ...good, data: Buffer.from('{nope').toString('base64') }, /data is not base64 of JSON/],
      [{ ...good, data: Buffer.from('[1]').toString('base64') }, /must be a JSON object/],
      [
        { ...good, data: Buffer.from(JSON.stringify({ notification: {} })).toString('base64') },
        /data\.cluster must name a cluster/,
      ],
      [
        { ...good, data: Buffer.from(JSON.stringify({ cluster: A })).toString('base64') },
        /data\.notification must be the original Pub\/Sub message/,
      ],
      [
        {
          ...good,
          data: Buffer.from(
            JSON.stringify({ cluster: A, notification: { attributes: { eventType: 7 } } }),
          ).toString('base64'),
        },
        /notification: message\.attributes\.eventType must be a string/,
      ],
    ];
    for (const [m, expected] of cases)
      assert.throws(
        () => parseFanOut(m),
        (e: unknown) => {
          assert.ok(e instanceof InputError, String(e));
          assert.match(e.message, expected);
          return true;
        },
      );
  });

  it('a blank cluster name is refused, whitespace too: it names no cluster', () => {
    for (const cluster of ['', ' ', '\t\n'])
      assert.throws(
        () => parseFanOut(delivered({ cluster, notification: NOTIFICATION })),
        new InputError("the fan-out message's data.cluster must name a cluster"),
      );
  });

  it('carries the cluster stage (data and an attribute), round-trips it, and refuses a bad one', () => {
    const { data, attributes } = fanOutMessage({ cluster: B, stage: 2, notification: NOTIFICATION });
    assert.equal((JSON.parse(data) as { stage?: unknown }).stage, 2);
    assert.equal(attributes.stage, '2');
    assert.equal(parseFanOut(delivered({ cluster: B, stage: 2, notification: NOTIFICATION })).stage, 2);
    // Stage 0 is the default: not written, and read back as absent.
    assert.equal(
      'stage' in fanOutMessage({ cluster: A, stage: 0, notification: NOTIFICATION }).attributes,
      false,
    );
    assert.equal(parseFanOut(delivered({ cluster: A, notification: NOTIFICATION })).stage, undefined);
    const withStage = (stage: unknown): PubsubMessage => {
      const good = delivered({ cluster: A, notification: NOTIFICATION });
      const body = JSON.parse(Buffer.from(good.data ?? '', 'base64').toString('utf8')) as object;
      return { ...good, data: Buffer.from(JSON.stringify({ ...body, stage })).toString('base64') };
    };
    assert.throws(
      () => parseFanOut(withStage(12)),
      new InputError(`the fan-out message's data.stage: stage "12" is not a whole number from 0 to 9`),
    );
    assert.throws(
      () => parseFanOut(withStage('1')),
      new InputError(`the fan-out message's data.stage: must be a number`),
    );
  });

  it('names a configured cluster, or is refused with the cluster and the event named', () => {
    const specs = [{ raw: A }, { raw: B }];
    const m = parseFanOut(delivered({ cluster: B, notification: NOTIFICATION }, 'fan-3'));
    assert.equal(configuredCluster(m, specs), specs[1]);
    const stray = parseFanOut(delivered({ cluster: C, notification: NOTIFICATION }, 'fan-4'));
    assert.throws(
      () => configuredCluster(stray, specs),
      new InputError(
        `fan-out message fan-4 names cluster "${C}", which is not in ROTOR_CLUSTERS (2 cluster(s) configured): event event-1 is not reconciled there`,
      ),
    );
  });
});

describe('ROTOR_FANOUT_TOPIC / ROTOR_FANOUT_MIN_CLUSTERS', () => {
  it('off by default', () => {
    assert.deepEqual(loadConfig({}).fanOut, { kind: 'off' });
  });

  it('a topic turns it on at the default threshold; a short name takes ROTOR_DEFAULT_PROJECT', () => {
    assert.deepEqual(loadConfig({ ROTOR_FANOUT_TOPIC: 'projects/p/topics/fan' }).fanOut, {
      kind: 'on',
      topic: 'projects/p/topics/fan',
      minClusters: 8,
    });
    assert.deepEqual(
      loadConfig({ ROTOR_FANOUT_TOPIC: 'fan', ROTOR_DEFAULT_PROJECT: 'q', ROTOR_FANOUT_MIN_CLUSTERS: '2' })
        .fanOut,
      { kind: 'on', topic: 'projects/q/topics/fan', minClusters: 2 },
    );
  });

  it('bad values are configuration errors that say what is wrong', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [
        { ROTOR_FANOUT_MIN_CLUSTERS: '4' },
        'ROTOR_FANOUT_MIN_CLUSTERS="4" needs ROTOR_FANOUT_TOPIC (the topic onClusterEvent reads)',
      ],
      [
        { ROTOR_FANOUT_TOPIC: 'projects/p/topics/f', ROTOR_FANOUT_MIN_CLUSTERS: '0' },
        'ROTOR_FANOUT_MIN_CLUSTERS="0" is not a whole number >= 1',
      ],
      [
        { ROTOR_FANOUT_TOPIC: 'projects/p/topics/f', ROTOR_FANOUT_MIN_CLUSTERS: 'many' },
        'ROTOR_FANOUT_MIN_CLUSTERS="many" is not a whole number >= 1',
      ],
      [
        { ROTOR_FANOUT_TOPIC: 'projects/p/subscriptions/f' },
        'ROTOR_FANOUT_TOPIC="projects/p/subscriptions/f" is not projects/P/topics/T',
      ],
      [
        { ROTOR_FANOUT_TOPIC: 'fan' },
        'ROTOR_FANOUT_TOPIC="fan" is a short name: give projects/P/topics/T or set ROTOR_DEFAULT_PROJECT',
      ],
    ];
    for (const [env, message] of cases) assert.throws(() => loadConfig(env), new InputError(message));
  });
});

describe('pubsubFanOutPublisher', () => {
  /** The part of the Pub/Sub client the publisher uses; messages of `failing` clusters are refused. */
  function fakeClient(failing: ReadonlySet<string>) {
    const sent: Array<{ topic: string; data: string; attributes: Record<string, string> }> = [];
    const client = {
      topic: (topic: string) => ({
        publishMessage: (m: { data: Buffer; attributes: Record<string, string> }) => {
          sent.push({ topic, data: m.data.toString('utf8'), attributes: m.attributes });
          return failing.has(m.attributes.cluster ?? '')
            ? Promise.reject(new Error('DEADLINE_EXCEEDED'))
            : Promise.resolve(`id-${sent.length}`);
        },
      }),
      close: () => Promise.resolve(),
    };
    return { sent, client: client as unknown as PubSub };
  }

  it("publishes each cluster's message to the topic as fanOutMessage builds it", async () => {
    const { sent, client } = fakeClient(new Set());
    const ids = await pubsubFanOutPublisher('projects/p/topics/fan', client).publish([
      { cluster: A, notification: NOTIFICATION },
      { cluster: B, notification: NOTIFICATION },
    ]);
    assert.deepEqual(ids, ['id-1', 'id-2']);
    assert.deepEqual(
      sent,
      [A, B].map((cluster) => ({
        topic: 'projects/p/topics/fan',
        ...fanOutMessage({ cluster, notification: NOTIFICATION }),
      })),
    );
  });

  it('tries every message, then fails naming the clusters not published', async () => {
    const { sent, client } = fakeClient(new Set([A, C]));
    await assert.rejects(
      pubsubFanOutPublisher('projects/p/topics/fan', client).publish(
        [A, B, C].map((cluster) => ({ cluster, notification: NOTIFICATION })),
      ),
      new Error(
        `2 of 3 fan-out message(s) not published (${A}: Error: DEADLINE_EXCEEDED; ${C}: Error: DEADLINE_EXCEEDED)`,
      ),
    );
    assert.equal(sent.length, 3);
  });

  it('refuses a topic that is not projects/P/topics/T', () => {
    assert.throws(
      () => pubsubFanOutPublisher('fan', fakeClient(new Set()).client),
      new Error('fan-out topic "fan" is not projects/P/topics/T'),
    );
  });
});

/** Records published fan-out messages; fails the clusters in `failing`. */
function recordingFanOut(failing: ReadonlySet<string> = new Set()): FanOutPublisher & { sent: FanOut[][] } {
  const sent: FanOut[][] = [];
  return {
    sent,
    publish(messages) {
      sent.push([...messages]);
      const bad = messages.filter((m) => failing.has(m.cluster));
      return bad.length
        ? Promise.reject(new Error(`${bad.length} of ${messages.length} fan-out message(s) not published`))
        : Promise.resolve(messages.map((_, i) => `fan-${i}`));
    },
    close: () => Promise.resolve(),
  };
}

function recordingOutcomes(): OutcomePublisher & { published: EventOutcome[] } {
  const published: EventOutcome[] = [];
  return {
    published,
    publish(o) {
      published.push(o);
      return Promise.resolve(`o-${published.length}`);
    },
    close: () => Promise.resolve(),
  };
}

/** A cluster with one Deployment that restarts on db-password; counts its lists and patches. */
function oneDeploymentCluster(name: string): KubeApi & { lists: number; patches: KubeRequest[] } {
  const api = deployment(
    'api',
    {},
    {
      annotations: {
        'rotor.dev/secrets': 'projects/my-proj/secrets/db-password',
        'rotor.dev/on-rotate': 'restart',
      },
    },
  );
  const counts = { lists: 0, patches: [] as KubeRequest[] };
  return {
    cluster: name,
    get lists() {
      return counts.lists;
    },
    patches: counts.patches,
    request<T>(req: KubeRequest): Promise<T> {
      if (req.method === 'PATCH') {
        counts.patches.push(req);
        return Promise.resolve({} as T);
      }
      if (req.method === 'GET' && req.query?.limit !== undefined) counts.lists++;
      if (req.path === '/apis/apps/v1/deployments') return Promise.resolve({ items: [api] } as T);
      return Promise.resolve({ items: [] } as T);
    },
    requestCount: () => 0,
    close: () => undefined,
  };
}

const FLEET_ENV = {
  ROTOR_PROJECT_MAP: 'my-proj=123456789012',
  ROTOR_CLUSTERS: [A, B, C].join(','),
  ROTOR_FANOUT_TOPIC: 'projects/my-proj/topics/rotor-cluster-events',
  ROTOR_FANOUT_MIN_CLUSTERS: '3',
};

describe('onSecretEvent with a fleet to fan out', () => {
  it('publishes one message per cluster, reconciles nothing itself, and reports fanned-out with the event id', async () => {
    const fanOut = recordingFanOut();
    const outcomes = recordingOutcomes();
    const logger = memoryLogger();
    let connected = 0;
    const outcome = await handleSecretEvent(
      { message: NOTIFICATION },
      {
        config: loadConfig(FLEET_ENV),
        secretManager: confirming.secretManager,
        logger,
        clusters: () => {
          connected++;
          return Promise.resolve([]);
        },
        fanOut,
        publisher: outcomes,
      },
    );
    assert.equal(connected, 0, 'no cluster is connected by the fanning instance');
    assert.deepEqual(
      fanOut.sent.map((batch) => batch.map((m) => m.cluster)),
      [[A, B, C]],
    );
    for (const m of fanOut.sent[0] ?? []) assert.deepEqual(m.notification, NOTIFICATION);
    assert.equal(outcomes.published.length, 1);
    const o = outcomes.published[0];
    assert.deepEqual(o?.scope, {
      kind: 'fanned-out',
      topic: 'projects/my-proj/topics/rotor-cluster-events',
      clusters: [A, B, C],
    });
    assert.deepEqual(o?.event, {
      type: 'SECRET_VERSION_ADD',
      secret: 'projects/my-proj/secrets/db-password',
      version: '7',
      messageId: 'event-1',
      time: '2026-12-01T10:00:00.000Z',
    });
    assert.equal(o?.converged, true);
    assert.deepEqual(o?.workloads, []);
    assert.equal(outcome, o);
    const summary = logger.entries.find((e) => e.severity === 'NOTICE');
    assert.equal(
      summary?.message,
      'SECRET_VERSION_ADD projects/my-proj/secrets/db-password version 7: fanned out to 3 cluster(s) on projects/my-proj/topics/rotor-cluster-events; each reports its own outcome',
    );
  });

  it('a message not published: throws (redelivery publishes them all again) and reports nothing', async () => {
    const fanOut = recordingFanOut(new Set([B]));
    const outcomes = recordingOutcomes();
    await assert.rejects(
      handleSecretEvent(
        { message: NOTIFICATION },
        {
          config: loadConfig(FLEET_ENV),
          secretManager: confirming.secretManager,
          logger: memoryLogger(),
          clusters: () => Promise.resolve([]),
          fanOut,
          publisher: outcomes,
        },
      ),
      (e: unknown) => {
        assert.ok(e instanceof TransientError);
        assert.match(
          e.message,
          /^fanning out to projects\/my-proj\/topics\/rotor-cluster-events failed: 1 of 3/,
        );
        return true;
      },
    );
    assert.equal(
      outcomes.published.length,
      0,
      'the outcome would say fanned out: not until every message is',
    );
  });

  it('below the threshold: reconciles every cluster in process, as before (scope event)', async () => {
    const a = oneDeploymentCluster(A);
    const b = oneDeploymentCluster(B);
    const fanOut = recordingFanOut();
    const outcomes = recordingOutcomes();
    // The delivery that restarts is pending on the rollouts it started (a redelivery checks them).
    await assert.rejects(
      handleSecretEvent(
        { message: NOTIFICATION },
        {
          config: loadConfig({ ...FLEET_ENV, ROTOR_CLUSTERS: [A, B].join(',') }),
          secretManager: confirming.secretManager,
          logger: memoryLogger(),
          clusters: () => Promise.resolve([a, b]),
          fanOut,
          publisher: outcomes,
        },
      ),
      TransientError,
    );
    const [outcome] = outcomes.published;
    assert.equal(outcome?.awaitingRollouts, 2);
    assert.equal(fanOut.sent.length, 0);
    assert.deepEqual(outcome?.scope, { kind: 'event' });
    assert.deepEqual(
      outcome?.workloads.map((w) => [w.cluster, w.name, w.result]),
      [
        [A, 'api', 'restarted'],
        [B, 'api', 'restarted'],
      ],
    );
  });

  it('a notification Secret Manager does not confirm is never fanned out: acked with an error', async () => {
    const fanOut = recordingFanOut();
    const outcomes = recordingOutcomes();
    const logger = memoryLogger();
    const forged: PubsubMessage = {
      ...notificationMessage({
        type: 'SECRET_UPDATE',
        secret: 'projects/123456789012/secrets/db-password',
        data: { name: 'projects/123456789012/secrets/db-password', versionAliases: { prod: '7' } },
        timestamp: '2099-01-01T00:00:00.000Z',
      }),
      messageId: 'forged-2',
      publishTime: '2026-12-01T10:00:01.000Z',
    };
    const result = await handleSecretEvent(
      { message: forged },
      {
        config: loadConfig(FLEET_ENV),
        secretManager: confirming.secretManager,
        logger,
        clusters: () => Promise.resolve([]),
        fanOut,
        publisher: outcomes,
      },
    );
    assert.equal(result, undefined);
    assert.equal(fanOut.sent.length, 0);
    assert.equal(outcomes.published.length, 0);
    assert.equal(logger.entries.length, 1);
    assert.equal(logger.entries[0]?.severity, 'ERROR');
    assert.match(
      logger.entries[0]?.message ?? '',
      /^notification not confirmed by Secret Manager, acked without acting: SECRET_UPDATE of projects\/123456789012\/secrets\/db-password: its event time 2099-01-01T00:00:00.000Z lies in the future \(now .*, 5 min of clock skew allowed\)$/,
    );
  });

  it('TOPIC_CONFIGURED and SECRET_ROTATE have no cluster work: never fanned out', async () => {
    const fanOut = recordingFanOut();
    const env = {
      config: loadConfig(FLEET_ENV),
      secretManager: confirming.secretManager,
      logger: memoryLogger(),
      clusters: () => Promise.resolve([]),
      fanOut,
    };
    await handleSecretEvent({ message: { attributes: { eventType: 'TOPIC_CONFIGURED' } } }, env);
    await handleSecretEvent(
      { message: notificationMessage({ type: 'SECRET_ROTATE', secret: 'projects/123456789012/secrets/x' }) },
      env,
    );
    assert.equal(fanOut.sent.length, 0);
  });

  it('a fan-out message routed to onSecretEvent is acked with an error saying where it belongs', async () => {
    const logger = memoryLogger();
    const fanOut = recordingFanOut();
    const result = await handleSecretEvent(
      { message: delivered({ cluster: A, notification: NOTIFICATION }) },
      {
        config: loadConfig(FLEET_ENV),
        secretManager: confirming.secretManager,
        logger,
        clusters: () => Promise.resolve([]),
        fanOut,
      },
    );
    assert.equal(result, undefined);
    assert.equal(fanOut.sent.length, 0, 'never fanned out again');
    assert.equal(
      logger.entries[0]?.message,
      'malformed notification acked: this is a fan-out message (ROTOR_FANOUT_TOPIC): its subscription must deliver to onClusterEvent, not onSecretEvent',
    );
  });
});

describe('onClusterEvent', () => {
  const clusterEnv = (apis: Record<string, KubeApi>, outcomes?: OutcomePublisher) => {
    const asked: string[] = [];
    return {
      asked,
      env: {
        config: loadConfig(FLEET_ENV),
        secretManager: confirming.secretManager,
        logger: memoryLogger(),
        cluster: (spec: ClusterSpec) => {
          asked.push(spec.raw);
          const api = apis[spec.raw];
          return api ? Promise.resolve(api) : Promise.reject(new Error(`no test cluster ${spec.raw}`));
        },
        ...(outcomes ? { publisher: outcomes } : {}),
      },
    };
  };

  it('reconciles only the named cluster; the outcome carries the event id, the cluster and the fan-out message', async () => {
    const a = oneDeploymentCluster(A);
    const b = oneDeploymentCluster(B);
    const outcomes = recordingOutcomes();
    const { env, asked } = clusterEnv({ [A]: a, [B]: b }, outcomes);
    // The delivery that restarts is pending on the rollout it started: this cluster is redelivered.
    await assert.rejects(
      handleClusterEvent({ message: delivered({ cluster: B, notification: NOTIFICATION }, 'fan-b') }, env),
      TransientError,
    );
    const [outcome] = outcomes.published;
    assert.deepEqual(asked, [B], 'only B is connected');
    assert.equal(a.lists, 0, 'A is not even listed');
    assert.equal(b.patches.length, 1, 'B restarted once');
    assert.deepEqual(outcome?.scope, { kind: 'cluster', cluster: B, fanOutMessageId: 'fan-b' });
    assert.equal(outcome?.event.messageId, 'event-1');
    assert.deepEqual(
      outcome?.workloads.map((w) => [w.cluster, w.name, w.result]),
      [[B, 'api', 'restarted']],
    );
    assert.equal(outcomes.published.length, 1);
    // rotor.dev/applied-by names the event's message, as an unfanned delivery would.
    const body = JSON.stringify(b.patches[0]?.body);
    assert.match(body, /\\"message\\":\\"event-1\\"/);
    const summary = env.logger.entries.find((e) => e.severity === 'NOTICE');
    assert.equal(summary?.cluster, B);
    assert.equal(summary?.fanOutMessageId, 'fan-b');
  });

  it('a cluster not in ROTOR_CLUSTERS: acked with an error, nothing connected', async () => {
    const { env, asked } = clusterEnv({});
    const stray = 'projects/p/locations/europe-west1/clusters/elsewhere';
    const result = await handleClusterEvent(
      { message: delivered({ cluster: stray, notification: NOTIFICATION }, 'fan-x') },
      env,
    );
    assert.equal(result, undefined);
    assert.deepEqual(asked, []);
    assert.equal(
      env.logger.entries[0]?.message,
      `fan-out message acked without acting: fan-out message fan-x names cluster "${stray}", which is not in ROTOR_CLUSTERS (3 cluster(s) configured): event event-1 is not reconciled there`,
    );
    assert.equal(env.logger.entries[0]?.severity, 'ERROR');
  });

  it('a fan-out message carrying a notification Secret Manager does not confirm: acked with an error, no cluster connected', async () => {
    const { env, asked } = clusterEnv({ [A]: oneDeploymentCluster(A) });
    const forged: PubsubMessage = {
      ...notificationMessage({
        type: 'SECRET_VERSION_ADD',
        secret: 'projects/123456789012/secrets/db-password',
        version: '999999999',
        timestamp: '2026-12-01T10:00:00.000Z',
      }),
      messageId: 'forged-1',
      publishTime: '2026-12-01T10:00:01.000Z',
    };
    const result = await handleClusterEvent(
      { message: delivered({ cluster: A, notification: forged }, 'fan-forged') },
      env,
    );
    assert.equal(result, undefined);
    assert.deepEqual(asked, [], 'nothing connected, nothing listed or patched');
    assert.deepEqual(
      env.logger.entries.map((e) => [e.severity, e.message]),
      [
        [
          'ERROR',
          'notification not confirmed by Secret Manager, acked without acting: SECRET_VERSION_ADD of projects/123456789012/secrets/db-password version 999999999: Secret Manager has no such version',
        ],
      ],
    );
  });

  it('a Secret Manager notification routed to onClusterEvent is acked with an error saying where it belongs', async () => {
    const { env, asked } = clusterEnv({});
    assert.equal(await handleClusterEvent({ message: NOTIFICATION }, env), undefined);
    assert.deepEqual(asked, []);
    assert.match(
      env.logger.entries[0]?.message ?? '',
      /not a fan-out message .* Secret Manager's notifications go to onSecretEvent/,
    );
  });

  it('a fan-out of an event without cluster work is refused', async () => {
    const { env, asked } = clusterEnv({});
    const rotate = {
      ...notificationMessage({ type: 'SECRET_ROTATE', secret: 'projects/1/secrets/x' }),
      messageId: 'r',
    };
    assert.equal(
      await handleClusterEvent({ message: delivered({ cluster: A, notification: rotate }) }, env),
      undefined,
    );
    assert.deepEqual(asked, []);
    assert.equal(
      env.logger.entries[0]?.message,
      'fan-out message acked without acting: SECRET_ROTATE has no cluster work',
    );
  });

  it('a cluster that cannot be listed: its outcome reports it and the delivery throws (this cluster is redelivered)', async () => {
    const broken: KubeApi = {
      cluster: C,
      request: () => Promise.reject(new TransientError('connection refused')),
      requestCount: () => 0,
      close: () => undefined,
    };
    const outcomes = recordingOutcomes();
    const { env } = clusterEnv({ [C]: broken }, outcomes);
    await assert.rejects(
      handleClusterEvent({ message: delivered({ cluster: C, notification: NOTIFICATION }, 'fan-c') }, env),
      TransientError,
    );
    assert.equal(outcomes.published.length, 1);
    assert.deepEqual(outcomes.published[0]?.scope, { kind: 'cluster', cluster: C, fanOutMessageId: 'fan-c' });
    assert.deepEqual(
      outcomes.published[0]?.clusterErrors.map((e) => e.cluster),
      [C],
    );
    assert.equal(outcomes.published[0]?.converged, false);
  });
});
