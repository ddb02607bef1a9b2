# Inputs of the Rotor module. Every variable is typed and, where Google Cloud has a format rule,
# validated here so a typo fails at `terraform plan` with a readable message instead of at apply
# time with an API error halfway through a deployment.

variable "project_id" {
  description = "Project that hosts Rotor: topics, functions, service accounts and managed secrets."
  type        = string

  validation {
    # Project ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter
    # and not ending with a hyphen. Legacy domain-scoped ids ("example.com:my-project") also exist.
    condition     = can(regex("^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 characters: lowercase letters, digits, hyphens; starts with a letter), not a project number or display name."
  }
}

variable "region" {
  description = "Region for the functions, the source bucket and the Cloud Scheduler jobs, e.g. europe-west1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west4 (not a zone such as us-central1-a)."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (topics, functions, service accounts, jobs). Change it to run two Rotor installations in one project."
  type        = string
  default     = "rotor"

  validation {
    # Service account ids are limited to 30 characters and the longest suffix used is "-rotation"
    # (9 characters): 20 + 9 leaves room. Lowercase because function and bucket names require it.
    condition     = can(regex("^[a-z][a-z0-9-]{2,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 4-20 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels added to every labelled resource."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))
    ])
    error_message = "labels: keys must start with a lowercase letter; keys and values may hold lowercase letters, digits, '_' and '-' (at most 63 characters)."
  }
}

variable "enable_apis" {
  description = "Enable the Google APIs Rotor uses. Set to false when a platform team manages API enablement."
  type        = bool
  default     = true
}

# --- What Rotor acts on -------------------------------------------------------------------------------

variable "clusters" {
  description = "GKE clusters onSecretEvent acts on, and whose workloads rotateSecret checks (read-only) before disabling a superseded version, as projects/PROJECT/locations/LOCATION/clusters/NAME, optionally followed by ;stage=N (0 to 9, default 0): a cluster of a later stage acts on an event only once every cluster of the earlier stages converged healthy on it (docs/deploy.md, Cluster stages)."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for c in var.clusters :
      can(regex("^projects/([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)/locations/[a-z]+-[a-z]+[0-9]+(-[a-z])?/clusters/[a-z]([-a-z0-9]{0,38}[a-z0-9])?(;stage=[0-9])?$", c))
    ])
    error_message = "Each cluster must be projects/PROJECT/locations/LOCATION/clusters/NAME, where LOCATION is a region (us-central1) or a zone (us-central1-a), e.g. projects/my-proj/locations/europe-west1/clusters/prod, optionally followed by ;stage=N with N from 0 to 9 (prod;stage=1)."
  }

  validation {
    condition     = length(var.clusters) == length(distinct([for c in var.clusters : split(";", c)[0]]))
    error_message = "clusters lists the same cluster twice (perhaps in two stages)."
  }
}

variable "connect_gateway_memberships" {
  description = "Fleet memberships reached through Connect Gateway instead of the cluster endpoint, as projects/PROJECT/locations/LOCATION/memberships/NAME (clusters outside Google Cloud, or private control planes), optionally followed by ;stage=N as in clusters."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for m in var.connect_gateway_memberships :
      can(regex("^projects/([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)/locations/(global|[a-z]+-[a-z]+[0-9]+)/memberships/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(;stage=[0-9])?$", m))
    ])
    error_message = "Each membership must be projects/PROJECT/locations/LOCATION/memberships/NAME, where LOCATION is global or a region, optionally followed by ;stage=N with N from 0 to 9."
  }
}

variable "gke_endpoint" {
  description = "How both functions reach GKE control planes (ROTOR_GKE_ENDPOINT): \"ip\" (the cluster endpoint and its CA) or \"dns\" (the DNS-based endpoint, reachable without network peering; needs container.clusters.connect, which the custom cluster-access role then includes)."
  type        = string
  default     = "ip"

  validation {
    condition     = contains(["ip", "dns"], var.gke_endpoint)
    error_message = "gke_endpoint must be \"ip\" or \"dns\"."
  }
}

