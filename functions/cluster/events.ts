// Creates the Kubernetes Events of core/kubeEvents.ts. An Event is a courtesy to the people
// watching: failing to create one never fails what Rotor did (it is logged), and an Event that
// already exists (the same fact reported by an earlier delivery) is not an error.
import type { KubeEvent } from '../core/kubeEvents';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { KubeApi } from './kubeApi';
import { isConflict, isNotFound } from './kubeApi';

export async function createEvent(api: KubeApi, event: KubeEvent, log: Logger): Promise<void> {
  try {
    await api.request({
      method: 'POST',
      path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`,
      query: { fieldManager: 'rotor' },
      body: event,
    });
  } catch (e) {
    if (isConflict(e)) return;
    log.warn(
      `Kubernetes Event ${event.reason} on ${event.regarding.kind} ${event.regarding.namespace}/${event.regarding.name} not created: ${errorMessage(e)}`,
    );
  }
}

/**
 * Whether the Event already exists (an earlier delivery reported the same fact). When it cannot
 * be read, assume it does: better one report missing than every redelivery repeating one.
 */
export async function eventExists(api: KubeApi, event: KubeEvent): Promise<boolean> {
  try {
    await api.request({
      method: 'GET',
      path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events/${encodeURIComponent(event.metadata.name)}`,
    });
    return true;
  } catch (e) {
    return !isNotFound(e);
  }
}
