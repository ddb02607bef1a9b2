# Least privilege for the two function identities. Nothing here is project-wide except what GKE
# and Cloud SQL only offer at project level (gke.tf, and the optional Cloud SQL role below).
#
# onSecretEvent and onClusterEvent (google_service_account.events: one identity, so one Kubernetes
# RBAC binding covers both):
#   - publish outcomes to the outcomes topic, (fan-out) the per-cluster messages to the
#     cluster-events topic, continuations to its own topic, and rollback requests to the rotation
#     topic; no other topic;
#   - cluster access (gke.tf);
#   - roles/secretmanager.viewer on each secret whose notifications reach it (managed, rotation
#     extras, notified_secrets): secrets.get and versions.get confirm a notification before
#     Rotor acts on it (anyone who can publish to the topic could forge one). Metadata only:
#     never versions.access (no secretAccessor), never a write.
# rotateSecret (google_service_account.rotation):
#   - a custom "rotator" role on each managed secret only (not project-wide);
#   - read-only access to the secrets a strategy logs in with (rotation_read_secrets);
#   - optionally, updating Cloud SQL users;
#   - read-only cluster access (gke.tf): which versions workloads still use, before retiring any.

resource "google_pubsub_topic_iam_member" "events_publishes_outcomes" {
  project = var.project_id
  topic   = google_pubsub_topic.outcomes.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.events.member
}

# Fan-out: onSecretEvent publishes one message per cluster; onClusterEvent (the same identity)
# publishes a cluster's continuation there (functions/core/converge.ts).
# Continuations: a delivery that made progress and still has work publishes the event again, with
# its next step, to the topic it came from (functions/core/converge.ts).
resource "google_pubsub_topic_iam_member" "events_continues_secret_events" {
  project = var.project_id
  topic   = google_pubsub_topic.secret_events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.events.member
}

# Rolling back (functions/pipeline/rollbackRequests.ts): a halted event under the rollback policy
# asks rotateSecret for it on the rotation topic. A secret's rotor-on-halt can ask for it whatever
# on_halt says, so the grant does not depend on it. What a request can do is only what rotateSecret
# does for any message there (it refuses what is not a rotation or a rollback of one secret).
resource "google_pubsub_topic_iam_member" "events_requests_rollbacks" {
  project = var.project_id
  topic   = google_pubsub_topic.rotation.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.events.member
}

resource "google_pubsub_topic_iam_member" "events_publishes_cluster_events" {
  count = local.fan_out ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.cluster_events[0].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.events.member
}

