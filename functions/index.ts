// The functions-framework entry points (gen2 Cloud Functions, CloudEvent signature):
//   onSecretEvent  Secret Manager notification → restart / reload / wait per dependent workload
//   onClusterEvent one cluster of a fanned-out event (ROTOR_FANOUT_TOPIC) → the same, in that cluster
//   rotateSecret   Cloud Scheduler tick or SECRET_ROTATE → a new secret version via a strategy
// Each function's code (and its clients: Kubernetes, Pub/Sub, Secret Manager) loads on its first
// invocation, so a cold start pays only for the function that is actually deployed and called.
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';

export async function onSecretEvent(event: CloudEvent<unknown>): Promise<void> {
  return (await import('./onSecretEvent')).onSecretEvent(event);
}

export async function onClusterEvent(event: CloudEvent<unknown>): Promise<void> {
  return (await import('./onClusterEvent')).onClusterEvent(event);
}

export async function rotateSecret(event: CloudEvent<unknown>): Promise<void> {
  return (await import('./rotation/rotateSecretFunction')).rotateSecret(event);
}

functions.cloudEvent('onSecretEvent', onSecretEvent);
functions.cloudEvent('onClusterEvent', onClusterEvent);
functions.cloudEvent('rotateSecret', rotateSecret);