variable "create_cluster_access_role" {
  description = "Grant both functions a custom role holding only container.clusters.get in each cluster project (true), or the predefined roles/container.clusterViewer (false: no custom role to manage, a few more read permissions)."
  type        = bool
  default     = true
}

variable "namespaces" {
  description = "onSecretEvent only acts on workloads in these namespaces (empty: all namespaces not excluded). Not applied to rotateSecret: a version a workload in any namespace still uses stays enabled."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.namespaces : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n))])
    error_message = "namespaces must be Kubernetes namespace names (RFC 1123 labels)."
  }
}

variable "canary_namespaces" {
  description = "ROTOR_CANARY_NAMESPACES: namespaces whose rotor.dev/wave orders every namespace and whose failed rollout halts the whole event (globs like team-*). Elsewhere a wave orders, and a failed rollout halts, only its own namespace: rotor.dev/wave is tenant input, this list is the operator's."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.canary_namespaces : can(regex("^[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$", n))])
    error_message = "canary_namespaces must be Kubernetes namespace names (RFC 1123 labels), optionally with * and ? globs."
  }
}

variable "on_halt" {
  description = "ROTOR_ON_HALT: what an event halted by a failed rollout does. hold (default): it stays halted for a person (rotor apply resumes it). rollback: onSecretEvent asks rotateSecret, on the rotation topic, to restore the value before the halted version as a new version, and the workloads that applied the bad one roll forward onto it (docs/rotation.md, Rolling back). A secret's rotor-on-halt annotation or label overrides it; rotateSecret can only restore the secrets it may write (managed_secrets)."
  type        = string
  default     = "hold"

  validation {
    condition     = contains(["hold", "rollback"], var.on_halt)
    error_message = "on_halt must be hold or rollback."
  }
}

variable "exclude_namespaces" {
  description = "onSecretEvent never acts on workloads in these namespaces. Not applied to rotateSecret (see namespaces)."
  type        = list(string)
  default     = ["kube-system", "kube-public", "kube-node-lease", "gke-managed-system"]

  validation {
    condition     = alltrue([for n in var.exclude_namespaces : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n))])
    error_message = "exclude_namespaces must be Kubernetes namespace names (RFC 1123 labels)."
  }
}

variable "dry_run" {
  description = "Plan and report, but never patch a workload or ping a pod. Useful for a first deployment."
  type        = bool
  default     = false
}

variable "project_map" {
  description = "Extra project id => project number pairs for projects whose secrets Rotor sees (notifications name projects by number, manifests by id). The deployment project is always included."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for id, number in var.project_map :
      can(regex("^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$", id)) && can(regex("^[0-9]+$", number))
    ])
    error_message = "project_map maps a project ID (my-proj) to its project number (123456789012)."
  }
}

# --- Secrets ------------------------------------------------------------------------------------------

