// A notification names its project by NUMBER; the workload names it by id. Without the pair in
// ROTOR_PROJECT_MAP, onSecretEvent asks Resource Manager (the stand-in of
// test/harness/resourceManagerStandIn.ts), once per instance, and acts on the workload; when the
// lookup is denied it logs a WARNING naming the number and goes on without the mapping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { ResourceManagerStandIn } from '../harness/resourceManagerStandIn';
import { startResourceManagerStandIn } from '../harness/resourceManagerStandIn';
import { notificationMessage } from '../../functions/core/event';
import { memoryLogger } from '../../functions/log';
import { environmentFromEnv, handleSecretEvent } from '../../functions/onSecretEvent';
import type { SecretEventEnvironment } from '../../functions/onSecretEvent';
import type { EventOutcome } from '../../functions/core/outcome';
import { deliverOnce, redeliverUntilAcked } from '../harness/redelivery';
import type { SecretManagerStandIn } from '../harness/secretManagerStandIn';
import { holdAnnounced, startSecretManagerStandIn } from '../harness/secretManagerStandIn';

const NS = 'shop';
const TOKEN = 'rm-token';
const MAPPED = '123456789012';
const DENIED = '987654321098';

describe(
  'project numbers missing from ROTOR_PROJECT_MAP, through Resource Manager',
  { timeout: 240_000 },
  () => {
    let cp: ControlPlane;
    let rm: ResourceManagerStandIn;
    /** Secret Manager, holding what each notification announces (Rotor confirms it first). */
    let sm: SecretManagerStandIn;

    before(async () => {
      sm = await startSecretManagerStandIn();
      rm = await startResourceManagerStandIn({
        projects: { [MAPPED]: 'my-proj', [DENIED]: 'locked-proj' },
        token: TOKEN,
        denied: [DENIED],
      });
      cp = await startControlPlane({ users: ['rotor'] });
      const kc = cp.kubeConfig();
      await installCrds(kc);
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
      await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      for (const [name, project] of [
        ['api', 'my-proj'],
        ['locked', 'locked-proj'],
      ] as const) {
        await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {
            name,
            annotations: {
              'rotor.dev/secrets': `projects/${project}/secrets/db-password`,
              'rotor.dev/on-rotate': 'restart',
            },
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
    });

    after(async () => {
      await cp?.stop();
      await rm?.close();
      await sm?.close();
    });

    const deliver = (number: string, version: string) => {
      const notification = notificationMessage({
        type: 'SECRET_VERSION_ADD',
        secret: `projects/${number}/secrets/db-password`,
        version,
      });
      holdAnnounced(sm, notification);
      return {
        message: {
          ...notification,
          messageId: `m-${number}-${version}`,
          publishTime: new Date().toISOString(),
        },
      };
    };

    /** Delivers until acked, returning every delivery's outcome. */
    async function deliverUntilAcked(
      env: SecretEventEnvironment,
      message: ReturnType<typeof deliver>,
    ): Promise<EventOutcome[]> {
      const outcomes: EventOutcome[] = [];
      const recording: SecretEventEnvironment = {
        ...env,
        publisher: {
          publish: (o: EventOutcome) => {
            outcomes.push(o);
            return Promise.resolve(`outcome-${outcomes.length}`);
          },
          close: () => Promise.resolve(),
        },
      };
      await redeliverUntilAcked(() => deliverOnce(message, recording), {
        deadline: Date.now() + 60_000,
        pollMs: 250,
        why: () => JSON.stringify(outcomes.at(-1)?.workloads),
      });
      return outcomes;
    }

    it('maps the number with projects.get, once per instance, and acts on the workload that names the id', async () => {
      const logger = memoryLogger();
      const env = {
        ...environmentFromEnv(
          {
            ROTOR_CLUSTERS: `kubeconfig:${cp.kubeconfigPathFor('rotor')}`,
            ROTOR_RESOURCE_MANAGER_API: rm.url,
            ROTOR_SECRET_MANAGER_ENDPOINT: sm.endpoint,
          },
          () => Promise.resolve(TOKEN),
        ),
        logger,
      };
      // A delivery that restarts is pending on the rollout it started (waves and the brake): the
      // redelivery finds it finished and acks. The first delivery's outcome says what was done.
      const firstDeliveries = await deliverUntilAcked(env, deliver(MAPPED, '2'));
      assert.deepEqual(
        firstDeliveries[0]?.workloads.map((w) => [w.name, w.result]),
        [['api', 'restarted']],
      );
      assert.equal(firstDeliveries[0]?.event.secret, 'projects/my-proj/secrets/db-password');
      const secondDeliveries = await deliverUntilAcked(env, deliver(MAPPED, '3'));
      assert.deepEqual(
        secondDeliveries[0]?.workloads.map((w) => [w.name, w.result]),
        [['api', 'restarted']],
      );
      assert.deepEqual(rm.requests, [`GET /v3/projects/${MAPPED}`], 'looked up once');
      assert.ok(!logger.entries.some((e) => e.severity === 'WARNING'), JSON.stringify(logger.entries));
    });

    it('a 503 from Resource Manager: the delivery throws (nothing acked, nothing cached) and the redelivery maps and restarts', async () => {
      const logger = memoryLogger();
      const env = {
        ...environmentFromEnv(
          {
            ROTOR_CLUSTERS: `kubeconfig:${cp.kubeconfigPathFor('rotor')}`,
            ROTOR_RESOURCE_MANAGER_API: rm.url,
            ROTOR_SECRET_MANAGER_ENDPOINT: sm.endpoint,
          },
          () => Promise.resolve(TOKEN),
        ),
        logger,
      };
      const asked = rm.requests.length;
      rm.failNext(503);
      const message = deliver(MAPPED, '4');
      assert.deepEqual(await deliverOnce(message, env), { acked: false }, 'thrown: Pub/Sub redelivers');
      assert.ok(!logger.entries.some((e) => e.severity === 'WARNING'), JSON.stringify(logger.entries));
      const outcomes = await deliverUntilAcked(env, message);
      assert.deepEqual(
        outcomes[0]?.workloads.map((w) => [w.name, w.result]),
        [['api', 'restarted']],
      );
      assert.deepEqual(
        rm.requests.slice(asked),
        [`GET /v3/projects/${MAPPED}`, `GET /v3/projects/${MAPPED}`],
        'the redelivery asked again: the 503 was not remembered',
      );
    });

    it('a denied lookup: a WARNING naming the number, and the event goes on without the mapping', async () => {
      const logger = memoryLogger();
      const env = {
        ...environmentFromEnv(
          {
            ROTOR_CLUSTERS: `kubeconfig:${cp.kubeconfigPathFor('rotor')}`,
            ROTOR_RESOURCE_MANAGER_API: rm.url,
            ROTOR_SECRET_MANAGER_ENDPOINT: sm.endpoint,
          },
          () => Promise.resolve(TOKEN),
        ),
        logger,
      };
      const outcome = await handleSecretEvent(deliver(DENIED, '2'), env);
      assert.deepEqual(
        outcome?.workloads,
        [],
        'locked names locked-proj, which the number could not be mapped to',
      );
      assert.equal(outcome?.converged, true);
      const warnings = logger.entries.filter((e) => e.severity === 'WARNING');
      assert.equal(warnings.length, 1, JSON.stringify(logger.entries));
      assert.equal(warnings[0].projectNumber, DENIED);
      assert.match(
        warnings[0].message,
        new RegExp(
          `^project number ${DENIED} is not in ROTOR_PROJECT_MAP and Resource Manager could not map it \\(Resource Manager projects.get: HTTP 403 \\(grant resourcemanager.projects.get on it, e.g. roles/browser\\): .*PERMISSION_DENIED.*\\): workloads that name the project by id are not matched`,
        ),
      );
    });
  },
);
