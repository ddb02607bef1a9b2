terraform {
  required_version = ">= 1.9"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
  }

  # State: a GCS bucket in real use, configured at init time so this example stays generic:
  #   terraform init -backend-config="bucket=MY_STATE_BUCKET" -backend-config="prefix=rotor"
  # (Cloud Build does exactly that; see cloudbuild.yaml.) Without -backend-config, init fails:
  # run `terraform init -backend=false` to only validate.
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}