variable "secrets" {
  description = <<-EOT
    Secrets Rotor manages in project_id (the key is the secret id). Each one notifies the secret-events
    topic; with rotation_period and next_rotation_time set, Secret Manager also sends SECRET_ROTATE on
    schedule to the rotation topic and the rotation function may add and disable its versions.
    labels carry the rotation strategy settings (see docs/rotation.md). Existing secrets: import them
    (`terraform import 'module.rotor.google_secret_manager_secret.managed["NAME"]' projects/P/secrets/NAME`).
  EOT
  type = map(object({
    labels             = optional(map(string), {})
    annotations        = optional(map(string), {})
    rotation_period    = optional(string)
    next_rotation_time = optional(string)
    # Empty: automatic replication. Otherwise user-managed replicas in these regions.
    replica_locations = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for id, _ in var.secrets : can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "Secret ids may contain letters, digits, '_' and '-' (at most 255 characters)."
  }

  validation {
    # Secret Manager refuses a rotation_period without a next_rotation_time and vice versa.
    condition = alltrue([
      for _, s in var.secrets : (s.rotation_period == null) == (s.next_rotation_time == null)
    ])
    error_message = "Set rotation_period and next_rotation_time together (Secret Manager requires both for a rotation schedule)."
  }

  validation {
    condition = alltrue([
      for _, s in var.secrets :
      s.rotation_period == null ? true : (
        can(regex("^[0-9]+s$", s.rotation_period)) &&
        try(tonumber(trimsuffix(s.rotation_period, "s")) >= 3600 && tonumber(trimsuffix(s.rotation_period, "s")) <= 3153600000, false)
      )
    ])
    error_message = "rotation_period is a number of seconds with an 's' suffix, between 3600s (1 hour) and 3153600000s (100 years), e.g. \"2592000s\" for 30 days."
  }

  validation {
    condition = alltrue([
      for _, s in var.secrets :
      s.next_rotation_time == null ? true : can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$", s.next_rotation_time)) && can(timeadd(s.next_rotation_time, "0s"))
    ])
    error_message = "next_rotation_time must be an RFC 3339 UTC timestamp such as 2026-10-01T09:00:00Z."
  }

  validation {
    condition = alltrue(flatten([
      for _, s in var.secrets : [for l in s.replica_locations : can(regex("^[a-z]+-[a-z]+[0-9]+$", l))]
    ]))
    error_message = "replica_locations must be regions such as europe-west1."
  }
}

variable "rotation_schedules" {
  description = <<-EOT
    Cloud Scheduler jobs that publish to the rotation topic, for rotations on a cron schedule rather than
    Secret Manager's fixed period. Each job's message names the secrets to rotate (keys of var.secrets,
    or full names projects/P/secrets/S of secrets the rotation function is granted through
    rotation_extra_secrets).
  EOT
  type = map(object({
    schedule    = string
    time_zone   = optional(string, "Etc/UTC")
    secrets     = list(string)
    description = optional(string, "")
    paused      = optional(bool, false)
    # "rotate": rotate the named secrets; "retire": only disable their superseded versions whose
    # grace period (ROTOR_DISABLE_AFTER) has passed.
    action = optional(string, "rotate")
  }))
  default = {}

  validation {
    condition     = alltrue([for name, _ in var.rotation_schedules : can(regex("^[a-z][a-z0-9-]{0,40}$", name))])
    error_message = "rotation_schedules keys become job names: lowercase letters, digits and hyphens, starting with a letter (at most 41 characters)."
  }

  validation {
    # Five fields of unix-cron; Cloud Scheduler does the full parsing, this catches the common slip
    # of a six-field (seconds) expression or an empty string.
    condition     = alltrue([for _, j in var.rotation_schedules : length(regexall("\\S+", j.schedule)) == 5])
    error_message = "schedule must be a five-field unix-cron expression, e.g. \"0 3 * * 1\" (03:00 every Monday)."
  }

  validation {
    condition     = alltrue([for _, j in var.rotation_schedules : contains(["rotate", "retire"], j.action)])
    error_message = "A rotation schedule's action must be \"rotate\" or \"retire\"."
  }

  validation {
    condition     = alltrue([for _, j in var.rotation_schedules : length(j.secrets) > 0])
    error_message = "Each rotation schedule must name at least one secret."
  }

  validation {
    condition = alltrue(flatten([
      for _, j in var.rotation_schedules : [
        for s in j.secrets : contains(keys(var.secrets), s) || contains(var.rotation_extra_secrets, s)
      ]
    ]))
    error_message = "A rotation schedule names a secret the rotation function cannot rotate: use a key of var.secrets or a name listed in rotation_extra_secrets."
  }
}

variable "rotation_extra_secrets" {
  description = "Existing secrets of project_id that this module does not manage but the rotation function may rotate (projects/PROJECT_ID/secrets/S or projects/PROJECT_ID/locations/L/secrets/S); it gets the same per-secret role on them. Their notification topics are yours to set."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for s in var.rotation_extra_secrets :
      can(regex("^projects/[^/]+/(locations/[a-z]+-[a-z]+[0-9]+/)?secrets/[A-Za-z0-9_-]{1,255}$", s))
    ])
    error_message = "rotation_extra_secrets entries must be projects/P/secrets/S or projects/P/locations/L/secrets/S."
  }

  validation {
    # The rotator role is a custom role of project_id, and a project-level custom role can only be
    # granted on resources inside that project.
    condition     = alltrue([for s in var.rotation_extra_secrets : split("/", s)[1] == var.project_id])
    error_message = "rotation_extra_secrets must live in project_id (name them projects/PROJECT_ID/...): the rotator custom role cannot be granted in other projects."
  }
}

