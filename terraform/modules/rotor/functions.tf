# The gen2 functions, their source, and their service accounts (plus the identity Pub/Sub or
# Eventarc uses to invoke them). What each identity may do is in iam.tf and gke.tf. onClusterEvent
# (fan-out, for fleets of fan_out_min_clusters or more) is built from the same source and runs as
# onSecretEvent's identity: it does the same work, one cluster at a time.

# --- Identities -----------------------------------------------------------------------------------

# onSecretEvent: reads cluster metadata and patches workloads; never reads a secret value.
resource "google_service_account" "events" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-events"
  display_name = "Rotor onSecretEvent"
  description  = "Runs onSecretEvent: lists and patches GKE workloads through Kubernetes RBAC; no Secret Manager access."

  depends_on = [google_project_service.apis]
}

# rotateSecret: adds and disables versions of the managed secrets only; in the clusters it may only
# list (to keep the versions workloads still use), never change anything.
resource "google_service_account" "rotation" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-rotation"
  display_name = "Rotor rotateSecret"
  description  = "Runs rotateSecret: rotates the managed secrets; lists GKE workloads read-only (Kubernetes RBAC) to keep versions in use."

  depends_on = [google_project_service.apis]
}

# The caller identity: Pub/Sub push subscriptions sign their OIDC tokens as this account (or the
# Eventarc triggers use it). It may invoke the two functions and do nothing else, which keeps
# "who can trigger a rotation" separate from "what a rotation may change".
resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-invoker"
  display_name = "Rotor invoker"
  description  = "Identity of the Pub/Sub deliveries that invoke the Rotor functions."

  depends_on = [google_project_service.apis]
}

# --- Source ---------------------------------------------------------------------------------------

resource "google_storage_bucket" "source" {
  project = var.project_id
  # Project ids are globally unique, so this name is too; ":" of legacy domain-scoped ids is not
  # allowed in bucket names.
  name                        = "${replace(var.project_id, ":", "-")}-${var.name_prefix}-source"
  location                    = var.region
  labels                      = local.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # The bucket only holds build inputs that `npm run package` can recreate at any time.
  force_destroy = true

  # Old bundles are only needed until the function has been rebuilt from a newer one.
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.source.name
  # Content-addressed: a new bundle gets a new name, which is what makes Cloud Functions rebuild;
  # an unchanged bundle (package.mjs writes reproducible zips) changes nothing.
  name         = "${var.name_prefix}-function-${filemd5(var.function_source_zip)}.zip"
  source       = var.function_source_zip
  content_type = "application/zip"
}

# --- Configuration --------------------------------------------------------------------------------

