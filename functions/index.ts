// The functions-framework entry points (gen2 Cloud Functions, CloudEvent signature):
//   onSecretEvent  Secret Manager notification → restart / reload / wait per dependent workload
//   onClusterEvent one cluster of a fanned-out event (ROTOR_FANOUT_TOPIC) → the same, in that cluster
//   rotateSecret   Cloud Scheduler tick or SECRET_ROTATE → a new secret version via a strategy
// Both are in one bundle, deployed as two functions. Each function's code (and its clients:
// Kubernetes, Pub/Sub, Secret Manager) is loaded for the function the instance serves only: at
// cold start when the runtime names it (FUNCTION_TARGET, the deployed entry point, which the
// framework reads too), so the instance pays the load before its first request and not inside it,
// and its memory at rest is what it holds while serving; otherwise (another host of this module) on
// the first invocation.
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type * as OnSecretEventTypes from './onSecretEvent';
import type * as RotateSecretTypes from './rotation/rotateSecretFunction';

type OnSecretEventModule = typeof OnSecretEventTypes;
type RotateSecretModule = typeof RotateSecretTypes;
const loadOnSecretEvent = (): Promise<OnSecretEventModule> => import('./onSecretEvent');
const loadRotateSecret = (): Promise<RotateSecretModule> => import('./rotation/rotateSecretFunction');

/** Starts loading now; a failure surfaces in the invocation that awaits it, not as an unhandled rejection. */
function early<T>(load: () => Promise<T>): Promise<T> {
  const p = load();
  p.catch(() => undefined);
  return p;
}

const target = process.env.FUNCTION_TARGET;
const eager = {
  onSecretEvent: target === 'onSecretEvent' ? early(loadOnSecretEvent) : undefined,
  rotateSecret: target === 'rotateSecret' ? early(loadRotateSecret) : undefined,
};

export async function onSecretEvent(event: CloudEvent<unknown>): Promise<void> {
  return (await (eager.onSecretEvent ?? loadOnSecretEvent())).onSecretEvent(event);
}

export async function onClusterEvent(event: CloudEvent<unknown>): Promise<void> {
  return (await import('./onClusterEvent')).onClusterEvent(event);
}

export async function rotateSecret(event: CloudEvent<unknown>): Promise<void> {
  return (await (eager.rotateSecret ?? loadRotateSecret())).rotateSecret(event);
}

functions.cloudEvent('onSecretEvent', onSecretEvent);
functions.cloudEvent('onClusterEvent', onClusterEvent);
functions.cloudEvent('rotateSecret', rotateSecret);