variable "notified_secrets" {
  description = "Secrets outside this module whose notifications reach the secret-events topic (projects/P/secrets/S or projects/P/locations/L/secrets/S). onSecretEvent confirms every notification with Secret Manager's metadata (secrets.get, versions.get) before acting, so its identity gets roles/secretmanager.viewer on each (metadata only, never a value). Managed secrets (var.secrets) and rotation_extra_secrets get it without being listed."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for s in var.notified_secrets :
      can(regex("^projects/[^/]+/(locations/[a-z]+-[a-z]+[0-9]+/)?secrets/[A-Za-z0-9_-]{1,255}$", s))
    ])
    error_message = "notified_secrets entries must be projects/P/secrets/S or projects/P/locations/L/secrets/S."
  }
}

variable "rotation_read_secrets" {
  description = "Secrets the rotation function only reads (secretAccessor), e.g. the admin credential a postgres strategy logs in with. Full names projects/P/secrets/S."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for s in var.rotation_read_secrets :
      can(regex("^projects/[^/]+/(locations/[a-z]+-[a-z]+[0-9]+/)?secrets/[A-Za-z0-9_-]{1,255}$", s))
    ])
    error_message = "rotation_read_secrets entries must be projects/P/secrets/S or projects/P/locations/L/secrets/S."
  }
}

variable "rotation_cloudsql_projects" {
  description = "Projects whose Cloud SQL users the rotation function may update (the cloudsql strategy). Empty: no Cloud SQL access."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.rotation_cloudsql_projects : can(regex("^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))])
    error_message = "rotation_cloudsql_projects must be project IDs."
  }
}

# --- Functions ----------------------------------------------------------------------------------------

variable "function_source_zip" {
  description = "Path of the zip made by `npm run package` (dist/rotor-function.zip in a checkout). Uploaded under a content-addressed name, so a new build redeploys both functions and an unchanged one does not."
  type        = string

  validation {
    condition     = endswith(var.function_source_zip, ".zip")
    error_message = "function_source_zip must be the path of a .zip file (run `npm run package`)."
  }
}

variable "event_function" {
  description = "Sizing of onSecretEvent (the reload function) and extra environment variables. The 512Mi default is what `npm run bench` measured enough for 10 000 workloads in one cluster, 50 000 in one cluster and 4 clusters x 10 000 in one event (peak RSS 167 MB / 256 MB / 203 MB from 105 MB ready to serve, with the heap bound the module sets: NODE_OPTIONS=--max-old-space-size of 3/4 of memory; docs/deploy.md, Memory of onSecretEvent). concurrency: events one instance takes at once; a delivery waits inside itself (for syncs and rollouts), so with 1 a few waiting events would hold every instance. 50 is what one 512Mi instance carries as measured: 50 events delivered at once on a 10 000-workload cluster peaked at 235 MB (shared discovery), and each event waiting inside its delivery adds under 1 MB (`npm run bench -- --waits`; docs/deploy.md, Concurrency of onSecretEvent). Concurrency above 1 needs cpu >= 1."
  type = object({
    memory                = optional(string, "512Mi")
    cpu                   = optional(string, "1")
    timeout_seconds       = optional(number, 300)
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 5)
    concurrency           = optional(number, 50)
    environment_variables = optional(map(string), {})
  })
  default = {}

  validation {
    # Event-driven gen2 functions may run 540 s; a push subscription's ack deadline caps at 600 s.
    condition     = var.event_function.timeout_seconds >= 10 && var.event_function.timeout_seconds <= 540
    error_message = "event_function.timeout_seconds must be between 10 and 540."
  }

  validation {
    # Cloud Run serves more than one request at a time per instance only with at least one vCPU.
    condition     = var.event_function.concurrency == 1 || !can(tonumber(var.event_function.cpu)) || try(tonumber(var.event_function.cpu) >= 1, false)
    error_message = "event_function.concurrency above 1 needs event_function.cpu of at least 1."
  }

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.event_function.memory))
    error_message = "event_function.memory must look like 512Mi or 1Gi."
  }

  validation {
    condition = (var.event_function.min_instances >= 0 && var.event_function.max_instances >= 1 &&
    var.event_function.min_instances <= var.event_function.max_instances && var.event_function.concurrency >= 1 && var.event_function.concurrency <= 1000)
    error_message = "event_function: need 0 <= min_instances <= max_instances, max_instances >= 1 and 1 <= concurrency <= 1000."
  }
}

