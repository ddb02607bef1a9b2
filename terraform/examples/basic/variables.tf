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
