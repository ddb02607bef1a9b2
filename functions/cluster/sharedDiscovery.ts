// Concurrent events on one instance share one discovery. A burst of rotations (a schedule rotating
// dozens of secrets in the same minute) delivers many events to an instance at once; each used to
// list every page of every kind on its own, so N events cost the API server N times the lists and
// held N sets of pages. Here the events waiting for a cluster's inventory are served together by
// one round of lists (cluster/inventory.ts liveInventories: each page offered to every event's
// filter, dependents kept per secret), and a cluster has at most one round listing per instance,
// so the lists in flight from one instance stay those of one discovery, whatever the number of
// events.
//
// A round serves only events that asked before it started: its lists began after the event
// arrived, as an event's own lists would have. Events that ask while a round is listing wait for
// the next one, which starts as soon as the current one ends and serves all of them. A round that
// fails fails every event it serves (each is redelivered, as it would have been alone).
import type { KubeApi } from './kubeApi';
import type { LiveInventory, SecretScope } from './inventory';
import { INVENTORY_PAGE_SIZE, liveInventories } from './inventory';
import type { NamespaceFilter } from './namespaces';

/** Events one round serves at most (the rest wait for the next): bounds what one round holds. */
export const MAX_EVENTS_PER_ROUND = 100;

type Discover = (
  api: KubeApi,
  filter: NamespaceFilter,
  scopes: readonly SecretScope[],
  pageSize: number,
) => Promise<LiveInventory[]>;

interface Waiting {
  readonly scope: SecretScope;
  readonly resolve: (inventory: LiveInventory) => void;
  readonly reject: (error: unknown) => void;
}

/** One cluster's (and namespace filter's) rounds: the events waiting, and whether a round is listing. */
class Rounds {
  private readonly waiting: Waiting[] = [];
  private listing = false;

  constructor(private readonly run: (scopes: readonly SecretScope[]) => Promise<LiveInventory[]>) {}

  inventory(scope: SecretScope): Promise<LiveInventory> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ scope, resolve, reject });
      if (!this.listing) this.startSoon();
    });
  }

  /** On the next turn of the event loop, so that deliveries arriving together join one round. */
  private startSoon(): void {
    this.listing = true;
    setImmediate(() => void this.round());
  }

  private async round(): Promise<void> {
    const served = this.waiting.splice(0, MAX_EVENTS_PER_ROUND);
    try {
      const inventories = await this.run(served.map((w) => w.scope));
      served.forEach((w, i) => {
        const inventory = inventories[i];
        if (inventory) w.resolve(inventory);
        else w.reject(new Error('shared discovery: a round returned fewer inventories than it served'));
      });
    } catch (e) {
      for (const w of served) w.reject(e);
    } finally {
      this.listing = false;
      if (this.waiting.length > 0) this.startSoon();
    }
  }
}

/** The rounds of each cluster connection an instance holds (its pool reuses them across events). */
export class SharedDiscovery {
  private readonly rounds = new WeakMap<KubeApi, Map<string, Rounds>>();

  constructor(
    private readonly discover: Discover = liveInventories,
    private readonly pageSize: number = INVENTORY_PAGE_SIZE,
  ) {}

  /** What liveInventory(api, filter, scope) returns, from a round shared with concurrent events. */
  inventory(api: KubeApi, filter: NamespaceFilter, scope: SecretScope): Promise<LiveInventory> {
    let byFilter = this.rounds.get(api);
    if (!byFilter) {
      byFilter = new Map();
      this.rounds.set(api, byFilter);
    }
    const key = JSON.stringify([filter.allow ?? null, filter.deny ?? null]);
    let rounds = byFilter.get(key);
    if (!rounds) {
      rounds = new Rounds((scopes) => this.discover(api, filter, scopes, this.pageSize));
      byFilter.set(key, rounds);
    }
    return rounds.inventory(scope);
  }
}

/** This instance's: every event it handles shares it. */
export const sharedDiscovery = new SharedDiscovery();
