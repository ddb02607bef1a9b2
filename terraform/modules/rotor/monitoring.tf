# Cloud Monitoring: log-based metrics built on Rotor's structured logs, alert policies and a
# dashboard (var.enable_monitoring). The JSON paths below are the log contract pinned by
# test/unit/outcomeLog.test.ts:
#   onSecretEvent, one line per workload:  jsonPayload.workload.{result,action,kind,cluster,namespace,name}
#   onSecretEvent, one summary per event:  jsonPayload.outcome.{converged,pending,durationMs,convergedAfterMs,secret}
#   rotateSecret, one line per secret:     jsonPayload.{secret,outcome,retry}
# Every function adds jsonPayload.component (its entry point) to every line; onClusterEvent (fan-out)
# writes onSecretEvent's lines for one cluster, and the event metrics count both.
# Cloud Logging cannot delete a metric's label or change its type once created: add, never rename.

locals {
  monitoring = var.enable_monitoring ? 1 : 0

  # Gen2 functions run as Cloud Run services of the same name; their stdout JSON lines become
  # entries of the service's revisions with the object as jsonPayload. Naming the service keeps a
  # second Rotor installation (another name_prefix) in the same project out of these metrics.
  # With fan-out, a cluster's work is logged by onClusterEvent, in the same fields: both count.
  event_function_logs = (local.fan_out
    ? "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(\"${local.functions.events.name}\" OR \"${local.all_functions.clusters.name}\") AND jsonPayload.component=(\"onSecretEvent\" OR \"onClusterEvent\")"
    : "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.functions.events.name}\" AND jsonPayload.component=\"onSecretEvent\""
  )
  rotation_function_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.functions.rotation.name}\" AND jsonPayload.component=\"rotateSecret\""

  # Per-workload results that need a person: the rollout broke (halted), the new version never
  # became visible (gave-up), or acting failed in a way a retry cannot fix (failed). A transient
  # failure is also logged as `failed`, with this reason prefix (functions/pipeline/reconcile.ts):
  # Pub/Sub redelivers it, and if it never clears the message ends in the dead letters, which alert.
  alerting_results = ["halted", "gave-up", "failed"]
  transient_reason = "^transient failure, will retry"

  outcome_filter           = "${local.event_function_logs} AND jsonPayload.workload.result:*"
  alerting_outcome_filter  = "${local.event_function_logs} AND (${join(" OR ", [for r in local.alerting_results : "jsonPayload.workload.result=\"${r}\""])}) AND NOT jsonPayload.workload.reason=~\"${local.transient_reason}\""
  latency_filter           = "${local.event_function_logs} AND jsonPayload.outcome.convergedAfterMs:*"
  rotation_failure_filter  = "${local.rotation_function_logs} AND jsonPayload.secret:* AND (jsonPayload.outcome=\"failed\" OR jsonPayload.outcome=\"abandoned\")"
  rotation_alerting_filter = "${local.rotation_failure_filter} AND severity>=ERROR"
  # Rolling back (docs/rotation.md): a halt that asked for a rollback (onSecretEvent's summary line),
  # or a rollback rotateSecret refused (the way back was retired: a person decides).
  rolled_back_filter      = "${local.event_function_logs} AND jsonPayload.outcome.onHalt.response=\"rolled-back\""
  rollback_refused_filter = "${local.rotation_function_logs} AND jsonPayload.secret:* AND jsonPayload.outcome=\"refused\""

  metric_names = {
    outcomes          = "${var.name_prefix}-outcomes"
    latency           = "${var.name_prefix}-event-to-converged"
    rotation_failures = "${var.name_prefix}-rotation-failures"
  }
  metric_types = { for k, n in local.metric_names : k => "logging.googleapis.com/user/${n}" }

  dead_letter_backlog_filter = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letters.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
}

# --- Log-based metrics --------------------------------------------------------------------------------

# One point per workload result: restarted, reloaded, recorded, unchanged, skipped, waiting, gave-up,
# failed, dry-run, halted. A waiting workload is counted on every delivery that finds it waiting.
resource "google_logging_metric" "outcomes" {
  count = local.monitoring

  project     = var.project_id
  name        = local.metric_names.outcomes
  description = "Rotor: per-workload results of onSecretEvent, by result, action, kind and cluster."
  filter      = local.outcome_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Rotor workload outcomes"

    labels {
      key         = "result"
      value_type  = "STRING"
      description = "restarted, reloaded, recorded, unchanged, skipped, waiting, gave-up, failed, dry-run or halted."
    }
    labels {
      key         = "action"
      value_type  = "STRING"
      description = "The decision: restart, reload, none or wait."
    }
    labels {
      key         = "kind"
      value_type  = "STRING"
      description = "Workload kind (Deployment, StatefulSet, ...)."
    }
    labels {
      key         = "cluster"
      value_type  = "STRING"
      description = "The cluster, as configured in ROTOR_CLUSTERS."
    }
  }

  label_extractors = {
    result  = "EXTRACT(jsonPayload.workload.result)"
    action  = "EXTRACT(jsonPayload.workload.action)"
    kind    = "EXTRACT(jsonPayload.workload.kind)"
    cluster = "EXTRACT(jsonPayload.workload.cluster)"
  }

  depends_on = [google_project_service.apis]
}

