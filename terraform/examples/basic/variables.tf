variable "project_id" {
  description = "Project to deploy Rotor into (its ID, not its number)."
  type        = string
}

variable "region" {
  description = "Region of the functions and scheduler jobs."
  type        = string
  default     = "us-central1"
}

variable "clusters" {
  description = "GKE clusters Rotor acts on: projects/PROJECT/locations/LOCATION/clusters/NAME."
  type        = list(string)
}

variable "function_source_zip" {
  description = "The zip made by `npm run package`."
  type        = string
  default     = "../../../dist/rotor-function.zip"
}

variable "dry_run" {
  description = "Report decisions without acting: a safe first deployment."
  type        = bool
  default     = true
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels Rotor's alerts notify (projects/PROJECT/notificationChannels/ID); empty: incidents in the console only."
  type        = list(string)
  default     = []
}

variable "csi_rotation_interval_seconds" {
  description = "The Secrets Store CSI driver's rotation interval in the clusters; null: GKE's default, 120 s. See the module's variable."
  type        = number
  default     = null
}

variable "kubelet_sync_seconds" {
  description = "The nodes' kubelet sync period (1-600); null: the kubelet's default, 60 s. See the module's variable."
  type        = number
  default     = null
}

variable "group_window_seconds" {
  description = "Versions of grouped secrets created this close to the event's count as rotated together; null: the module's default, 300 s."
  type        = number
  default     = null
}

variable "group_wait_seconds" {
  description = "How long a restart waits for the other secrets of its group (0: groups off); null: the module's default, 600 s."
  type        = number
  default     = null
}
