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
    budgetSeconds: budgetOf(timeoutSeconds),
    ackDeadlineSeconds: ackDeadlineOf(timeoutSeconds),
  };
}

/** budget.tf: the delivery budget of a function with this timeout. */
function budgetOf(timeoutSeconds: number): number {
  return Math.max(0, timeoutSeconds - Math.max(30, Math.ceil(timeoutSeconds / 5)));
}

/** delivery.tf: the push subscription's ack deadline for a function with this timeout. */
function ackDeadlineOf(timeoutSeconds: number): number {
  return Math.min(600, timeoutSeconds + 30);
}

/** The function timeout Terraform needs for `budgetSeconds` of delivery budget (budget.tf, inverted). */
export function timeoutForBudget(budgetSeconds: number): number {
  for (let timeout = budgetSeconds; timeout <= 3600; timeout++)
    if (budgetOf(timeout) >= budgetSeconds) return timeout;
  throw new Error(`no function timeout up to 3600 s gives a ${budgetSeconds} s delivery budget`);
}

/**
 * The push subscription's ack deadline as Terraform sets it for a function with `budgetSeconds` of
 * budget (delivery.tf: min(600, timeout + 30)). A shorter deadline makes the emulator redeliver a
 * message while its first delivery is still spending the budget: two deliveries of one event at
 * once, as production never has.
 */
export function ackDeadlineForBudget(budgetSeconds: number): number {
  return ackDeadlineOf(timeoutForBudget(budgetSeconds));
}