# From the event (Secret Manager's event time) to the delivery on which every dependent was done:
# one value per converged event, waits and Pub/Sub redeliveries included.
resource "google_logging_metric" "event_to_converged" {
  count = local.monitoring

  project     = var.project_id
  name        = local.metric_names.latency
  description = "Rotor: time from a Secret Manager event to onSecretEvent converging on it (ms)."
  filter      = local.latency_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "Rotor event-to-converged latency"

    labels {
      key         = "event_type"
      value_type  = "STRING"
      description = "SECRET_VERSION_ADD, SECRET_VERSION_ENABLE, ..."
    }
  }

  value_extractor  = "EXTRACT(jsonPayload.outcome.convergedAfterMs)"
  label_extractors = { event_type = "EXTRACT(jsonPayload.eventType)" }

  # 100 ms doubling 20 times (the last finite bound is 100 ms x 2^20, about 29 hours): a restart
  # converges in seconds, a wait for ESO or the CSI driver in minutes, a gated rollout in hours.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 100
    }
  }

  depends_on = [google_project_service.apis]
}

# One point per failed or abandoned rotation of a secret; `retry` says whether Pub/Sub redelivers.
resource "google_logging_metric" "rotation_failures" {
  count = local.monitoring

  project     = var.project_id
  name        = local.metric_names.rotation_failures
  description = "Rotor: rotateSecret rotations that failed or were abandoned, by secret."
  filter      = local.rotation_failure_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Rotor rotation failures"

    labels {
      key         = "secret"
      value_type  = "STRING"
      description = "The secret's full name."
    }
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "failed or abandoned."
    }
    labels {
      key         = "retry"
      value_type  = "BOOL"
      description = "true: a retry can fix it and Pub/Sub redelivers the trigger."
    }
  }

  label_extractors = {
    secret  = "EXTRACT(jsonPayload.secret)"
    outcome = "EXTRACT(jsonPayload.outcome)"
    retry   = "EXTRACT(jsonPayload.retry)"
  }

  depends_on = [google_project_service.apis]
}

# --- Alert policies -----------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "dead_letters" {
  count = local.monitoring

  project               = var.project_id
  display_name          = "Rotor (${var.name_prefix}): dead-lettered messages"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${google_pubsub_subscription.dead_letters.name} has undelivered messages"
    condition_threshold {
      filter          = local.dead_letter_backlog_filter
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      # A dead letter waits until a person pulls and acknowledges it: any backlog is news.
      duration = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Rotor: a message exhausted its delivery attempts"
    content   = <<-EOT
      A Secret Manager event or rotation request was delivered ${local.max_delivery_attempts} times without
      success and now waits in `${google_pubsub_subscription.dead_letters.id}`. Its secret's dependents may
      still run the old version. Look at the message (`gcloud pubsub subscriptions pull
      ${google_pubsub_subscription.dead_letters.name} --project ${var.project_id} --limit 10`), then at
      the function's logs for its message id. See docs/deploy.md, "Monitoring and alerts".
    EOT
  }
}

resource "google_monitoring_alert_policy" "outcomes" {
  count = local.monitoring

  project               = var.project_id
  display_name          = "Rotor (${var.name_prefix}): a workload halted, gave up or failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "onSecretEvent logged a ${join(" / ", local.alerting_results)} outcome"
    condition_matched_log {
      filter = local.alerting_outcome_filter
      label_extractors = {
        result    = "EXTRACT(jsonPayload.workload.result)"
        cluster   = "EXTRACT(jsonPayload.workload.cluster)"
        namespace = "EXTRACT(jsonPayload.workload.namespace)"
        workload  = "EXTRACT(jsonPayload.workload.name)"
      }
    }
  }

  # Log-match conditions notify per matching entry; one notification per 5 minutes is enough for a
  # storm of failures from one event.
  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Rotor: $${log.extracted_label.result} $${log.extracted_label.namespace}/$${log.extracted_label.workload}"
    content   = <<-EOT
      onSecretEvent reported `$${log.extracted_label.result}` for $${log.extracted_label.namespace}/$${log.extracted_label.workload}
      in $${log.extracted_label.cluster}. The log entry's message names the reason. halted: a rollout of
      the new version failed and later waves were not touched; gave-up: the new version never became
      visible to the workload; failed: acting on the workload failed. See docs/deploy.md, "Monitoring and alerts".
    EOT
  }
}

