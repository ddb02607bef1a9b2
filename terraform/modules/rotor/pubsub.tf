# Topics: secret events (Secret Manager notifications), rotation requests (Cloud Scheduler and
# SECRET_ROTATE), outcomes (one message per decision, for dashboards and audits), dead letters, and
# for a fleet of fan_out_min_clusters or more, cluster events (the fan-out: one message per cluster
# per event, from onSecretEvent to onClusterEvent).

resource "google_pubsub_topic" "secret_events" {
  project = var.project_id
  name    = "${var.name_prefix}-secret-events"
  labels  = local.labels
  # Keep a week of notifications on the topic itself, so a subscription recreated after an outage
  # can seek back and replay what it missed.
  message_retention_duration = var.message_retention

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "rotation" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-rotation"
  labels                     = local.labels
  message_retention_duration = var.message_retention

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "outcomes" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-outcomes"
  labels                     = local.labels
  message_retention_duration = var.message_retention

  depends_on = [google_project_service.apis]
}

# Only Rotor publishes here: the original notification plus the cluster (functions/core/fanOut.ts).
resource "google_pubsub_topic" "cluster_events" {
  count = local.fan_out ? 1 : 0

  project                    = var.project_id
  name                       = "${var.name_prefix}-cluster-events"
  labels                     = local.labels
  message_retention_duration = var.message_retention

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letters" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-dead-letters"
  labels                     = local.labels
  message_retention_duration = var.message_retention

  depends_on = [google_project_service.apis]
}

# A topic without a subscription drops what it receives: this pull subscription is where dead
# letters wait for a human (`gcloud pubsub subscriptions pull <name> --auto-ack=false`).
resource "google_pubsub_subscription" "dead_letters" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-dead-letters"
  topic                      = google_pubsub_topic.dead_letters.id
  labels                     = local.labels
  message_retention_duration = var.message_retention
  retain_acked_messages      = true
  ack_deadline_seconds       = 60

  # Never expire for inactivity: dead letters are rare and a quiet subscription is the normal case.
  expiration_policy {
    ttl = ""
  }
}

# Secret Manager publishes notifications as its service agent; without this grant, creating a
# secret with `topics` fails and no event ever arrives. Scoped to the two topics secrets notify.
resource "google_pubsub_topic_iam_member" "secretmanager_publishes_events" {
  project = var.project_id
  topic   = google_pubsub_topic.secret_events.name
  role    = "roles/pubsub.publisher"
  member  = local.secretmanager_agent
}

resource "google_pubsub_topic_iam_member" "secretmanager_publishes_rotation" {
  project = var.project_id
  topic   = google_pubsub_topic.rotation.name
  role    = "roles/pubsub.publisher"
  member  = local.secretmanager_agent
}
