// Whether a workload's rollout after Rotor's action has finished, is still going, or has failed:
// the controller's own status (workloadKinds.ts, the rules of `kubectl rollout status`), the pods
// of the new revision (a crashlooping container fails long before ProgressDeadlineExceeded), and a
// bound on how long Rotor waits for Available after its restart. Pure.
import type { KubeObject } from './kube';
import { asArray, isObject, str } from './kube';
import { workloadKindOf } from './workloadKinds';

export type RolloutHealth =
  | { readonly health: 'done' }
  | { readonly health: 'progressing'; readonly detail: string }
  /** The rollout cannot finish by itself: a person must look (reasons name pods and causes). */
  | { readonly health: 'failed'; readonly reasons: readonly [string, ...string[]] }
  /** The controller does not roll on a template change (OnDelete): Rotor cannot finish it. */
  | { readonly health: 'manual'; readonly detail: string };

/**
 * Container states that a new revision does not recover from without a person: a crash loop, an
 * image that cannot be pulled, a container that exited with an error, or a container the kubelet
 * cannot even create (a Secret key the new version lacks).
 */
const FAILING_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** Why each failing container of `pod` fails ("web-7c9 app: CrashLoopBackOff (4 restarts)"). */
export function podFailureReasons(pod: KubeObject): string[] {
  if ((pod.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp) return [];
  const status = isObject(pod.status) ? pod.status : {};
  const name = pod.metadata?.name ?? '<unnamed>';
  const reasons: string[] = [];
  for (const c of [...asArray(status.initContainerStatuses), ...asArray(status.containerStatuses)]) {
    if (!isObject(c) || !isObject(c.state)) continue;
    const container = str(c.name) ?? '<unnamed>';
    const restarts =
      typeof c.restartCount === 'number' && c.restartCount > 0 ? ` (${c.restartCount} restarts)` : '';
    const waiting = isObject(c.state.waiting) ? str(c.state.waiting.reason) : undefined;
    const terminated = isObject(c.state.terminated) ? c.state.terminated : undefined;
    if (waiting && FAILING_WAITING.has(waiting)) reasons.push(`${name} ${container}: ${waiting}${restarts}`);
    else if (terminated && terminated.reason === 'Error')
      reasons.push(
        `${name} ${container}: Error (exit code ${typeof terminated.exitCode === 'number' ? terminated.exitCode : '?'})${restarts}`,
      );
  }
  return reasons;
}

export interface HealthInputs {
  /** The workload's own pods (any revision; the current revision's are picked here). */
  readonly pods: readonly KubeObject[];
  /** When Rotor acted (its restart marker, or the time rotor.dev/applied-by records), if known. */
  readonly actedAt?: string;
  readonly now: number;
  /** Not Available this long after the restart: failed (ms). */
  readonly timeoutMs: number;
}

export function rolloutHealth(workload: KubeObject, live: HealthInputs): RolloutHealth {
  const kind = workloadKindOf(workload);
  if (!kind) return { health: 'done' };
  const progress = kind.rollout(workload);
  if (progress.state === 'done') return { health: 'done' };
  if (progress.state === 'manual') return { health: 'manual', detail: progress.detail };
  const kindName = kind.kind;
  const podReasons = live.pods
    .filter((p) => kind.currentRevisionPod(workload, p))
    .flatMap((p) => podFailureReasons(p));
  if (progress.state === 'failed') return { health: 'failed', reasons: [progress.detail, ...podReasons] };
  const [first, ...rest] = podReasons;
  if (first !== undefined) return { health: 'failed', reasons: [first, ...rest] };
  const started = live.actedAt ? Date.parse(live.actedAt) : NaN;
  if (Number.isFinite(started) && live.now - started > live.timeoutMs)
    return {
      health: 'failed',
      reasons: [
        `the ${kindName} was not Available ${Math.round(live.timeoutMs / 1000)}s after Rotor acted at ${live.actedAt ?? ''} (${progress.detail})`,
      ],
    };
  return { health: 'progressing', detail: progress.detail };
}