variable "fan_out_min_clusters" {
  description = "Fan out from this many clusters on (clusters plus connect_gateway_memberships): onSecretEvent then publishes one message per cluster to a fan-out topic and a second function, onClusterEvent, reconciles each cluster in its own instance, retried and dead-lettered on its own (ROTOR_FANOUT_MIN_CLUSTERS; docs/deploy.md, \"Fleets beyond one instance\"). Below it, no fan-out topic or function is created and onSecretEvent reconciles every cluster itself. The default 8 is what `npm run bench -- --clusters N` measured."
  type        = number
  default     = 8

  validation {
    condition     = var.fan_out_min_clusters >= 1 && floor(var.fan_out_min_clusters) == var.fan_out_min_clusters
    error_message = "fan_out_min_clusters must be a whole number, at least 1 (1: always fan out)."
  }
}

variable "cluster_function" {
  description = "Sizing of onClusterEvent (one cluster of a fanned-out event per instance; created only when the fleet reaches fan_out_min_clusters) and extra environment variables. An instance holds one cluster's dependents: the 512Mi that one cluster of 10 000 workloads needs (peak RSS 337 MB). max_instances bounds how many clusters are reconciled at once; the rest wait in the subscription."
  type = object({
    memory                = optional(string, "512Mi")
    cpu                   = optional(string, "1")
    timeout_seconds       = optional(number, 300)
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 20)
    concurrency           = optional(number, 1)
    environment_variables = optional(map(string), {})
  })
  default = {}

  validation {
    condition     = var.cluster_function.timeout_seconds >= 10 && var.cluster_function.timeout_seconds <= 540
    error_message = "cluster_function.timeout_seconds must be between 10 and 540."
  }

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.cluster_function.memory))
    error_message = "cluster_function.memory must look like 512Mi or 1Gi."
  }

  validation {
    condition = (var.cluster_function.min_instances >= 0 && var.cluster_function.max_instances >= 1 &&
    var.cluster_function.min_instances <= var.cluster_function.max_instances && var.cluster_function.concurrency >= 1 && var.cluster_function.concurrency <= 1000)
    error_message = "cluster_function: need 0 <= min_instances <= max_instances, max_instances >= 1 and 1 <= concurrency <= 1000."
  }
}

