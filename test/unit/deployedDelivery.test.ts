// The delivery the tests and the demo run as deployed, derived from Terraform's defaults and
// formulas (budget.tf, delivery.tf): expected values worked out by hand from those formulas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ackDeadlineForBudget, deployedDelivery, timeoutForBudget } from '../harness/deployedDelivery';

describe('the delivery as Terraform deploys it', () => {
  it('reads the module defaults: 60 s backoff, a 300 s timeout, 240 s of budget, a 330 s ack deadline', () => {
    assert.deepEqual(deployedDelivery(), {
      retryBackoffSeconds: 60,
      timeoutSeconds: 300,
      budgetSeconds: 240,
      ackDeadlineSeconds: 330,
    });
  });

  it('the timeout a budget needs: budget + 30 s up to 150 s of timeout, then budget × 5/4', () => {
    assert.equal(timeoutForBudget(60), 90);
    assert.equal(timeoutForBudget(90), 120);
    assert.equal(timeoutForBudget(120), 150);
    assert.equal(timeoutForBudget(200), 250);
    assert.equal(timeoutForBudget(201), 252);
  });

  it('the ack deadline outlasts the delivery (timeout + 30 s), at most Pub/Sub’s 600 s', () => {
    assert.equal(ackDeadlineForBudget(60), 120);
    assert.equal(ackDeadlineForBudget(90), 150);
    assert.equal(ackDeadlineForBudget(500), 600);
  });
});
