# How Pub/Sub messages reach the functions.
#
# Cloud Functions' own event_trigger (delivery = "eventarc") creates a Pub/Sub subscription that
# Eventarc owns: its name is generated, it is not exposed by google_cloudfunctions2_function, and a
# dead-letter policy set on it by hand is outside Terraform. So the default (delivery = "push") is
# Rotor-owned push subscriptions to the functions' HTTPS endpoints, which can carry what a poison
# message needs: bounded attempts, then the dead-letter topic, with exponential backoff in between.
#
# The functions still see CloudEvents: functions-framework turns a raw push body into the same
# google.cloud.pubsub.topic.v1.messagePublished event Eventarc would deliver (the push path names
# the topic, which becomes the event's source), and onSecretEvent accepts raw push bodies as well.

locals {
  push = var.delivery == "push"

  all_subscriptions = {
    events = {
      topic = google_pubsub_topic.secret_events.id
      # Everything Secret Manager sends: the core decides what each event type means.
      filter = ""
    }
    rotation = {
      topic = google_pubsub_topic.rotation.id
      # Rotating secrets notify this topic of every event; only SECRET_ROTATE asks for a rotation.
      # Scheduler messages carry no eventType attribute. Filtered-out messages are acknowledged by
      # Pub/Sub without invoking (or billing) the function.
      filter = "NOT attributes:eventType OR attributes.eventType = \"SECRET_ROTATE\""
    }
    # Fan-out: one message per cluster. Each is its own delivery with the same redelivery budget
    # as an unfanned event (a cluster's waves are the same rollout), so a waiting or unreachable
    # cluster is retried, and in the end dead-lettered, alone.
    clusters = {
      topic  = one(google_pubsub_topic.cluster_events[*].id)
      filter = ""
    }
  }
  subscriptions = local.push ? { for k, s in local.all_subscriptions : k => s if contains(keys(local.functions), k) } : {}
}

resource "google_pubsub_subscription" "push" {
  for_each = local.subscriptions

  project = var.project_id
  name    = "${var.name_prefix}-${each.key}-push"
  topic   = each.value.topic
  labels  = local.labels
  filter  = each.value.filter

  # Pub/Sub waits this long for the function's HTTP response before redelivering; it must cover the
  # function's own timeout (push subscriptions allow at most 600 s).
  ack_deadline_seconds       = min(600, local.functions[each.key].settings.timeout_seconds + 30)
  message_retention_duration = var.message_retention

  push_config {
    # The path names the topic: functions-framework derives the CloudEvent source from it.
    push_endpoint = "${google_cloudfunctions2_function.fn[each.key].service_config[0].uri}/${each.value.topic}"
    oidc_token {
      service_account_email = google_service_account.invoker.email
      # Cloud Run accepts tokens whose audience is the service URL (without the path).
      audience = google_cloudfunctions2_function.fn[each.key].service_config[0].uri
    }
  }

  # Both bounds equal, so the budget (budget.tf) is known: attempts x backoff covers the longest
  # healthy rollout.
  retry_policy {
    minimum_backoff = "${var.retry_backoff_seconds}s"
    maximum_backoff = "${var.retry_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letters.id
    max_delivery_attempts = local.max_delivery_attempts
  }

  # A subscription with no traffic for 31 days would otherwise be deleted, and with it the path
  # every future notification takes.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker,
    google_service_account_iam_member.pubsub_signs_as_invoker,
  ]
}

# Dead-lettering is done by the Pub/Sub service agent: it must be able to publish to the dead-letter
# topic and to acknowledge the forwarded message on the source subscription.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letters" {
  count = local.push ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.dead_letters.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_forwards" {
  for_each = google_pubsub_subscription.push

  project      = var.project_id
  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# The Pub/Sub service agent mints the push OIDC tokens as the invoker account (needed explicitly in
# projects created before April 2021; harmless elsewhere). Granted on that one account only.
resource "google_service_account_iam_member" "pubsub_signs_as_invoker" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# The invoker may call exactly the functions' Cloud Run services.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = local.functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.invoker.member
}
