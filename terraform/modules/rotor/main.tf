# Shared facts and API enablement for the Rotor module. The resources live in topic-sized files:
#   pubsub.tf     topics, the Secret Manager service agent's publish grant, dead letters
#   secrets.tf    managed secrets with their notification topics and rotation schedules
#   functions.tf  source upload, service accounts and the two gen2 functions
#   delivery.tf   how messages reach the functions (push subscriptions or Eventarc triggers)
#   iam.tf        least-privilege grants of each function's identity
#   gke.tf        cluster access: IAM, Connect Gateway, and the Kubernetes RBAC to apply
#   scheduler.tf  Cloud Scheduler jobs publishing rotation requests
#   monitoring.tf log-based metrics, alert policies and the dashboard

data "google_project" "this" {
  project_id = var.project_id
}

# Projects the clusters and memberships live in, when named by id (a number needs no lookup).
data "google_project" "referenced" {
  for_each = toset([
    for p in distinct(concat(
      [for c in var.clusters : split("/", c)[1]],
      [for m in var.connect_gateway_memberships : split("/", m)[1]],
    )) : p if p != var.project_id && !can(regex("^[0-9]+$", p))
  ])

  project_id = each.value
}

locals {
  # Notifications, service agents and Secret Manager resource names use the project NUMBER; users
  # and manifests use the ID. Both are known here, so the functions get the mapping for free.
  project_number = data.google_project.this.number

  # Google-managed service agents, in their documented email formats. Using the format instead of
  # google_project_service_identity (a google-beta-only resource) keeps this module on one provider;
  # the agents must exist before they can be granted roles (see the deploy guide's prerequisites).
  secretmanager_agent = "serviceAccount:service-${local.project_number}@gcp-sa-secretmanager.iam.gserviceaccount.com"
  pubsub_agent        = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  labels = merge({ "app" = "rotor", "rotor-instance" = var.name_prefix }, var.labels)

  # ID=NUMBER pairs for ROTOR_PROJECT_MAP: this project, the projects of the clusters and fleet
  # memberships (Connect Gateway addresses memberships by number; with the mapping known, the
  # function needs no Resource Manager permission to look it up), then whatever the caller adds.
  project_map = merge(
    { (var.project_id) = local.project_number },
    { for id, p in data.google_project.referenced : id => p.number },
    var.project_map,
  )

  # Rotating secrets additionally notify the rotation topic, so SECRET_ROTATE reaches rotateSecret.
  rotating_secrets = { for id, s in var.secrets : id => s if s.rotation_period != null }
}

locals {
  # Every API the deployment touches. Cloud Run, Cloud Build, Artifact Registry and Eventarc are
  # what gen2 functions are made of; IAM for the service accounts and custom roles; Cloud Resource
  # Manager for the project lookup above.
  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "apis" {
  # Log-based metrics and alert policies need Logging and Monitoring as well.
  for_each = var.enable_apis ? setunion(local.apis, var.enable_monitoring ? ["logging.googleapis.com", "monitoring.googleapis.com"] : []) : toset([])

  project = var.project_id
  service = each.value
  # Other workloads in the project may depend on these APIs: removing Rotor must not switch them off.
  disable_on_destroy = false
}
