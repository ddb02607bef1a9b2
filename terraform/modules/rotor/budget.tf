# The redelivery budget. A gated rollout is a reconcile loop over redeliveries: every `wait` and every
# rollout still in progress throws, and Pub/Sub brings the message back after the backoff. The
# message is dead-lettered after max_delivery_attempts, so the attempts must outlast the longest
# healthy rollout, or a fleet that is rolling out fine ends in the dead-letter topic:
#
#   longest healthy event = max_waves * rollout_timeout_seconds + max_wait_seconds
#   max_delivery_attempts = max(5, ceil(longest / retry_backoff_seconds) + 1)
#
# (A attempts leave A - 1 backoffs between them; Pub/Sub's floor is 5.) Both backoff bounds are set
# to retry_backoff_seconds: with an exponential range the gaps would be unknown, and the lower bound
# alone would make the budget needlessly large. Delivery is best effort and each attempt's own run
# time only adds to the budget, so the formula is a lower bound of what a message really gets.

locals {
  longest_healthy_event_seconds = var.max_waves * var.rollout_timeout_seconds + var.max_wait_seconds
  needed_delivery_attempts      = ceil(local.longest_healthy_event_seconds / var.retry_backoff_seconds) + 1
  max_delivery_attempts         = max(5, local.needed_delivery_attempts)

  # The bounds the budget was derived from, given to the functions so they act within them.
  # Caller-supplied environment_variables are merged after these and could override them; the
  # precondition below only holds for these values.
  budget_environment = {
    ROTOR_MAX_WAIT_SECONDS        = tostring(var.max_wait_seconds)
    ROTOR_ROLLOUT_TIMEOUT_SECONDS = tostring(var.rollout_timeout_seconds)
    ROTOR_WAVE_SIZE               = tostring(var.wave_size)
  }
}

# Fails `terraform plan` when no subscription Pub/Sub allows can carry the rollout (at most 100
# attempts of at most 600 s each, about 16.5 hours).
resource "terraform_data" "delivery_budget" {
  input = {
    longest_healthy_event_seconds = local.longest_healthy_event_seconds
    max_delivery_attempts         = local.max_delivery_attempts
    retry_backoff_seconds         = var.retry_backoff_seconds
  }

  lifecycle {
    precondition {
      condition     = local.needed_delivery_attempts <= 100
      error_message = "The redelivery budget cannot cover the longest healthy rollout: max_waves (${var.max_waves}) x rollout_timeout_seconds (${var.rollout_timeout_seconds}) + max_wait_seconds (${var.max_wait_seconds}) = ${local.longest_healthy_event_seconds} s needs ${local.needed_delivery_attempts} delivery attempts at retry_backoff_seconds = ${var.retry_backoff_seconds}, and Pub/Sub allows at most 100 (100 x 600 s covers 59400 s). Raise retry_backoff_seconds (up to 600), or lower max_waves (larger wave_size), rollout_timeout_seconds or max_wait_seconds."
    }
  }
}
