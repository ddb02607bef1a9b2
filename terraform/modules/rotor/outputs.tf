output "project_number" {
  description = "Number of project_id: Secret Manager notifications name the project by it."
  value       = local.project_number
}

output "topics" {
  description = "Pub/Sub topic ids: secret_events (Secret Manager notifications), rotation (scheduler and SECRET_ROTATE), outcomes (Rotor's decisions), dead_letters, cluster_events (the fan-out; null below fan_out_min_clusters)."
  value = {
    secret_events  = google_pubsub_topic.secret_events.id
    rotation       = google_pubsub_topic.rotation.id
    outcomes       = google_pubsub_topic.outcomes.id
    dead_letters   = google_pubsub_topic.dead_letters.id
    cluster_events = one(google_pubsub_topic.cluster_events[*].id)
  }
}

output "dead_letter_subscription" {
  description = "Pull subscription holding messages that exhausted their delivery attempts."
  value       = google_pubsub_subscription.dead_letters.id
}

output "functions" {
  description = "The functions (events, rotation, and clusters when fanning out): name, Cloud Run service and URL."
  value = {
    for k, f in google_cloudfunctions2_function.fn : k => {
      name    = f.name
      service = f.service_config[0].service
      uri     = f.service_config[0].uri
    }
  }
}

output "service_accounts" {
  description = "Emails of the identities: events (onSecretEvent, and onClusterEvent when fanning out) and rotation (rotateSecret), both bound in Kubernetes RBAC by the kubernetes_rbac output, and invoker (Pub/Sub deliveries)."
  value = {
    events   = google_service_account.events.email
    rotation = google_service_account.rotation.email
    invoker  = google_service_account.invoker.email
  }
}

output "secrets" {
  description = "Managed secrets by id: full resource name."
  value       = { for id, s in google_secret_manager_secret.managed : id => s.name }
}

output "kubernetes_rbac" {
  description = "Kubernetes RBAC for both functions: ClusterRole `rotor` bound to onSecretEvent's service account, then the read-only ClusterRole `rotor-pins` bound to rotateSecret's. Apply to each cluster: terraform output -raw kubernetes_rbac | kubectl apply -f -"
  value       = local.kubernetes_rbac
}

output "kubernetes_admission_policy" {
  description = "ValidatingAdmissionPolicies that let onSecretEvent's service account change only its restart marker and rotor.dev/* annotations on workloads, and force-sync on ExternalSecrets. Apply to each cluster after kubernetes_rbac: terraform output -raw kubernetes_admission_policy | kubectl apply -f -"
  value       = local.kubernetes_admission_policy
}

output "delivery" {
  description = "How messages reach the functions, and the subscriptions involved."
  value = {
    mode = var.delivery
    push_subscriptions = {
      for k, s in google_pubsub_subscription.push : k => s.id
    }
    # With Eventarc delivery the subscriptions belong to these triggers (dead-lettering is manual).
    eventarc_triggers = {
      for k, f in google_cloudfunctions2_function.fn : k => try(f.event_trigger[0].trigger, null)
    }
  }
}

output "monitoring" {
  description = "Log-based metric types, alert policy names and the dashboard id (null with enable_monitoring = false)."
  value = var.enable_monitoring ? {
    metrics = local.metric_types
    alert_policies = {
      dead_letters      = google_monitoring_alert_policy.dead_letters[0].name
      outcomes          = google_monitoring_alert_policy.outcomes[0].name
      rotation_failures = google_monitoring_alert_policy.rotation_failures[0].name
    }
    dashboard = google_monitoring_dashboard.rotor[0].id
  } : null
}
