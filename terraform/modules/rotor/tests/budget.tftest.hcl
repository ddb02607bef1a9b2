# `terraform test` for the redelivery budget (budget.tf): the dead-letter attempts are derived from
# the rollout and wait bounds so that attempts x backoff outlasts the longest healthy rollout, and a
# combination no Pub/Sub subscription can carry fails the plan. Expected values are worked out by hand
# from max_delivery_attempts = max(5, ceil((max_waves * rollout_timeout + max_wait) / backoff) + 1).
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


# Defaults: 3 steps x 600 s + 1800 s = 3600 s; 3600 / 60 = 60 backoffs, so 61 attempts.
run "defaults_cover_an_hour" {
  command = apply

  assert {
    condition     = local.longest_healthy_event_seconds == 3600
    error_message = "3 x 600 s + 1800 s is 3600 s"
  }
  assert {
    condition = alltrue([
      for s in google_pubsub_subscription.push :
      s.dead_letter_policy[0].max_delivery_attempts == 61 && s.retry_policy[0].minimum_backoff == "60s" && s.retry_policy[0].maximum_backoff == "60s"
    ])
    error_message = "defaults: 61 attempts 60 s apart"
  }
  assert {
    condition = (google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_MAX_WAIT_SECONDS"] == "1800" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_ROLLOUT_TIMEOUT_SECONDS"] == "600" &&
    google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_WAVE_SIZE"] == "10")
    error_message = "onSecretEvent must act within the bounds the budget was derived from"
  }
}

# Long rollouts: 10 steps x 1800 s + 3600 s = 21600 s (6 h); 21600 / 600 = 36 backoffs, 37 attempts.
run "long_rollouts_at_the_maximum_backoff" {
  command = apply
  variables {
    max_waves               = 10
    rollout_timeout_seconds = 1800
    max_wait_seconds        = 3600
    wave_size               = 25
    retry_backoff_seconds   = 600
  }

  assert {
    condition = alltrue([
      for s in google_pubsub_subscription.push :
      s.dead_letter_policy[0].max_delivery_attempts == 37 && s.retry_policy[0].minimum_backoff == "600s" && s.retry_policy[0].maximum_backoff == "600s"
    ])
    error_message = "6 h at 600 s: 37 attempts"
  }
  assert {
    condition = (google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_MAX_WAIT_SECONDS"] == "3600" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_ROLLOUT_TIMEOUT_SECONDS"] == "1800" &&
    google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_WAVE_SIZE"] == "25")
    error_message = "the function's environment must carry the long bounds"
  }
}

# A short budget still gets Pub/Sub's minimum: 1 x 60 + 60 = 120 s at 600 s needs 2, floor is 5.
run "short_rollouts_get_pubsubs_minimum_of_5" {
  command = apply
  variables {
    max_waves               = 1
    rollout_timeout_seconds = 60
    max_wait_seconds        = 60
    retry_backoff_seconds   = 600
  }

  assert {
    condition     = google_pubsub_subscription.push["events"].dead_letter_policy[0].max_delivery_attempts == 5
    error_message = "Pub/Sub allows no fewer than 5 attempts"
  }
}

# The boundary: 96 x 600 + 1800 = 59400 s = 99 x 600 s, exactly 100 attempts: still fits.
run "exactly_100_attempts_fit" {
  command = plan
  variables {
    max_waves             = 96
    retry_backoff_seconds = 600
  }

  assert {
    condition     = local.max_delivery_attempts == 100
    error_message = "59400 s at 600 s is 99 backoffs, 100 attempts"
  }
}

# One step more than fits: 100 x 600 + 1800 = 61800 s needs 103 backoffs (104 attempts) even at
# 600 s, and 100 x 600 s is not enough: the plan fails instead of dead-lettering healthy rollouts.
run "rejects_a_rollout_longer_than_any_subscription_can_carry" {
  command = plan
  variables {
    max_waves             = 100
    retry_backoff_seconds = 600
  }
  expect_failures = [terraform_data.delivery_budget]
}

# A backoff too short for the rollout: 8 x 600 + 1800 = 6600 s at the default 60 s needs 110
# backoffs (111 attempts); 600 s would carry it in 12.
run "rejects_a_backoff_too_short_for_the_rollout" {
  command = plan
  variables {
    max_waves = 8
  }
  expect_failures = [terraform_data.delivery_budget]
}