variable "rotation_function" {
  description = "Sizing of rotateSecret and extra environment variables."
  type = object({
    memory                = optional(string, "512Mi")
    cpu                   = optional(string, "1")
    timeout_seconds       = optional(number, 540)
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 2)
    concurrency           = optional(number, 1)
    environment_variables = optional(map(string), {})
  })
  default = {}

  validation {
    condition     = var.rotation_function.timeout_seconds >= 10 && var.rotation_function.timeout_seconds <= 540
    error_message = "rotation_function.timeout_seconds must be between 10 and 540."
  }

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.rotation_function.memory))
    error_message = "rotation_function.memory must look like 512Mi or 1Gi."
  }

  validation {
    condition = (var.rotation_function.min_instances >= 0 && var.rotation_function.max_instances >= 1 &&
    var.rotation_function.min_instances <= var.rotation_function.max_instances && var.rotation_function.concurrency >= 1 && var.rotation_function.concurrency <= 1000)
    error_message = "rotation_function: need 0 <= min_instances <= max_instances, max_instances >= 1 and 1 <= concurrency <= 1000."
  }
}

variable "log_level" {
  description = "Log level of both functions (ROTOR_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "ingress_settings" {
  description = "Who may reach the functions over the network. Pub/Sub push and Eventarc deliveries from the same project count as internal; IAM (run.invoker) is checked in any case."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "build_service_account" {
  description = "Service account Cloud Build uses to build the functions, as projects/PROJECT/serviceAccounts/EMAIL. null: the project's default build service account."
  type        = string
  default     = null

  validation {
    condition     = var.build_service_account == null || can(regex("^projects/[^/]+/serviceAccounts/[^/@]+@[^/]+$", var.build_service_account))
    error_message = "build_service_account must be projects/PROJECT/serviceAccounts/EMAIL."
  }
}

# --- Delivery -----------------------------------------------------------------------------------------

variable "delivery" {
  description = <<-EOT
    How Pub/Sub messages reach the functions.
    "push": Rotor-owned push subscriptions (OIDC-authenticated) with exponential backoff and a dead-letter
            topic after max_delivery_attempts, so a poison message stops being retried and is kept for
            inspection. The functions receive the raw push body, which functions-framework turns into
            the same CloudEvent.
    "eventarc": each function gets an Eventarc Pub/Sub trigger with RETRY_POLICY_RETRY. The subscription
            is Google-managed and Terraform cannot give it a dead-letter policy; see the deploy guide.
  EOT
  type        = string
  default     = "push"

  validation {
    condition     = contains(["push", "eventarc"], var.delivery)
    error_message = "delivery must be \"push\" or \"eventarc\"."
  }
}

# The redelivery budget (budget.tf derives the subscription's attempts from these and the functions'
# timeouts): only deliveries without progress count, so the attempts must outlast the longest wait
# without progress, whatever the size of the rollout.

variable "retry_backoff_seconds" {
  description = "push delivery: seconds between redeliveries (Pub/Sub allows 0-600; minimum and maximum backoff are both set to it, so the budget is known). A delivery waits inside itself for its next step (budget.tf); this is the gap before a delivery that made no progress, or failed, is tried again."
  type        = number
  default     = 60

  validation {
    condition     = var.retry_backoff_seconds >= 10 && var.retry_backoff_seconds <= 600 && floor(var.retry_backoff_seconds) == var.retry_backoff_seconds
    error_message = "retry_backoff_seconds must be a whole number of seconds between 10 and 600 (Pub/Sub's maximum backoff is 600 s)."
  }
}

variable "rollout_timeout_seconds" {
  description = "ROTOR_ROLLOUT_TIMEOUT_SECONDS: a workload not Available this long after Rotor's restart halts the event."
  type        = number
  default     = 600

  validation {
    condition     = var.rollout_timeout_seconds >= 1 && floor(var.rollout_timeout_seconds) == var.rollout_timeout_seconds
    error_message = "rollout_timeout_seconds must be a whole number of seconds, at least 1."
  }
}

variable "max_wait_seconds" {
  description = "ROTOR_MAX_WAIT_SECONDS: how long onSecretEvent waits for a dependent's source to carry the new version before it gives up."
  type        = number
  default     = 1800

  validation {
    condition     = var.max_wait_seconds >= 1 && floor(var.max_wait_seconds) == var.max_wait_seconds
    error_message = "max_wait_seconds must be a whole number of seconds, at least 1."
  }
}

variable "wave_size" {
  description = "ROTOR_WAVE_SIZE: at most this many workloads of a wave restarted and not yet rolled out."
  type        = number
  default     = 10

  validation {
    condition     = var.wave_size >= 1 && floor(var.wave_size) == var.wave_size
    error_message = "wave_size must be a whole number, at least 1."
  }
}

variable "message_retention" {
  description = "How long undelivered messages (and dead letters) are kept, e.g. 604800s (7 days, the maximum for subscriptions)."
  type        = string
  default     = "604800s"

  validation {
    condition = can(regex("^[0-9]+s$", var.message_retention)) && try(
      tonumber(trimsuffix(var.message_retention, "s")) >= 600 && tonumber(trimsuffix(var.message_retention, "s")) <= 604800, false
    )
    error_message = "message_retention must be between 600s and 604800s."
  }
}

variable "kubernetes_rbac_file" {
  description = "The Kubernetes RBAC manifest whose ClusterRole (onSecretEvent's `rotor`) the kubernetes_rbac output carries. null: infra/k8s/rbac.yaml of the Rotor checkout this module sits in."
  type        = string
  default     = null
}

variable "kubernetes_rotation_rbac_file" {
  description = "The Kubernetes RBAC manifest whose read-only ClusterRole (rotateSecret's `rotor-pins`) the kubernetes_rbac output carries. null: infra/k8s/rbac-rotation.yaml of the Rotor checkout this module sits in."
  type        = string
  default     = null
}

# --- Monitoring ---------------------------------------------------------------------------------------

variable "enable_monitoring" {
  description = "Create Rotor's log-based metrics, alert policies and dashboard (monitoring.tf; see the deploy guide's \"Monitoring and alerts\")."
  type        = bool
  default     = true
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels every Rotor alert policy notifies: projects/PROJECT/notificationChannels/ID. Empty: the policies open incidents in the console only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "notification_channels entries must be projects/PROJECT/notificationChannels/ID (the id of a google_monitoring_notification_channel)."
  }
}

