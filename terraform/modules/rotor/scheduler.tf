# Cloud Scheduler jobs: cron-driven rotations. Each job publishes one message to the rotation topic
# naming the secrets to rotate; rotateSecret rotates them with bounded concurrency. Secret Manager's
# own schedule (secrets' rotation_period) needs no job: it sends SECRET_ROTATE by itself.
#
# Message contract (read by rotateSecret):
#   data       JSON {"secrets": ["projects/PROJECT/secrets/NAME", ...], "action": "rotate" | "retire"}
#   attributes rotor-source=scheduler, rotor-job=JOB; deliberately no eventType, which is how the
#              rotation subscription tells them apart from Secret Manager notifications.
# Cloud Scheduler publishes as its own service agent, which holds pubsub.topics.publish through
# its service-agent role: no grant is needed here.

resource "google_cloud_scheduler_job" "rotation" {
  for_each = var.rotation_schedules

  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-${each.key}"
  description = each.value.description != "" ? each.value.description : "Rotor: rotate ${join(", ", each.value.secrets)}"
  schedule    = each.value.schedule
  time_zone   = each.value.time_zone
  paused      = each.value.paused

  pubsub_target {
    topic_name = google_pubsub_topic.rotation.id
    data = base64encode(jsonencode({
      secrets = [
        for s in each.value.secrets :
        startswith(s, "projects/") ? s : "projects/${var.project_id}/secrets/${s}"
      ]
      action = each.value.action
    }))
    attributes = {
      "rotor-source" = "scheduler"
      "rotor-job"    = "${var.name_prefix}-${each.key}"
    }
  }

  depends_on = [google_project_service.apis]
}