# The rotation protocol, as permissions on one secret:
#   versions.access                read the current value (alternating strategies derive from it;
#                                  tests log in with it)
#   versions.add                   the new (pending) version
#   versions.get/list              find pending/current/previous and their states
#   versions.disable               disable a superseded version after the grace period (no
#                                  versions.enable: nothing in Rotor re-enables a version)
#   secrets.get                    labels and annotations select the strategy
#   secrets.update                 move the pending/current/previous version aliases
# Predefined roles either miss secrets.update (secretVersionManager) or add versions.destroy and
# setIamPolicy (admin); Rotor never destroys a version.
resource "google_project_iam_custom_role" "rotator" {
  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_secret_rotator"
  title       = "Rotor secret rotator (${var.name_prefix})"
  description = "Rotate a Secret Manager secret: add and disable versions, move aliases. Granted per secret."
  permissions = [
    "secretmanager.secrets.get",
    "secretmanager.secrets.update",
    "secretmanager.versions.access",
    "secretmanager.versions.add",
    "secretmanager.versions.disable",
    "secretmanager.versions.get",
    "secretmanager.versions.list",
  ]

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "rotation_rotates_managed" {
  for_each = google_secret_manager_secret.managed

  project   = var.project_id
  secret_id = each.value.secret_id
  role      = google_project_iam_custom_role.rotator.name
  member    = google_service_account.rotation.member
}

locals {
  # projects/P/secrets/S or projects/P/locations/L/secrets/S, split into what the IAM resources take.
  extra_secrets = {
    for s in var.rotation_extra_secrets : s => {
      project  = split("/", s)[1]
      location = length(split("/", s)) == 6 ? split("/", s)[3] : null
      secret   = reverse(split("/", s))[0]
    }
  }
  # Every secret whose notifications onSecretEvent confirms: metadata read access on each.
  notified_secrets = {
    for s in distinct(concat(var.rotation_extra_secrets, var.notified_secrets)) : s => {
      project  = split("/", s)[1]
      location = length(split("/", s)) == 6 ? split("/", s)[3] : null
      secret   = reverse(split("/", s))[0]
    }
  }
  read_secrets = {
    for s in var.rotation_read_secrets : s => {
      project  = split("/", s)[1]
      location = length(split("/", s)) == 6 ? split("/", s)[3] : null
      secret   = reverse(split("/", s))[0]
    }
  }
}

resource "google_secret_manager_secret_iam_member" "rotation_rotates_extra" {
  for_each = { for k, s in local.extra_secrets : k => s if s.location == null }

  project   = each.value.project
  secret_id = each.value.secret
  role      = google_project_iam_custom_role.rotator.name
  member    = google_service_account.rotation.member
}

resource "google_secret_manager_regional_secret_iam_member" "rotation_rotates_extra" {
  for_each = { for k, s in local.extra_secrets : k => s if s.location != null }

  project   = each.value.project
  location  = each.value.location
  secret_id = each.value.secret
  role      = google_project_iam_custom_role.rotator.name
  member    = google_service_account.rotation.member
}

# Credentials a strategy uses but never changes (e.g. the postgres admin login): read-only.
resource "google_secret_manager_secret_iam_member" "rotation_reads" {
  for_each = { for k, s in local.read_secrets : k => s if s.location == null }

  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.rotation.member
}

resource "google_secret_manager_regional_secret_iam_member" "rotation_reads" {
  for_each = { for k, s in local.read_secrets : k => s if s.location != null }

  project   = each.value.project
  location  = each.value.location
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.rotation.member
}

# The cloudsql strategy: users.update sets the new password; users.list finds the user;
# instances.get is what reading the returned long-running operation requires. Cloud SQL has no
# per-instance IAM, so this is granted on each listed project; the predefined alternative
# (roles/cloudsql.admin) could also delete instances.
resource "google_project_iam_custom_role" "cloudsql_user_rotator" {
  for_each = toset(var.rotation_cloudsql_projects)

  project     = each.value
  role_id     = "${replace(var.name_prefix, "-", "_")}_cloudsql_user_rotator"
  title       = "Rotor Cloud SQL user rotator (${var.name_prefix})"
  description = "Set Cloud SQL users' passwords for Rotor's cloudsql rotation strategy."
  permissions = [
    "cloudsql.instances.get",
    "cloudsql.users.list",
    "cloudsql.users.update",
  ]
}

resource "google_project_iam_member" "rotation_cloudsql" {
  for_each = google_project_iam_custom_role.cloudsql_user_rotator

  project = each.key
  role    = each.value.name
  member  = google_service_account.rotation.member
}

# onSecretEvent and onClusterEvent confirm each notification with secrets.get / versions.get before
# acting (functions/notificationVerifier.ts). roles/secretmanager.viewer holds those and nothing
# that reads a value or changes anything; never secretAccessor for this identity.
resource "google_secret_manager_secret_iam_member" "events_confirms_managed" {
  for_each = google_secret_manager_secret.managed

  project   = var.project_id
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.viewer"
  member    = google_service_account.events.member
}

resource "google_secret_manager_secret_iam_member" "events_confirms_notified" {
  for_each = { for k, s in local.notified_secrets : k => s if s.location == null }

  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.viewer"
  member    = google_service_account.events.member
}

resource "google_secret_manager_regional_secret_iam_member" "events_confirms_notified" {
  for_each = { for k, s in local.notified_secrets : k => s if s.location != null }

  project   = each.value.project
  location  = each.value.location
  secret_id = each.value.secret
  role      = "roles/secretmanager.viewer"
  member    = google_service_account.events.member
}