variable "restart_windows" {
  description = "ROTOR_RESTART_WINDOWS: when restarts may happen, e.g. \"Mon-Fri 02:00-05:00 Europe/Berlin; Sat 00:00-24:00 UTC\"; empty: at any time. A Namespace's rotor.dev/restart-windows annotation overrides it for its workloads."
  type        = string
  default     = ""

  validation {
    condition     = length(var.restart_windows) <= 1024
    error_message = "restart_windows is at most 1024 characters (the function validates the syntax at start)."
  }
}

variable "workload_restart_windows" {
  description = "ROTOR_WORKLOAD_RESTART_WINDOWS: windows per workload, \"NAMESPACE/Kind/NAME\" => windows (overrides the namespace's and restart_windows)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.workload_restart_windows) : can(regex("^[a-z0-9-]+/[A-Za-z]+/[a-z0-9.-]+$", k))])
    error_message = "workload_restart_windows keys must be NAMESPACE/Kind/NAME, e.g. payments/Deployment/api."
  }
}

variable "reload_outside_windows" {
  description = "ROTOR_RELOAD_OUTSIDE_WINDOWS: reloads (which restart no pod) may happen outside maintenance windows."
  type        = bool
  default     = false
}

variable "stage_max_wait_seconds" {
  description = "ROTOR_STAGE_MAX_WAIT_SECONDS: how long after an event a cluster of a later stage (clusters entries' ;stage=N) waits for the earlier stages to converge; then its dependents are reported gave-up (acked), not waited for. A halt in an earlier stage is never waited for: it holds the later stages until a person continues."
  type        = number
  default     = 86400

  validation {
    condition     = var.stage_max_wait_seconds >= 1 && floor(var.stage_max_wait_seconds) == var.stage_max_wait_seconds
    error_message = "stage_max_wait_seconds must be a whole number of seconds, at least 1."
  }
}

