# Managed secrets: each notifies the secret-events topic (what onSecretEvent acts on); those with a
# rotation schedule also notify the rotation topic, where SECRET_ROTATE wakes rotateSecret.
# Only metadata is managed here: versions (the values) are added by the rotation function or by
# whoever owns the secret, never by Terraform, so no secret value ever lands in Terraform state.

resource "google_secret_manager_secret" "managed" {
  for_each = var.secrets

  project     = var.project_id
  secret_id   = each.key
  labels      = merge(local.labels, each.value.labels)
  annotations = each.value.annotations

  replication {
    dynamic "auto" {
      for_each = length(each.value.replica_locations) == 0 ? [1] : []
      content {}
    }
    dynamic "user_managed" {
      for_each = length(each.value.replica_locations) == 0 ? [] : [1]
      content {
        dynamic "replicas" {
          for_each = each.value.replica_locations
          content {
            location = replicas.value
          }
        }
      }
    }
  }

  topics {
    name = google_pubsub_topic.secret_events.id
  }

  dynamic "topics" {
    for_each = each.value.rotation_period == null ? [] : [1]
    content {
      name = google_pubsub_topic.rotation.id
    }
  }

  # Secret Manager requires `topics` whenever `rotation` is set; both are set together above.
  dynamic "rotation" {
    for_each = each.value.rotation_period == null ? [] : [1]
    content {
      rotation_period    = each.value.rotation_period
      next_rotation_time = each.value.next_rotation_time
    }
  }

  lifecycle {
    # Secret Manager advances next_rotation_time by the period at every rotation, and rotateSecret
    # moves the current/previous/pending version aliases: both are owned outside Terraform, and a
    # plan that "corrected" them would move the schedule back or strip the aliases consumers follow.
    # (Annotations are non-authoritative in the provider, so Rotor's state annotations are safe.)
    ignore_changes = [rotation[0].next_rotation_time, version_aliases]
  }

  # The service agent must be allowed to publish before a secret can name the topics.
  depends_on = [
    google_pubsub_topic_iam_member.secretmanager_publishes_events,
    google_pubsub_topic_iam_member.secretmanager_publishes_rotation,
  ]
}
