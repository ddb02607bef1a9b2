# `terraform test` for monitoring.tf (log-based metrics, alert policies, dashboard), credential-free
# like rotor.tftest.hcl (mocked google provider, real schema). Kept in its own file so the monitoring
# runs read on their own; the provider setup is the same as rotor.tftest.hcl's.
#
# The expected filters are written out by hand: they are the contract between Rotor's structured
# log lines (test/unit/outcomeLog.test.ts) and the metrics, so a change on either side must show here.

mock_provider "google" {
  source = "./tests/mocks/google"
}

variables {
  project_id          = "my-proj-123"
  region              = "europe-west1"
  function_source_zip = "tests/fixtures/function.zip"
  clusters = [
    "projects/my-proj-123/locations/europe-west1/clusters/prod",
    "projects/other-proj-9/locations/europe-west1-b/clusters/edge",
  ]
  secrets = {
    "db-password" = {
      labels             = { "rotor-strategy" = "random" }
      rotation_period    = "2592000s"
      next_rotation_time = "2030-01-01T00:00:00Z"
    }
    "api-token" = {
      replica_locations = ["europe-west1", "europe-west4"]
    }
  }
  rotation_schedules = {
    "weekly" = {
      schedule = "0 3 * * 1"
      secrets  = ["api-token"]
    }
  }
  rotation_read_secrets = ["projects/shared-proj/secrets/pg-admin"]
}

