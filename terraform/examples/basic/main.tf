# Rotor with two example secrets: one Secret Manager rotates on a fixed period (SECRET_ROTATE), one
# rotated by a Cloud Scheduler job every Monday, and both watched for new versions so the GKE
# workloads that use them are restarted or reloaded.

module "rotor" {
  source = "../../modules/rotor"

  project_id          = var.project_id
  region              = var.region
  clusters            = var.clusters
  function_source_zip = var.function_source_zip
  dry_run             = var.dry_run

  # Alerts (dead letters, halted / gave-up / failed workloads, failed rotations) notify these.
  notification_channels = var.notification_channels

  # The clusters' timing and secret groups (null: the module's defaults, which match GKE's).
  csi_rotation_interval_seconds = var.csi_rotation_interval_seconds
  kubelet_sync_seconds          = var.kubelet_sync_seconds
  group_window_seconds          = var.group_window_seconds
  group_wait_seconds            = var.group_wait_seconds

  secrets = {
    # Rotated by Secret Manager's own schedule every 30 days, starting a day after the first apply
    # (the module ignores later drift of next_rotation_time, which Secret Manager advances itself).
    "db-password" = {
      labels             = { "rotor-strategy" = "random" }
      rotation_period    = "2592000s"
      next_rotation_time = timeadd(plantimestamp(), "24h")
    }
    # Rotated by the scheduler job below; Rotor still reacts to every new version.
    "api-token" = {
      labels = { "rotor-strategy" = "random" }
    }
  }

  rotation_schedules = {
    "weekly-api-token" = {
      schedule  = "0 3 * * 1"
      time_zone = "Etc/UTC"
      secrets   = ["api-token"]
    }
  }
}