variable "window_max_wait_seconds" {
  description = "ROTOR_WINDOW_MAX_WAIT_SECONDS: a window opening later than this after the event is reported (gave-up, acked), not waited for."
  type        = number
  default     = 604800

  validation {
    condition     = var.window_max_wait_seconds >= 1 && floor(var.window_max_wait_seconds) == var.window_max_wait_seconds
    error_message = "window_max_wait_seconds must be a whole number of seconds, at least 1."
  }
}

# --- The clusters' timing and secret groups -----------------------------------------------------------
# onSecretEvent and onClusterEvent read these (functions/config.ts); the bounds are exactly the ones
# it accepts, so a value it would refuse at start fails at plan time instead. Not nullable: null (a
# root's "not set", as in examples/basic) means the default, which so lives here only.

variable "csi_rotation_interval_seconds" {
  description = "ROTOR_CSI_ROTATION_INTERVAL_SECONDS: the rotation interval of the Secrets Store CSI driver in your clusters (GKE's Secret Manager add-on: rotationConfig.rotationInterval, 120 s unless you changed it). Where the driver leaves no SecretProviderClassPodStatus for a workload's pods, an in-place reload of its CSI volume waits this long after the event, so set it to the interval your clusters use. Keep it at most max_wait_seconds, or such reloads give up."
  type        = number
  default     = 120
  nullable    = false

  validation {
    condition     = var.csi_rotation_interval_seconds >= 1 && floor(var.csi_rotation_interval_seconds) == var.csi_rotation_interval_seconds
    error_message = "csi_rotation_interval_seconds must be a whole number of seconds, at least 1 (the CSI driver's rotation interval; GKE's default is 120)."
  }
}

variable "kubelet_sync_seconds" {
  description = "ROTOR_KUBELET_SYNC_SECONDS: the kubelet's sync period (syncFrequency) on your nodes, 1-600 (60 in Kubernetes and GKE unless you changed it). A running pod sees a changed Secret in its volume only on its kubelet's next sync, up to 1.5 x this later, so a reload of a synced Secret (ESO, SecretSync, the CSI driver's secretObjects) read as a volume waits 1.5 x this + 5 s after the sync. Keep 1.5 x this + 5 at most max_wait_seconds, or such reloads give up."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.kubelet_sync_seconds >= 1 && var.kubelet_sync_seconds <= 600 && floor(var.kubelet_sync_seconds) == var.kubelet_sync_seconds
    error_message = "kubelet_sync_seconds must be a whole number of seconds from 1 to 600 (the kubelet's sync period; its default is 60)."
  }
}

variable "group_window_seconds" {
  description = "ROTOR_GROUP_WINDOW_SECONDS: secrets sharing a rotor-group label (or rotated by one rotateSecret request) whose new versions were created within this many seconds of the event's count as rotated together: a workload reading several of them restarts once, after all are visible to it."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.group_window_seconds >= 1 && floor(var.group_window_seconds) == var.group_window_seconds
    error_message = "group_window_seconds must be a whole number of seconds, at least 1."
  }
}

variable "group_wait_seconds" {
  description = "ROTOR_GROUP_WAIT_SECONDS: how long after the event a restart waits for the other secrets of its group to become visible to the workload; then it restarts with what is visible and says which secrets it gave up on. 0 turns groups off. Longer than max_wait_seconds and rollout_timeout_seconds, it sizes the redelivery attempts (budget.tf)."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = var.group_wait_seconds >= 0 && floor(var.group_wait_seconds) == var.group_wait_seconds
    error_message = "group_wait_seconds must be a whole number of seconds, at least 0 (0 turns secret groups off)."
  }
}