run "metrics_read_rotors_log_lines" {
  command = apply

  assert {
    condition     = google_logging_metric.outcomes[0].name == "rotor-outcomes" && google_logging_metric.event_to_converged[0].name == "rotor-event-to-converged" && google_logging_metric.rotation_failures[0].name == "rotor-rotation-failures"
    error_message = "metric names carry the name_prefix"
  }
  assert {
    condition     = google_logging_metric.outcomes[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-on-secret-event\" AND jsonPayload.component=\"onSecretEvent\" AND jsonPayload.workload.result:*"
    error_message = "the outcome metric must select onSecretEvent's per-workload lines of this installation's function"
  }
  assert {
    condition = google_logging_metric.outcomes[0].label_extractors == tomap({
      result  = "EXTRACT(jsonPayload.workload.result)"
      action  = "EXTRACT(jsonPayload.workload.action)"
      kind    = "EXTRACT(jsonPayload.workload.kind)"
      cluster = "EXTRACT(jsonPayload.workload.cluster)"
    })
    error_message = "the outcome metric's labels must come from jsonPayload.workload"
  }
  assert {
    condition     = google_logging_metric.outcomes[0].metric_descriptor[0].metric_kind == "DELTA" && google_logging_metric.outcomes[0].metric_descriptor[0].value_type == "INT64"
    error_message = "the outcome metric is a counter"
  }
  assert {
    condition     = toset([for l in google_logging_metric.outcomes[0].metric_descriptor[0].labels : l.key]) == toset(["result", "action", "kind", "cluster"])
    error_message = "every extracted label must be declared in the descriptor (and nothing else)"
  }
  assert {
    condition     = google_logging_metric.event_to_converged[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-on-secret-event\" AND jsonPayload.component=\"onSecretEvent\" AND jsonPayload.outcome.convergedAfterMs:*"
    error_message = "the latency metric must select the summary lines that carry convergedAfterMs"
  }
  assert {
    condition     = google_logging_metric.event_to_converged[0].value_extractor == "EXTRACT(jsonPayload.outcome.convergedAfterMs)" && google_logging_metric.event_to_converged[0].label_extractors["event_type"] == "EXTRACT(jsonPayload.eventType)"
    error_message = "the latency metric must read jsonPayload.outcome.convergedAfterMs"
  }
  assert {
    condition     = google_logging_metric.event_to_converged[0].metric_descriptor[0].value_type == "DISTRIBUTION" && google_logging_metric.event_to_converged[0].metric_descriptor[0].metric_kind == "DELTA" && google_logging_metric.event_to_converged[0].metric_descriptor[0].unit == "ms"
    error_message = "the latency metric is a distribution in milliseconds"
  }
  assert {
    condition = (google_logging_metric.event_to_converged[0].bucket_options[0].exponential_buckets[0].scale == 100 &&
      google_logging_metric.event_to_converged[0].bucket_options[0].exponential_buckets[0].growth_factor == 2 &&
    google_logging_metric.event_to_converged[0].bucket_options[0].exponential_buckets[0].num_finite_buckets == 20)
    error_message = "latency buckets: 100 ms doubling 20 times (up to about 29 hours)"
  }
  assert {
    condition     = google_logging_metric.rotation_failures[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-rotate-secret\" AND jsonPayload.component=\"rotateSecret\" AND jsonPayload.secret:* AND (jsonPayload.outcome=\"failed\" OR jsonPayload.outcome=\"abandoned\")"
    error_message = "the rotation-failure metric must select rotateSecret's per-secret failed and abandoned lines"
  }
  assert {
    condition = google_logging_metric.rotation_failures[0].label_extractors == tomap({
      secret  = "EXTRACT(jsonPayload.secret)"
      outcome = "EXTRACT(jsonPayload.outcome)"
      retry   = "EXTRACT(jsonPayload.retry)"
    })
    error_message = "rotation failures are labelled by secret, outcome and retry"
  }
  assert {
    condition     = one([for l in google_logging_metric.rotation_failures[0].metric_descriptor[0].labels : l.value_type if l.key == "retry"]) == "BOOL"
    error_message = "retry is a boolean label"
  }
  assert {
    condition     = contains(keys(google_project_service.apis), "monitoring.googleapis.com") && contains(keys(google_project_service.apis), "logging.googleapis.com")
    error_message = "monitoring needs the Logging and Monitoring APIs"
  }
}

run "alert_policies" {
  command = apply

  assert {
    condition     = google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].filter == "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"rotor-dead-letters\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
    error_message = "the dead-letter alert must watch the module's dead-letter subscription's backlog"
  }
  assert {
    condition = (google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT" &&
      google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].threshold_value == 0 &&
    google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].duration == "0s")
    error_message = "one dead letter is enough to alert, at once"
  }
  assert {
    condition     = google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].aggregations[0].per_series_aligner == "ALIGN_MAX"
    error_message = "the backlog is a gauge: align with its maximum"
  }
  assert {
    condition     = google_monitoring_alert_policy.outcomes[0].conditions[0].condition_matched_log[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-on-secret-event\" AND jsonPayload.component=\"onSecretEvent\" AND (jsonPayload.workload.result=\"halted\" OR jsonPayload.workload.result=\"gave-up\" OR jsonPayload.workload.result=\"failed\") AND NOT jsonPayload.workload.reason=~\"^transient failure, will retry\""
    error_message = "the outcome alert must match halted, gave-up and failed workload lines of onSecretEvent, but not transient failures (redelivered)"
  }
  assert {
    condition     = google_monitoring_alert_policy.rollbacks[0].conditions[0].condition_matched_log[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-on-secret-event\" AND jsonPayload.component=\"onSecretEvent\" AND jsonPayload.outcome.onHalt.response=\"rolled-back\""
    error_message = "the rollback alert must match onSecretEvent's summary of a halt that asked for a rollback"
  }
  assert {
    condition     = google_monitoring_alert_policy.rollbacks[0].conditions[1].condition_matched_log[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-rotate-secret\" AND jsonPayload.component=\"rotateSecret\" AND jsonPayload.secret:* AND jsonPayload.outcome=\"refused\""
    error_message = "the rollback alert must match a rollback rotateSecret refused"
  }
  assert {
    condition     = google_monitoring_alert_policy.outcomes[0].conditions[0].condition_matched_log[0].label_extractors["workload"] == "EXTRACT(jsonPayload.workload.name)" && google_monitoring_alert_policy.outcomes[0].conditions[0].condition_matched_log[0].label_extractors["namespace"] == "EXTRACT(jsonPayload.workload.namespace)"
    error_message = "the outcome alert names the workload"
  }
  assert {
    condition     = google_monitoring_alert_policy.outcomes[0].alert_strategy[0].notification_rate_limit[0].period == "300s" && google_monitoring_alert_policy.rotation_failures[0].alert_strategy[0].notification_rate_limit[0].period == "300s"
    error_message = "log-match alerts need a notification rate limit"
  }
  assert {
    condition     = google_monitoring_alert_policy.rotation_failures[0].conditions[0].condition_matched_log[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-rotate-secret\" AND jsonPayload.component=\"rotateSecret\" AND jsonPayload.secret:* AND (jsonPayload.outcome=\"failed\" OR jsonPayload.outcome=\"abandoned\") AND severity>=ERROR"
    error_message = "the rotation alert must match the failures a retry cannot fix (logged at ERROR)"
  }
  assert {
    condition     = alltrue([for p in [google_monitoring_alert_policy.dead_letters[0], google_monitoring_alert_policy.outcomes[0], google_monitoring_alert_policy.rotation_failures[0]] : length(p.notification_channels) == 0 && p.combiner == "OR"])
    error_message = "without notification_channels the policies notify nobody (incidents in the console only)"
  }
}

run "notification_channels_reach_every_policy" {
  command = apply

  variables {
    notification_channels = [
      "projects/my-proj-123/notificationChannels/1111",
      "projects/my-proj-123/notificationChannels/2222",
    ]
  }

  assert {
    condition = alltrue([
      for p in [google_monitoring_alert_policy.dead_letters[0], google_monitoring_alert_policy.outcomes[0], google_monitoring_alert_policy.rotation_failures[0]] :
      p.notification_channels == tolist(["projects/my-proj-123/notificationChannels/1111", "projects/my-proj-123/notificationChannels/2222"])
    ])
    error_message = "every alert policy must notify every channel"
  }
}

run "dashboard_charts_the_metrics" {
  command = apply

  assert {
    condition = [for t in jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles : t.widget.title] == [
      "Workload outcomes by result",
      "Dead-letter backlog (rotor-dead-letters)",
      "Event to converged (heatmap)",
      "Event to converged: p50, p95, p99",
      "Rotation failures by secret",
      "Rotor warnings and errors",
    ]
    error_message = "the dashboard shows outcomes, dead letters, latency (heatmap and percentiles), rotation failures and the logs"
  }
  assert {
    condition     = jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles[0].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == "metric.type=\"logging.googleapis.com/user/rotor-outcomes\" resource.type=\"cloud_run_revision\""
    error_message = "the outcomes chart must read the outcome metric"
  }
  assert {
    condition     = jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles[0].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.aggregation.groupByFields == ["metric.label.\"result\""]
    error_message = "the outcomes chart is grouped by result"
  }
  assert {
    condition     = jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles[2].widget.xyChart.dataSets[0].plotType == "HEATMAP" && jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles[2].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == "metric.type=\"logging.googleapis.com/user/rotor-event-to-converged\" resource.type=\"cloud_run_revision\""
    error_message = "the latency heatmap must read the distribution metric"
  }
  assert {
    condition     = [for d in jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles[3].widget.xyChart.dataSets : d.timeSeriesQuery.timeSeriesFilter.aggregation.crossSeriesReducer] == ["REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_95", "REDUCE_PERCENTILE_99"]
    error_message = "the percentile chart shows p50, p95 and p99"
  }
  assert {
    condition     = jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles[1].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].filter
    error_message = "the backlog chart shows what the dead-letter alert watches"
  }
  assert {
    condition     = alltrue([for t in jsondecode(google_monitoring_dashboard.rotor[0].dashboard_json).mosaicLayout.tiles : t.xPos + t.width <= 48])
    error_message = "tiles must fit the 48-column mosaic"
  }
}

run "name_prefix_scopes_metrics_to_this_installation" {
  command = apply

  variables {
    name_prefix = "rotor-stg"
  }

  assert {
    condition     = google_logging_metric.outcomes[0].name == "rotor-stg-outcomes" && startswith(google_logging_metric.outcomes[0].filter, "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-stg-on-secret-event\" AND ")
    error_message = "a second installation's metrics must count its own function only"
  }
  assert {
    condition     = startswith(google_logging_metric.rotation_failures[0].filter, "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"rotor-stg-rotate-secret\" AND ")
    error_message = "a second installation's rotation metric must count its own function only"
  }
  assert {
    condition     = strcontains(google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].filter, "resource.labels.subscription_id=\"rotor-stg-dead-letters\"")
    error_message = "the dead-letter alert must watch this installation's subscription"
  }
}

run "monitoring_disabled_creates_none" {
  command = apply

  variables {
    enable_monitoring     = false
    notification_channels = ["projects/my-proj-123/notificationChannels/1111"]
  }

  assert {
    condition = (length(google_logging_metric.outcomes) + length(google_logging_metric.event_to_converged) + length(google_logging_metric.rotation_failures) +
      length(google_monitoring_alert_policy.dead_letters) + length(google_monitoring_alert_policy.outcomes) + length(google_monitoring_alert_policy.rotation_failures) +
    length(google_monitoring_dashboard.rotor)) == 0
    error_message = "enable_monitoring = false must create no metric, alert policy or dashboard"
  }
  assert {
    condition     = output.monitoring == null
    error_message = "the monitoring output is null without monitoring"
  }
  assert {
    condition     = !contains(keys(google_project_service.apis), "monitoring.googleapis.com")
    error_message = "without monitoring the module does not enable the Monitoring API"
  }
}

run "rejects_malformed_notification_channel" {
  command = plan
  variables {
    notification_channels = ["1111"]
  }
  expect_failures = [var.notification_channels]
}