locals {
  # Environment of both functions (the names are the functions' configuration contract; see
  # docs/configuration.md). Caller-supplied variables win, so any of these can be overridden.
  common_environment = {
    ROTOR_PROJECT_MAP     = join(",", [for id, number in local.project_map : "${id}=${number}"])
    ROTOR_DEFAULT_PROJECT = var.project_id
    ROTOR_LOG_LEVEL       = var.log_level
    ROTOR_DRY_RUN         = tostring(var.dry_run)
  }

  # The clusters, and how to reach them: both functions read them (gke.tf grants both access).
  cluster_environment = {
    ROTOR_CLUSTERS     = join(",", concat(var.clusters, var.connect_gateway_memberships))
    ROTOR_GKE_ENDPOINT = var.gke_endpoint
  }

  # Fan-out (functions/core/fanOut.ts): decided here from the fleet's size, so the topic and the
  # second function exist only where they are used; the functions apply the same threshold
  # (ROTOR_FANOUT_MIN_CLUSTERS), so both always agree.
  fleet_size = length(distinct(concat(var.clusters, var.connect_gateway_memberships)))
  fan_out    = local.fleet_size >= var.fan_out_min_clusters
  fan_out_environment = local.fan_out ? {
    ROTOR_FANOUT_TOPIC        = one(google_pubsub_topic.cluster_events[*].id)
    ROTOR_FANOUT_MIN_CLUSTERS = tostring(var.fan_out_min_clusters)
  } : {}

  # onSecretEvent's and onClusterEvent's settings: one configuration, so a cluster's event is
  # handled alike whichever of the two reconciles it.
  reconcile_environment = merge(local.common_environment, local.cluster_environment, {
    ROTOR_NAMESPACES         = join(",", var.namespaces)
    ROTOR_EXCLUDE_NAMESPACES = join(",", var.exclude_namespaces)
    ROTOR_CANARY_NAMESPACES  = join(",", var.canary_namespaces)
    ROTOR_OUTCOME_TOPIC      = google_pubsub_topic.outcomes.id
    # A halt under the rollback policy (this or a secret's rotor-on-halt) asks rotateSecret here.
    ROTOR_ON_HALT        = var.on_halt
    ROTOR_ROTATION_TOPIC = google_pubsub_topic.rotation.id
    # The clusters' timing a reload waits out (core/csiRotation.ts, core/kubeletProjection.ts), and
    # which versions count as rotated together (core/secretGroups.ts; its wait is in budget.tf).
    ROTOR_CSI_ROTATION_INTERVAL_SECONDS = tostring(var.csi_rotation_interval_seconds)
    ROTOR_KUBELET_SYNC_SECONDS          = tostring(var.kubelet_sync_seconds)
    ROTOR_GROUP_WINDOW_SECONDS          = tostring(var.group_window_seconds)
  }, local.fan_out_environment, local.budget_environment, local.window_environment)

  # Maintenance windows (functions/config.ts validates them at start; docs/deploy.md).
  window_environment = merge(
    var.restart_windows == "" ? {} : { ROTOR_RESTART_WINDOWS = var.restart_windows },
    length(var.workload_restart_windows) == 0 ? {} : { ROTOR_WORKLOAD_RESTART_WINDOWS = jsonencode(var.workload_restart_windows) },
    {
      ROTOR_RELOAD_OUTSIDE_WINDOWS  = tostring(var.reload_outside_windows)
      ROTOR_WINDOW_MAX_WAIT_SECONDS = tostring(var.window_max_wait_seconds)
      # Cluster stages (clusters entries' ;stage=N): how long a later stage waits for the earlier.
      ROTOR_STAGE_MAX_WAIT_SECONDS = tostring(var.stage_max_wait_seconds)
    },
  )

  # V8 sizes its heap from the memory it sees, which in a function's sandbox need not be the
  # function's limit; most of a reconcile's peak above start is garbage it has not needed to
  # collect yet (docs/deploy.md, Memory of onSecretEvent). Bounding the old space to 3/4 of the
  # memory makes it collect before the instance is killed for memory, leaving a quarter for code,
  # buffers and sockets. A NODE_OPTIONS in environment_variables replaces it.
  heap_mb = {
    for name, memory in { event = var.event_function.memory, cluster = var.cluster_function.memory } :
    name => floor(tonumber(regex("^[0-9]+", memory)) * (can(regex("G", memory)) ? 1024 : 1) * 3 / 4)
  }

  # Each function's delivery budget follows its own timeout (budget.tf); continuations go back to
  # the topic the function's deliveries arrive on.
  event_environment = merge(local.reconcile_environment, {
    NODE_OPTIONS                  = "--max-old-space-size=${local.heap_mb.event}"
    ROTOR_DELIVERY_BUDGET_SECONDS = tostring(local.delivery_budget_seconds.events)
    ROTOR_EVENT_TOPIC             = google_pubsub_topic.secret_events.id
  }, var.event_function.environment_variables)
  on_cluster_event_environment = merge(local.reconcile_environment, {
    NODE_OPTIONS                  = "--max-old-space-size=${local.heap_mb.cluster}"
    ROTOR_DELIVERY_BUDGET_SECONDS = tostring(local.delivery_budget_seconds.clusters)
  }, var.cluster_function.environment_variables)

  # rotateSecret lists the clusters' workloads before it disables a superseded version, and keeps
  # every version one of them still uses (functions/rotation/clusterPins.ts). It deliberately gets
  # no namespace lists: they say where onSecretEvent may ACT, while a version pinned by a workload
  # in an excluded namespace must stay enabled all the same (disabling it would break that
  # workload's next mount or restart). Without clusters, retirement keeps every version unless
  # ROTOR_RETIRE_WITHOUT_CLUSTERS=true is set in rotation_function.environment_variables.
  rotation_environment = merge(local.common_environment, local.cluster_environment, var.rotation_function.environment_variables)

  all_functions = {
    events = {
      name        = "${var.name_prefix}-on-secret-event"
      entry_point = "onSecretEvent"
      description = "Rotor: restarts or reloads the GKE workloads that depend on a secret that changed."
      settings    = var.event_function
      sa          = google_service_account.events.email
      environment = local.event_environment
      topic       = google_pubsub_topic.secret_events.id
    }
    rotation = {
      name        = "${var.name_prefix}-rotate-secret"
      entry_point = "rotateSecret"
      description = "Rotor: rotates the managed secrets on schedule or on SECRET_ROTATE."
      settings    = var.rotation_function
      sa          = google_service_account.rotation.email
      environment = local.rotation_environment
      topic       = google_pubsub_topic.rotation.id
    }
    clusters = {
      name        = "${var.name_prefix}-on-cluster-event"
      entry_point = "onClusterEvent"
      description = "Rotor: one cluster of a fanned-out secret event (restart or reload its dependents)."
      settings    = var.cluster_function
      sa          = google_service_account.events.email
      environment = local.on_cluster_event_environment
      topic       = one(google_pubsub_topic.cluster_events[*].id)
    }
  }
  functions = { for k, f in local.all_functions : k => f if k != "clusters" || local.fan_out }
}

# --- Functions ------------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = each.value.name
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime     = "nodejs22"
    entry_point = each.value.entry_point
    # null keeps the project's default build service account.
    service_account = var.build_service_account
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = each.value.sa
    available_memory                 = each.value.settings.memory
    available_cpu                    = each.value.settings.cpu
    timeout_seconds                  = each.value.settings.timeout_seconds
    min_instance_count               = each.value.settings.min_instances
    max_instance_count               = each.value.settings.max_instances
    max_instance_request_concurrency = each.value.settings.concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    environment_variables            = each.value.environment
  }

  # Eventarc delivery: a Google-managed push subscription on the topic. RETRY_POLICY_RETRY makes a
  # thrown error (transient failure or `wait`) come back with exponential backoff instead of being
  # dropped; idempotency (rotor.dev/applied) makes the redelivery safe.
  dynamic "event_trigger" {
    for_each = var.delivery == "eventarc" ? [1] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = each.value.topic
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.invoker.email
    }
  }

  depends_on = [google_project_service.apis]
}