# Beside the halt alert above: a halt rolled back (the canaries recover on the previous value, the
# bad one still needs a person), or a rollback refused (the halt stays).
resource "google_monitoring_alert_policy" "rollbacks" {
  count = local.monitoring

  project               = var.project_id
  display_name          = "Rotor (${var.name_prefix}): a bad value was rolled back, or a rollback refused"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "a halted event asked for a rollback"
    condition_matched_log {
      filter = local.rolled_back_filter
      label_extractors = {
        secret  = "EXTRACT(jsonPayload.outcome.secret)"
        version = "EXTRACT(jsonPayload.outcome.version)"
      }
    }
  }
  conditions {
    display_name = "rotateSecret refused a rollback"
    condition_matched_log {
      filter = local.rollback_refused_filter
      label_extractors = {
        secret = "EXTRACT(jsonPayload.secret)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Rotor: rollback of $${log.extracted_label.secret}"
    content   = <<-EOT
      A rollout of a new version of $${log.extracted_label.secret} failed and the rollback policy
      (on_halt, or the secret's rotor-on-halt) asked rotateSecret to restore the previous value, or
      rotateSecret refused to (its log line says why: the previous value was retired). The bad
      version is still in Secret Manager: find out why it broke before the next rotation. See
      docs/rotation.md, "Rolling back".
    EOT
  }
}

resource "google_monitoring_alert_policy" "rotation_failures" {
  count = local.monitoring

  project               = var.project_id
  display_name          = "Rotor (${var.name_prefix}): a rotation failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "rotateSecret logged a failed or abandoned rotation at ERROR"
    condition_matched_log {
      filter = local.rotation_alerting_filter
      label_extractors = {
        secret  = "EXTRACT(jsonPayload.secret)"
        outcome = "EXTRACT(jsonPayload.outcome)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Rotor: rotation $${log.extracted_label.outcome} for $${log.extracted_label.secret}"
    content   = <<-EOT
      rotateSecret could not rotate $${log.extracted_label.secret} ($${log.extracted_label.outcome}) and a
      retry will not fix it: the secret keeps its current version. Retryable failures are logged at
      WARNING and retried by Pub/Sub; if they persist the trigger ends in the dead letters. See
      docs/deploy.md, "Monitoring and alerts".
    EOT
  }
}

# --- Dashboard ----------------------------------------------------------------------------------------

locals {
  dashboard_tiles = [
    {
      xPos = 0, yPos = 0, width = 24, height = 16
      widget = {
        title = "Workload outcomes by result"
        xyChart = {
          dataSets = [{
            plotType = "STACKED_BAR"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"${local.metric_types.outcomes}\" resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_SUM"
                  crossSeriesReducer = "REDUCE_SUM"
                  groupByFields      = ["metric.label.\"result\""]
                }
              }
            }
          }]
        }
      }
    },
    {
      xPos = 24, yPos = 0, width = 24, height = 16
      widget = {
        title = "Dead-letter backlog (${google_pubsub_subscription.dead_letters.name})"
        xyChart = {
          dataSets = [{
            plotType = "LINE"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = local.dead_letter_backlog_filter
                aggregation = {
                  alignmentPeriod  = "60s"
                  perSeriesAligner = "ALIGN_MAX"
                }
              }
            }
          }]
        }
      }
    },
    {
      xPos = 0, yPos = 16, width = 24, height = 16
      widget = {
        title = "Event to converged (heatmap)"
        xyChart = {
          dataSets = [{
            plotType = "HEATMAP"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"${local.metric_types.latency}\" resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_SUM"
                }
              }
            }
          }]
        }
      }
    },
    {
      xPos = 24, yPos = 16, width = 24, height = 16
      widget = {
        title = "Event to converged: p50, p95, p99"
        xyChart = {
          dataSets = [for p in ["50", "95", "99"] : {
            plotType       = "LINE"
            legendTemplate = "p${p}"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"${local.metric_types.latency}\" resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_PERCENTILE_${p}"
                }
              }
            }
          }]
        }
      }
    },
    {
      xPos = 0, yPos = 32, width = 24, height = 16
      widget = {
        title = "Rotation failures by secret"
        xyChart = {
          dataSets = [{
            plotType = "STACKED_BAR"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"${local.metric_types.rotation_failures}\" resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_SUM"
                  crossSeriesReducer = "REDUCE_SUM"
                  groupByFields      = ["metric.label.\"secret\""]
                }
              }
            }
          }]
        }
      }
    },
    {
      xPos = 24, yPos = 32, width = 24, height = 16
      widget = {
        title = "Rotor warnings and errors"
        logsPanel = {
          filter        = "((${local.event_function_logs}) OR (${local.rotation_function_logs})) AND severity>=WARNING"
          resourceNames = ["projects/${var.project_id}"]
        }
      }
    },
  ]
}

resource "google_monitoring_dashboard" "rotor" {
  count = local.monitoring

  project = var.project_id
  dashboard_json = jsonencode({
    displayName  = "Rotor (${var.name_prefix})"
    mosaicLayout = { columns = 48, tiles = local.dashboard_tiles }
  })

  depends_on = [google_project_service.apis]
}
