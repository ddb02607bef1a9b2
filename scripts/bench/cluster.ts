// The benchmark's dealings with the cluster as admin: seeding the fleet fast (concurrent creates
// over one keep-alive client), standing in for External Secrets Operator, and the notifications
// Secret Manager would send.
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import { TransientError } from '../../functions/errors';
import { notificationMessage } from '../../functions/core/event';
import { mapLimit } from '../../functions/concurrency';
import type { Fleet, SeedObject } from './fleet';
import { PROJECT_ID, PROJECT_NUMBER } from './fleet';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Creates one object; retries what a busy API server may answer while it warms up. */
async function create(api: KubeApi, o: SeedObject): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await api.request({ method: 'POST', path: o.path, body: o.body });
      return;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 409 && e.reason === 'AlreadyExists') return; // a retried create that had landed
      // 429 / 5xx / connection errors, and 404 while a new namespace or CRD is not yet visible.
      const retriable = !(e instanceof KubeApiError) || e.transient || e.status === 404;
      if (!retriable || attempt >= 8) throw e;
      await sleep(100 * 2 ** Math.min(attempt, 5));
    }
  }
}

/** Creates the objects of each phase in order (a phase's objects concurrently). */
export async function seed(
  api: KubeApi,
  fleet: Pick<Fleet, 'phases'>,
  progress: (line: string) => void,
): Promise<number> {
  let total = 0;
  for (const phase of fleet.phases) {
    const t0 = Date.now();
    let done = 0;
    let nextReport = 2000;
    await mapLimit(phase.objects, 32, async (o) => {
      await create(api, o);
      done++;
      if (done >= nextReport) {
        nextReport += 2000;
        progress(`  ${phase.name}: ${done}/${phase.objects.length}`);
      }
    });
    total += phase.objects.length;
    const s = (Date.now() - t0) / 1000;
    progress(
      `seeded ${phase.objects.length} ${phase.name} in ${s.toFixed(1)}s (${Math.round(phase.objects.length / Math.max(s, 0.001))}/s)`,
    );
  }
  return total;
}

/** The Eventarc CloudEvent Secret Manager's notification reaches onSecretEvent in. */
export function cloudEvent(secret: string, version: string, eventTime: string, messageId: string): string {
  const publishTime = new Date(Date.parse(eventTime) + 25).toISOString();
  const message = notificationMessage({
    type: 'SECRET_VERSION_ADD',
    secret: `projects/${PROJECT_NUMBER}/secrets/${secret}`,
    version,
    timestamp: eventTime,
  });
  return JSON.stringify({
    specversion: '1.0',
    id: messageId,
    source: `//pubsub.googleapis.com/projects/${PROJECT_ID}/topics/secret-events`,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    datacontenttype: 'application/json',
    time: publishTime,
    data: {
      message: { ...message, messageId, publishTime },
      subscription: `projects/${PROJECT_ID}/subscriptions/eventarc-rotor`,
    },
  });
}

/** A request the bench makes as admin, tried again after a dropped connection or a busy server. */
async function retried<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (e) {
      // e.g. "socket hang up" on a keep-alive connection the server closed while the bench was idle.
      const transient = e instanceof TransientError || (e instanceof KubeApiError && e.transient);
      if (!transient || attempt >= 4) throw e;
      await sleep(200 * attempt);
    }
  }
}

/** Stands in for ESO: marks the ExternalSecrets that sync `secret` as refreshed at `at`. */
export async function esoRefresh(admin: KubeApi, fleet: Fleet, secret: string, at: string): Promise<void> {
  await mapLimit(fleet.externalSecretsOf.get(secret) ?? [], 16, (es) =>
    retried(() =>
      admin.request({
        method: 'PATCH',
        path: `/apis/external-secrets.io/v1/namespaces/${es.namespace}/externalsecrets/${es.name}/status`,
        contentType: 'application/merge-patch+json',
        body: {
          status: {
            refreshTime: at,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'SecretSynced',
                message: 'secret synced',
                lastTransitionTime: at,
              },
            ],
          },
        },
      }),
    ),
  );
}
