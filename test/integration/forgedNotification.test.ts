// Forged notifications against the real API server and the real Secret Manager client (on the
// stand-in): anyone who can publish to the topic can write a notification, so onSecretEvent
// confirms each with Secret Manager's metadata first (issue 18, item 4). A SECRET_VERSION_ADD of
// a version that does not exist, or an alias move stamped 2099, is acked with an ERROR and changes
// nothing: the real version and the real move that follow are acted on as if it never came.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { deliverOnce, redeliverUntilAcked } from '../harness/redelivery';
import type { SecretManagerStandIn } from '../harness/secretManagerStandIn';
import { startSecretManagerStandIn } from '../harness/secretManagerStandIn';
import { notificationMessage } from '../../functions/core/event';
import type { SecretResource } from '../../functions/core/event';
import { memoryLogger } from '../../functions/log';
import { environmentFromEnv, handleSecretEvent } from '../../functions/onSecretEvent';
import type { SecretEventEnvironment } from '../../functions/onSecretEvent';
import type { EventOutcome } from '../../functions/core/outcome';

const NS = 'shop';
const NUMBER = '123456789012';
const DB = `projects/${NUMBER}/secrets/db-password`;
const KEY = `projects/${NUMBER}/secrets/api-key`;

describe(
  'forged notifications change nothing; the real ones that follow are acted on',
  { timeout: 240_000 },
  () => {
    let cp: ControlPlane;
    let sm: SecretManagerStandIn;
    let env: SecretEventEnvironment & { logger: ReturnType<typeof memoryLogger> };

    const live = async (name: string) => {
      const d = await cp.admin('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
      const meta = d.metadata as { annotations?: Record<string, string> };
      const spec = d.spec as { template: { metadata?: { annotations?: Record<string, string> } } };
      return {
        applied: meta.annotations?.['rotor.dev/applied'],
        restartedAt: spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
      };
    };
    const body = (
      messageId: string,
      n: {
        type: 'SECRET_VERSION_ADD' | 'SECRET_UPDATE';
        secret: string;
        version?: string;
        data?: SecretResource;
        timestamp: string;
      },
    ) => ({ message: { ...notificationMessage(n), messageId, publishTime: new Date().toISOString() } });
    /** Every outcome published, in order: the first delivery's says what was done. */
    const published: EventOutcome[] = [];
    /** Delivers until acked (a restart is pending on its rollout once); the first outcome. */
    const deliverUntilAcked = async (message: ReturnType<typeof body>): Promise<EventOutcome | undefined> => {
      const from = published.length;
      await redeliverUntilAcked(() => deliverOnce(message, env), {
        deadline: Date.now() + 60_000,
        pollMs: 250,
        why: () => JSON.stringify(published.at(-1)?.workloads),
      });
      return published[from];
    };

    before(async () => {
      sm = await startSecretManagerStandIn();
      cp = await startControlPlane({ users: ['rotor'] });
      const kc = cp.kubeConfig();
      await installCrds(kc);
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
      await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      for (const [name, reference] of [
        ['api', 'projects/my-proj/secrets/db-password'],
        ['aliased', 'projects/my-proj/secrets/api-key/versions/current'],
      ] as const) {
        await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {
            name,
            annotations: { 'rotor.dev/secrets': reference, 'rotor.dev/on-rotate': 'restart' },
          },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
            },
          },
        });
      }
      // What Secret Manager really holds: db-password up to version 8, api-key 1..3 with current=2.
      const earlier = new Date(Date.now() - 60_000);
      sm.hold(DB, { version: 8, createTime: earlier });
      sm.hold(KEY, { version: 3, createTime: earlier, aliases: { current: 2 } });
      env = {
        ...environmentFromEnv(
          {
            ROTOR_CLUSTERS: `kubeconfig:${cp.kubeconfigPathFor('rotor')}`,
            ROTOR_PROJECT_MAP: `my-proj=${NUMBER}`,
            ROTOR_SECRET_MANAGER_ENDPOINT: sm.endpoint,
          },
          () => Promise.reject(new Error('no Google credentials in this test')),
        ),
        logger: memoryLogger(),
        publisher: {
          publish: (o: EventOutcome) => {
            published.push(o);
            return Promise.resolve(`outcome-${published.length}`);
          },
          close: () => Promise.resolve(),
        },
      };
    });

    after(async () => {
      await cp?.stop();
      await sm?.close();
    });

    it('a forged SECRET_VERSION_ADD of version 999999999 is acked with an error; the real version 9 restarts the dependent', async () => {
      const before = await live('api');
      const forged = body('forged-add', {
        type: 'SECRET_VERSION_ADD',
        secret: DB,
        version: '999999999',
        timestamp: new Date().toISOString(),
      });
      assert.equal(await handleSecretEvent(forged, env), undefined, 'acked, no outcome');
      assert.deepEqual(published, [], 'nothing reported as done');
      const errors = env.logger.entries.filter((e) => e.severity === 'ERROR');
      assert.deepEqual(
        errors.map((e) => e.message),
        [
          `notification not confirmed by Secret Manager, acked without acting: SECRET_VERSION_ADD of ${DB} version 999999999: Secret Manager has no such version`,
        ],
      );
      assert.deepEqual(await live('api'), before, 'nothing restarted, nothing recorded');

      // The real version 9 is added in Secret Manager; its notification follows.
      sm.hold(DB, { version: 9 });
      const real = await deliverUntilAcked(
        body('real-add', {
          type: 'SECRET_VERSION_ADD',
          secret: DB,
          version: '9',
          timestamp: new Date().toISOString(),
        }),
      );
      assert.deepEqual(
        real?.workloads.map((w) => [w.name, w.result]),
        [['api', 'restarted']],
      );
      const after = await live('api');
      assert.ok(after.restartedAt && after.restartedAt !== before.restartedAt);
      assert.deepEqual(JSON.parse(after.applied ?? '{}'), { 'projects/my-proj/secrets/db-password': '9' });
    });

    it('a forged alias move stamped 2099 is acked with an error and does not make the real move stale', async () => {
      env.logger.entries.length = 0;
      const before = await live('aliased');
      const forged = body('forged-move', {
        type: 'SECRET_UPDATE',
        secret: KEY,
        data: { name: KEY, versionAliases: { current: '1' } },
        timestamp: '2099-01-01T00:00:00.000Z',
      });
      assert.equal(await handleSecretEvent(forged, env), undefined);
      const errors = env.logger.entries.filter((e) => e.severity === 'ERROR');
      assert.equal(errors.length, 1, JSON.stringify(env.logger.entries));
      assert.match(
        String(errors[0]?.message),
        /^notification not confirmed by Secret Manager, acked without acting: SECRET_UPDATE of projects\/123456789012\/secrets\/api-key: its event time 2099-01-01T00:00:00.000Z lies in the future/,
      );
      assert.deepEqual(await live('aliased'), before);

      // The real move: current goes from 2 to 3 in Secret Manager, then its notification.
      sm.hold(KEY, { aliases: { current: 3 } });
      const real = await deliverUntilAcked(
        body('real-move', {
          type: 'SECRET_UPDATE',
          secret: KEY,
          data: { name: KEY, versionAliases: { current: '3' } },
          timestamp: new Date().toISOString(),
        }),
      );
      assert.deepEqual(
        real?.workloads.map((w) => [w.name, w.result]),
        [['aliased', 'restarted']],
      );
      assert.notEqual((await live('aliased')).restartedAt, before.restartedAt);
    });
  },
);
