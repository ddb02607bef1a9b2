// Creates the Kubernetes Events of core/kubeEvents.ts. An Event is a courtesy to the people
// watching: failing to create one never fails what Rotor did (it is logged), and an Event that
// already exists (the same fact reported by an earlier delivery) is not an error.
//
// A warm instance remembers the Events it created or found (KnownEvents): an Event's name is the
// fact it reports, and a fact once reported stays reported, so a redelivery need not read or
// create it again. That is what made a converged event's redelivery cost a request per
// dependent; with the memo it costs the lists alone. Nothing else is reused between deliveries
// (see docs/deploy.md: the inventory is listed afresh).
import type { KubeEvent } from '../core/kubeEvents';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { KubeApi } from './kubeApi';
import { isConflict, isNotFound } from './kubeApi';

/**
 * Event names known to exist, per cluster, bounded (the oldest are forgotten first: forgetting
 * one costs a request, never a wrong report). Lives as long as the function instance.
 */
export class KnownEvents {
  private readonly names = new Set<string>();
  constructor(private readonly limit: number = 20_000) {}

  private static key(cluster: string, event: KubeEvent): string {
    return `${cluster}\n${event.metadata.namespace}\n${event.metadata.name}`;
  }

  has(cluster: string, event: KubeEvent): boolean {
    return this.names.has(KnownEvents.key(cluster, event));
  }

  add(cluster: string, event: KubeEvent): void {
    const key = KnownEvents.key(cluster, event);
    if (this.names.has(key)) return;
    this.names.add(key);
    if (this.names.size > this.limit) {
      const oldest = this.names.values().next();
      if (!oldest.done) this.names.delete(oldest.value);
    }
  }

  get size(): number {
    return this.names.size;
  }
}

export async function createEvent(
  api: KubeApi,
  event: KubeEvent,
  log: Logger,
  known?: KnownEvents,
): Promise<void> {
  if (known?.has(api.cluster, event)) return;
  try {
    await api.request({
      method: 'POST',
      path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`,
      query: { fieldManager: 'rotor' },
      body: event,
    });
    known?.add(api.cluster, event);
  } catch (e) {
    if (isConflict(e)) {
      known?.add(api.cluster, event);
      return;
    }
    log.warn(
      `Kubernetes Event ${event.reason} on ${event.regarding.kind} ${event.regarding.namespace}/${event.regarding.name} not created: ${errorMessage(e)}`,
    );
  }
}

/**
 * Whether the Event already exists (an earlier delivery reported the same fact). When it cannot
 * be read, assume it does: better one report missing than every redelivery repeating one.
 */
export async function eventExists(api: KubeApi, event: KubeEvent, known?: KnownEvents): Promise<boolean> {
  if (known?.has(api.cluster, event)) return true;
  try {
    await api.request({
      method: 'GET',
      path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events/${encodeURIComponent(event.metadata.name)}`,
    });
    known?.add(api.cluster, event);
    return true;
  } catch (e) {
    return !isNotFound(e);
  }
}
