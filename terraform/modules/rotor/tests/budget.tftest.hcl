# `terraform test` for the delivery budget (budget.tf): each function's in-delivery budget follows
# from its timeout, and the dead-letter attempts from the longest wait without progress, so that
# attempts x (budget + backoff) outlasts it; a combination no Pub/Sub subscription can carry fails the
# plan. Expected values are worked out by hand from
#   budget = max(0, timeout - max(30, ceil(timeout / 5)))
#   max_delivery_attempts = max(5, ceil(max(max_wait, rollout_timeout, group_wait) / (budget + backoff)) + 1).
# Mocked provider, as in rotor.tftest.hcl.

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


# Defaults: timeout 300 s, budget 300 - 60 = 240 s; max(1800, 600) = 1800 s without progress at
# most; 1800 / (240 + 60) = 6 deliveries without progress, so 7 attempts.
run "defaults" {
  command = apply

  assert {
    condition     = local.delivery_budget_seconds.events == 240 && local.longest_stretch_without_progress_seconds == 1800
    error_message = "300 s timeout: a 240 s budget; the longest wait without progress is max_wait_seconds, 1800 s"
  }
  assert {
    condition = alltrue([
      for s in google_pubsub_subscription.push :
      s.dead_letter_policy[0].max_delivery_attempts == 7 && s.retry_policy[0].minimum_backoff == "60s" && s.retry_policy[0].maximum_backoff == "60s"
    ])
    error_message = "defaults: 7 attempts 60 s apart"
  }
  assert {
    condition = (google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_MAX_WAIT_SECONDS"] == "1800" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_ROLLOUT_TIMEOUT_SECONDS"] == "600" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_WAVE_SIZE"] == "10" &&
    google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_DELIVERY_BUDGET_SECONDS"] == "240")
    error_message = "onSecretEvent must act within the bounds the attempts were derived from"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_EVENT_TOPIC"] == google_pubsub_topic.secret_events.id
    error_message = "onSecretEvent continues an event on the topic its notifications arrive on"
  }
  assert {
    condition     = google_pubsub_topic_iam_member.events_continues_secret_events.topic == google_pubsub_topic.secret_events.name && google_pubsub_topic_iam_member.events_continues_secret_events.role == "roles/pubsub.publisher" && google_pubsub_topic_iam_member.events_continues_secret_events.member == "serviceAccount:rotor-events@my-proj-123.iam.gserviceaccount.com"
    error_message = "onSecretEvent's identity may publish continuations to the secret events topic"
  }
}

# The wave size (and so the number of steps) does not enter: waves of 1 get the same 7 attempts.
run "rollout_size_does_not_enter" {
  command = plan
  variables {
    wave_size = 1
  }

  assert {
    condition     = local.max_delivery_attempts == 7
    error_message = "the attempts do not depend on the number of rollout steps"
  }
}

# Long waits at the maximum backoff and timeout: budget 540 - 108 = 432 s; max(3600, 1800) = 3600 s;
# 3600 / (432 + 600) = 3.49, so 4 deliveries without progress and 5 attempts.
run "long_waits_at_the_maximum_backoff" {
  command = apply
  variables {
    rollout_timeout_seconds = 1800
    max_wait_seconds        = 3600
    wave_size               = 25
    retry_backoff_seconds   = 600
    event_function          = { timeout_seconds = 540 }
  }

  assert {
    condition = alltrue([
      for s in google_pubsub_subscription.push :
      s.dead_letter_policy[0].max_delivery_attempts == 5 && s.retry_policy[0].minimum_backoff == "600s" && s.retry_policy[0].maximum_backoff == "600s"
    ])
    error_message = "3600 s at 432 + 600 s: 5 attempts"
  }
  assert {
    condition = (google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_MAX_WAIT_SECONDS"] == "3600" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_ROLLOUT_TIMEOUT_SECONDS"] == "1800" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_WAVE_SIZE"] == "25" &&
    google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_DELIVERY_BUDGET_SECONDS"] == "432")
    error_message = "the function's environment must carry the long bounds and its budget"
  }
}

# A timeout too short for any margin: budget 0 (one pass per delivery, each step waits a backoff),
# so 1800 / 60 = 30 deliveries without progress and 31 attempts.
run "no_budget_in_a_short_timeout" {
  command = plan
  variables {
    event_function = { timeout_seconds = 10 }
  }

  assert {
    condition     = local.delivery_budget_seconds.events == 0 && local.max_delivery_attempts == 31
    error_message = "10 s timeout: no budget, 31 attempts"
  }
}

# Fan-out: both subscriptions get the attempts of the shorter budget. onClusterEvent at 60 s:
# 60 - 30 = 30 s; 1800 / (30 + 60) = 20, so 21 attempts.
run "fan_out_uses_the_shorter_budget" {
  command = apply
  variables {
    fan_out_min_clusters = 2
    cluster_function     = { timeout_seconds = 60 }
  }

  assert {
    condition = (google_cloudfunctions2_function.fn["clusters"].service_config[0].environment_variables["ROTOR_DELIVERY_BUDGET_SECONDS"] == "30" &&
    google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_DELIVERY_BUDGET_SECONDS"] == "240")
    error_message = "each function's budget follows its own timeout"
  }
  assert {
    condition = alltrue([
      for s in google_pubsub_subscription.push : s.dead_letter_policy[0].max_delivery_attempts == 21
    ])
    error_message = "the shorter budget (30 s) sizes every subscription: 21 attempts"
  }
}

# The boundary: no budget (10 s timeout), 10 s backoff, 990 s without progress: 99 deliveries, 100
# attempts: still fits.
run "exactly_100_attempts_fit" {
  command = plan
  variables {
    event_function        = { timeout_seconds = 10 }
    retry_backoff_seconds = 10
    max_wait_seconds      = 990
  }

  assert {
    condition     = local.max_delivery_attempts == 100
    error_message = "990 s at 0 + 10 s is 99 deliveries, 100 attempts"
  }
}

# One second more needs 101 attempts: the plan fails instead of dead-lettering healthy events.
run "rejects_a_wait_longer_than_any_subscription_can_carry" {
  command = plan
  variables {
    event_function        = { timeout_seconds = 10 }
    retry_backoff_seconds = 10
    max_wait_seconds      = 991
  }
  expect_failures = [terraform_data.delivery_budget]
}

# A group's wait is not cut short by max_wait_seconds, so a longer one is the longest stretch:
# 3600 / (240 + 60) = 12 deliveries without progress, 13 attempts; onSecretEvent gets the wait.
run "a_group_wait_longer_than_max_wait_sizes_the_attempts" {
  command = plan
  variables {
    group_wait_seconds = 3600
  }

  assert {
    condition     = local.longest_stretch_without_progress_seconds == 3600 && local.max_delivery_attempts == 13
    error_message = "a 3600 s group wait: 13 attempts"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_GROUP_WAIT_SECONDS"] == "3600"
    error_message = "onSecretEvent waits for groups as long as the attempts were sized for"
  }
}

# Its boundary, as max_wait_seconds' above: 991 s at 0 + 10 s needs 101 attempts.
run "rejects_a_group_wait_longer_than_any_subscription_can_carry" {
  command = plan
  variables {
    event_function        = { timeout_seconds = 10 }
    retry_backoff_seconds = 10
    max_wait_seconds      = 990
    group_wait_seconds    = 991
  }
  expect_failures = [terraform_data.delivery_budget]
}
