// Maps the project NUMBER of a notification to its id through Resource Manager (v3 projects.get)
// when ROTOR_PROJECT_MAP does not know it, once per number per instance. Without the id, the
// event's secret matches no manifest that names its project by id, and Rotor would silently act on
// nothing. Only a definite answer (403: denied or no such project; 404) lets the event go on
// without the mapping, with a WARNING naming the number; anything that may pass (5xx, 429, a
// timeout, a network error) is thrown, uncached, so Pub/Sub redelivers the event.
import type { TokenSource } from './cluster/access';
import { isUnmappedNumber, projectIdFromProjectsGet } from './core/projectNumber';
import type { ProjectMap } from './core/secretName';
import { TransientError, errorMessage, isTransient } from './errors';
import type { Logger } from './log';

/**
 * The id of project NUMBER; throws when it cannot be had: a ProjectLookupRefused when Resource
 * Manager definitely says no, anything else when a retry may succeed (errors.ts: isTransient).
 */
export type ProjectIdSource = (number: string) => Promise<string>;

/** Resource Manager answered 403 or 404 for the number: asking again will not change that. */
export class ProjectLookupRefused extends Error {
  override readonly name = 'ProjectLookupRefused';
  /** Read by isTransient (errors.ts), the one classification. */
  readonly transient = false;
}

/** The HTTP statuses that are a definite answer; every other failure may pass. */
const DEFINITE_REFUSALS: ReadonlySet<number> = new Set([403, 404]);

/** projects.get on Resource Manager v3 (`GET {base}/v3/projects/NUMBER`). */
export function resourceManagerProjectIds(
  tokens: TokenSource,
  base = 'https://cloudresourcemanager.googleapis.com',
  timeoutMs = 10_000,
): ProjectIdSource {
  const root = base.replace(/\/$/, '');
  return async (number) => {
    const authorization = `Bearer ${await tokens()}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${root}/v3/projects/${number}`, {
        headers: { Authorization: authorization, Accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      // A timeout (the signal covers the body too) or a network error: worth another delivery.
      throw new TransientError(`Resource Manager projects.get: ${errorMessage(e)}`, { cause: e });
    }
    if (!res.ok) {
      // 403 is also what Google answers for a project that does not exist.
      const hint =
        res.status === 403 ? ' (grant resourcemanager.projects.get on it, e.g. roles/browser)' : '';
      const message = `Resource Manager projects.get: HTTP ${res.status}${hint}: ${googleError(text)}`;
      throw DEFINITE_REFUSALS.has(res.status)
        ? new ProjectLookupRefused(message)
        : new TransientError(message);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('Resource Manager projects.get: the answer is not JSON');
    }
    return projectIdFromProjectsGet(number, body);
  };
}

/**
 * Adds the id of an unmapped project number to `projects` (which every later comparison uses).
 * A number is asked for once per instance. After a definite refusal it is asked again at most
 * every `retryAfterMs`, and each event meanwhile gets the warning and goes on without the mapping;
 * a failure that may pass is thrown (TransientError) and not remembered: the event's redelivery
 * asks again, and no other event of the project is acked on the strength of it.
 */
export class ProjectNumberResolver {
  private readonly failures = new Map<string, { at: number; why: string }>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly projects: ProjectMap,
    private readonly source: ProjectIdSource,
    private readonly options: { retryAfterMs?: number; now?: () => number } = {},
  ) {}

  async resolve(project: string, log: Logger): Promise<void> {
    if (!isUnmappedNumber(project, this.projects)) return;
    const now = this.options.now?.() ?? Date.now();
    const failed = this.failures.get(project);
    if (failed && now - failed.at < (this.options.retryAfterMs ?? 5 * 60_000)) {
      this.warn(log, project, failed.why);
      return;
    }
    let pending = this.inFlight.get(project);
    if (!pending) {
      pending = this.lookup(project, now).finally(() => this.inFlight.delete(project));
      this.inFlight.set(project, pending);
    }
    await pending;
    const why = this.failures.get(project);
    if (why && isUnmappedNumber(project, this.projects)) this.warn(log, project, why.why);
  }

  private async lookup(number: string, now: number): Promise<void> {
    try {
      const id = await this.source(number);
      this.projects.add(id, number);
      this.failures.delete(number);
    } catch (e) {
      if (isTransient(e))
        throw new TransientError(
          `project number ${number} could not be mapped to its id yet (${errorMessage(e)}): Pub/Sub will redeliver`,
          { cause: e },
        );
      this.failures.set(number, { at: now, why: errorMessage(e) });
    }
  }

  private warn(log: Logger, number: string, why: string): void {
    log.warn(
      `project number ${number} is not in ROTOR_PROJECT_MAP and Resource Manager could not map it (${why}): ` +
        `workloads that name the project by id are not matched; add its id to ROTOR_PROJECT_MAP (ID=${number})`,
      { projectNumber: number },
    );
  }
}

/** `PERMISSION_DENIED: Permission ... denied` from a Google JSON error body; else the body's start. */
function googleError(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: { status?: unknown; message?: unknown } }).error;
    if (typeof e?.status === 'string' && typeof e.message === 'string') return `${e.status}: ${e.message}`;
  } catch {
    // not JSON: shown as it is
  }
  return text.slice(0, 300);
}
