# Only hashicorp/google: every extra provider (archive, kubernetes, random, google-beta) is one more
# thing to download, build and keep in step, and none of them is needed:
#  - the function zip is built by `npm run package` (scripts/package.mjs), not by archive_file;
#  - the Kubernetes RBAC is rendered as an output and applied with kubectl (see gke.tf for why);
#  - the Secret Manager service agent's email follows a documented format, so the beta-only
#    google_project_service_identity is not needed (see pubsub.tf).
terraform {
  # 1.9: input validation may refer to other variables (rotation schedules name managed secrets).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Validated against 8.0.0 (scripts/terraform-mirror.sh builds exactly that release); the 8.x
      # line keeps the schema of every resource used here.
      version = "~> 8.0"
    }
  }
}
