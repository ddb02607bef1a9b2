output "service_accounts" {
  description = "Rotor's identities; the kubernetes_rbac output binds `events` and `rotation` in each cluster."
  value       = module.rotor.service_accounts
}

output "topics" {
  description = "Rotor's Pub/Sub topics."
  value       = module.rotor.topics
}

output "functions" {
  description = "The deployed functions."
  value       = module.rotor.functions
}

output "secrets" {
  description = "The managed secrets."
  value       = module.rotor.secrets
}

output "kubernetes_rbac" {
  description = "Apply to every cluster: terraform output -raw kubernetes_rbac | kubectl apply -f -"
  value       = module.rotor.kubernetes_rbac
}

output "kubernetes_admission_policy" {
  description = "Apply to every cluster after kubernetes_rbac: terraform output -raw kubernetes_admission_policy | kubectl apply -f -"
  value       = module.rotor.kubernetes_admission_policy
}

output "monitoring" {
  description = "Rotor's log-based metrics, alert policies and dashboard."
  value       = module.rotor.monitoring
}
