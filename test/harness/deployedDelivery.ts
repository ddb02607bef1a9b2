// The delivery Terraform deploys, read from the module's defaults (terraform/modules/rotor), so the
// demo, the e2e tests and the bench run Rotor as deployed without copying its numbers: the push
// subscription's fixed backoff (retry_backoff_seconds), the ack deadline, and the in-delivery budget
// onSecretEvent gets from its timeout (budget.tf: timeout - max(30, ceil(timeout / 5))).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './controlPlane';

export interface DeployedDelivery {
  /** retry_backoff_seconds: both backoff bounds of the push subscription. */
  readonly retryBackoffSeconds: number;
  /** event_function.timeout_seconds. */
  readonly timeoutSeconds: number;
  /** ROTOR_DELIVERY_BUDGET_SECONDS as budget.tf derives it from the timeout. */
  readonly budgetSeconds: number;
  /** The push subscription's ack deadline: min(600, timeout + 30) (delivery.tf). */
  readonly ackDeadlineSeconds: number;
}

export function deployedDelivery(
  variablesTf = join(REPO_ROOT, 'terraform', 'modules', 'rotor', 'variables.tf'),
): DeployedDelivery {
  const text = readFileSync(variablesTf, 'utf8');
  const backoff = /variable "retry_backoff_seconds" \{[^}]*?default\s*=\s*([0-9]+)/s.exec(text)?.[1];
  const timeout = /variable "event_function" \{.*?timeout_seconds\s*=\s*optional\(number,\s*([0-9]+)\)/s.exec(
    text,
  )?.[1];
  if (!backoff || !timeout)
    throw new Error(
      `${variablesTf}: retry_backoff_seconds or event_function.timeout_seconds default not found`,
    );
  const timeoutSeconds = Number(timeout);
  return {
    retryBackoffSeconds: Number(backoff),
    timeoutSeconds,
    budgetSeconds: Math.max(0, timeoutSeconds - Math.max(30, Math.ceil(timeoutSeconds / 5))),
    ackDeadlineSeconds: Math.min(600, timeoutSeconds + 30),
  };
}
