// Maps the project NUMBER of a notification to its id through Resource Manager (v3 projects.get)
// when ROTOR_PROJECT_MAP does not know it, once per number per instance. Without the id, the
// event's secret matches no manifest that names its project by id, and Rotor would silently act on
// nothing; when the lookup is denied or fails, it says so in a WARNING naming the number, then
// goes on without the mapping.
import type { TokenSource } from './cluster/access';
import { isUnmappedNumber, projectIdFromProjectsGet } from './core/projectNumber';
import type { ProjectMap } from './core/secretName';
import { errorMessage } from './errors';
import type { Logger } from './log';

/** The id of project NUMBER; throws when it cannot be had. */
export type ProjectIdSource = (number: string) => Promise<string>;

/** projects.get on Resource Manager v3 (`GET {base}/v3/projects/NUMBER`). */
export function resourceManagerProjectIds(
  tokens: TokenSource,
  base = 'https://cloudresourcemanager.googleapis.com',
  timeoutMs = 10_000,
): ProjectIdSource {
  const root = base.replace(/\/$/, '');
  return async (number) => {
    const res = await fetch(`${root}/v3/projects/${number}`, {
      headers: { Authorization: `Bearer ${await tokens()}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) {
      // 403 is also what Google answers for a project that does not exist.
      const hint =
        res.status === 403 ? ' (grant resourcemanager.projects.get on it, e.g. roles/browser)' : '';
      throw new Error(`Resource Manager projects.get: HTTP ${res.status}${hint}: ${googleError(text)}`);
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
 * A number is asked for once per instance; after a failure it is asked again at most every
 * `retryAfterMs`, and each event meanwhile gets the warning.
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
