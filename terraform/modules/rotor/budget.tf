# The delivery budget. A delivery converges the event itself (functions/core/converge.ts): after
# acting it waits, on watches of what it waits for, and acts on each next step as soon as it can,
# until the event is done or its budget runs out, safely inside the function's timeout:
#
#   delivery_budget_seconds = timeout_seconds - max(30, ceil(timeout_seconds / 5))
#
# (the margin covers the last pass, its report and the continuation's publish). Work still pending
# then is continued: a delivery that made progress publishes a continuation of the event (same
# topic, next step) and is acked, so it never uses up an attempt; only a delivery that made no
# progress throws and counts towards max_delivery_attempts. A healthy event goes without progress
# at most as long as its longest single wait: a sync (max_wait_seconds, then it gives up), one
# rollout (rollout_timeout_seconds, then it halts), or a restart held for the other secrets of its
# group (group_wait_seconds after the event, then it restarts without them; max_wait_seconds does
# not cut it short: core/secretGroups.ts). Each delivery without progress lasts its whole budget,
# and Pub/Sub waits retry_backoff_seconds before the next, so:
#
#   longest stretch without progress = max(max_wait_seconds, rollout_timeout_seconds, group_wait_seconds)
#   max_delivery_attempts = max(5, ceil(longest stretch / (delivery_budget + retry_backoff)) + 1)
#
# (the +1 is the delivery that sees the progress; Pub/Sub's floor is 5). The number of waves and
# dependents no longer enters: a rollout of any size continues for as long as it progresses. Both
# backoff bounds are set to retry_backoff_seconds, so the gaps are known.

locals {
  delivery_budget_seconds = {
    for name, settings in { events = var.event_function, clusters = var.cluster_function } :
    name => max(0, settings.timeout_seconds - max(30, ceil(settings.timeout_seconds / 5)))
  }
  # Both subscriptions get the attempts of the shorter budget (the one that needs more attempts).
  shortest_delivery_budget_seconds = local.fan_out ? min(values(local.delivery_budget_seconds)...) : local.delivery_budget_seconds.events

  longest_stretch_without_progress_seconds = max(var.max_wait_seconds, var.rollout_timeout_seconds, var.group_wait_seconds)
  needed_delivery_attempts                 = ceil(local.longest_stretch_without_progress_seconds / (local.shortest_delivery_budget_seconds + var.retry_backoff_seconds)) + 1
  max_delivery_attempts                    = max(5, local.needed_delivery_attempts)

  # The bounds the attempts were derived from, given to the functions so they act within them.
  # Caller-supplied environment_variables are merged after these and could override them; the
  # precondition below only holds for these values.
  budget_environment = {
    ROTOR_MAX_WAIT_SECONDS        = tostring(var.max_wait_seconds)
    ROTOR_ROLLOUT_TIMEOUT_SECONDS = tostring(var.rollout_timeout_seconds)
    ROTOR_WAVE_SIZE               = tostring(var.wave_size)
    ROTOR_GROUP_WAIT_SECONDS      = tostring(var.group_wait_seconds)
  }
}

# Fails `terraform plan` when no subscription Pub/Sub allows can carry the longest stretch without
# progress (at most 100 attempts).
resource "terraform_data" "delivery_budget" {
  input = {
    delivery_budget_seconds                  = local.delivery_budget_seconds
    longest_stretch_without_progress_seconds = local.longest_stretch_without_progress_seconds
    max_delivery_attempts                    = local.max_delivery_attempts
    retry_backoff_seconds                    = var.retry_backoff_seconds
  }

  lifecycle {
    precondition {
      condition     = local.needed_delivery_attempts <= 100
      error_message = "The redelivery budget cannot cover the longest wait without progress: max(max_wait_seconds (${var.max_wait_seconds}), rollout_timeout_seconds (${var.rollout_timeout_seconds}), group_wait_seconds (${var.group_wait_seconds})) = ${local.longest_stretch_without_progress_seconds} s needs ${local.needed_delivery_attempts} delivery attempts of ${local.shortest_delivery_budget_seconds} s (the delivery budget, from the functions' timeout_seconds) + ${var.retry_backoff_seconds} s (retry_backoff_seconds), and Pub/Sub allows at most 100. Raise timeout_seconds or retry_backoff_seconds, or lower max_wait_seconds, rollout_timeout_seconds or group_wait_seconds."
    }
  }
}

# The reload waits that max_wait_seconds cuts short. A reload of a CSI volume whose driver writes
# no SecretProviderClassPodStatus waits csi_rotation_interval_seconds after the event
# (core/csiRotation.ts), and one of a synced Secret read as a volume 1.5 x kubelet_sync_seconds + 5 s
# after the sync (core/kubeletProjection.ts); a wait is given up max_wait_seconds after it started
# (core/liveDecision.ts), so a longer one makes every such reload give up. This is a warning, not a
# refusal: Terraform cannot see whether the clusters have such reloads at all, and a fleet without
# them may well run max_wait_seconds = 60 with the default 120 s interval. group_wait_seconds is not
# checked here: max_wait_seconds does not cut a group's wait short, and its length is in the
# redelivery budget above.
locals {
  # The least each such reload waits (s), and the settings whose wait max_wait_seconds cuts short.
  reload_wait_seconds = {
    csi_rotation_interval_seconds = var.csi_rotation_interval_seconds
    kubelet_sync_seconds          = 1.5 * var.kubelet_sync_seconds + 5
  }
  reload_waits_cut_short = sort([for name, seconds in local.reload_wait_seconds : name if seconds > var.max_wait_seconds])
}

check "reload_waits_fit_max_wait" {
  assert {
    condition     = !contains(local.reload_waits_cut_short, "csi_rotation_interval_seconds")
    error_message = "csi_rotation_interval_seconds (${var.csi_rotation_interval_seconds}) is longer than max_wait_seconds (${var.max_wait_seconds}): a reload of a CSI volume whose driver writes no SecretProviderClassPodStatus waits the rotation interval after the event, so every such reload will give up. Raise max_wait_seconds to at least ${var.csi_rotation_interval_seconds}."
  }
  assert {
    condition     = !contains(local.reload_waits_cut_short, "kubelet_sync_seconds")
    error_message = "1.5 x kubelet_sync_seconds (${var.kubelet_sync_seconds}) + 5 = ${local.reload_wait_seconds.kubelet_sync_seconds} s is longer than max_wait_seconds (${var.max_wait_seconds}): a reload of a synced Secret read as a volume waits that long after the sync, so every such reload will give up. Raise max_wait_seconds to at least ${ceil(local.reload_wait_seconds.kubelet_sync_seconds)}."
  }
}
