# Cluster access for both functions.
#
# GKE authorizes a Google identity by IAM OR Kubernetes RBAC. Rotor gets the least IAM that lets it
# authenticate and find the endpoint (container.clusters.get) and everything else from Kubernetes
# RBAC, which grants no access to Kubernetes Secrets: onSecretEvent the ClusterRole `rotor` of
# infra/k8s/rbac.yaml (list, get, patch workloads; ping pods), rotateSecret the read-only
# ClusterRole `rotor-pins` of infra/k8s/rbac-rotation.yaml (list only: which versions workloads
# still use, so retirement never disables one of them). The predefined roles/container.developer
# would instead allow reading every Secret in the cluster.

locals {
  # Distinct projects holding the clusters / memberships (each needs its own grant).
  cluster_projects    = toset([for c in var.clusters : split("/", c)[1]])
  membership_projects = toset([for m in var.connect_gateway_memberships : split("/", m)[1]])
}

# container.clusters.get: read the cluster's endpoint and CA, and pass GKE's IAM check so that
# RBAC is consulted at all. roles/container.clusterViewer would also allow listing clusters.
resource "google_project_iam_custom_role" "cluster_access" {
  for_each = var.create_cluster_access_role ? local.cluster_projects : toset([])

  project     = each.value
  role_id     = "${replace(var.name_prefix, "-", "_")}_cluster_access"
  title       = "Rotor cluster access (${var.name_prefix})"
  description = "container.clusters.get (and .connect for the DNS endpoint): what a Google identity needs before Kubernetes RBAC applies."
  # The DNS-based endpoint additionally checks container.clusters.connect on every request.
  permissions = var.gke_endpoint == "dns" ? ["container.clusters.connect", "container.clusters.get"] : ["container.clusters.get"]
}

resource "google_project_iam_member" "events_cluster_access" {
  for_each = local.cluster_projects

  project = each.value
  role    = var.create_cluster_access_role ? google_project_iam_custom_role.cluster_access[each.value].name : "roles/container.clusterViewer"
  member  = google_service_account.events.member
}

# rotateSecret reaches the same clusters the same way (same endpoint, same IAM check); what it may
# do there is decided by the read-only `rotor-pins` ClusterRole.
resource "google_project_iam_member" "rotation_cluster_access" {
  for_each = local.cluster_projects

  project = each.value
  role    = var.create_cluster_access_role ? google_project_iam_custom_role.cluster_access[each.value].name : "roles/container.clusterViewer"
  member  = google_service_account.rotation.member
}

# Connect Gateway: requests reach the cluster through gkehub. gatewayEditor because Rotor patches
# workloads and POSTs through the pod proxy (gatewayReader only allows GET); gkehub.viewer to
# resolve the membership. RBAC inside the cluster still decides what those requests may do.
resource "google_project_iam_member" "events_gateway" {
  for_each = {
    for pair in setproduct(local.membership_projects, ["roles/gkehub.gatewayEditor", "roles/gkehub.viewer"]) :
    "${pair[0]}/${pair[1]}" => { project = pair[0], role = pair[1] }
  }

  project = each.value.project
  role    = each.value.role
  member  = google_service_account.events.member
}

# rotateSecret only lists through the gateway: GET requests, which gatewayReader allows.
resource "google_project_iam_member" "rotation_gateway" {
  for_each = {
    for pair in setproduct(local.membership_projects, ["roles/gkehub.gatewayReader", "roles/gkehub.viewer"]) :
    "${pair[0]}/${pair[1]}" => { project = pair[0], role = pair[1] }
  }

  project = each.value.project
  role    = each.value.role
  member  = google_service_account.rotation.member
}

# The Kubernetes side is rendered, not applied. A kubernetes provider here would need cluster
# credentials and network reach to every control plane at plan time (private endpoints, one
# provider block per cluster), and one more provider to build and pin; applying RBAC is a
# cluster-admin act that belongs with the cluster's own tooling. So the module outputs the
# ClusterRoles from infra/k8s/rbac.yaml (onSecretEvent's; also what the integration tests apply)
# and infra/k8s/rbac-rotation.yaml (rotateSecret's, read-only), the single sources, each with a
# ClusterRoleBinding to this deployment's service-account email:
#   terraform output -raw kubernetes_rbac | kubectl apply -f -
locals {
  rbac_file          = coalesce(var.kubernetes_rbac_file, "${path.module}/../../../infra/k8s/rbac.yaml")
  rotation_rbac_file = coalesce(var.kubernetes_rotation_rbac_file, "${path.module}/../../../infra/k8s/rbac-rotation.yaml")

  # The first document of each file is the ClusterRole; its binding (to a test user) is replaced.
  rbac_cluster_role          = fileexists(local.rbac_file) ? trimspace(split("\n---\n", file(local.rbac_file))[0]) : "# ClusterRole `rotor`: apply it from infra/k8s/rbac.yaml in the Rotor repository."
  rotation_rbac_cluster_role = fileexists(local.rotation_rbac_file) ? trimspace(split("\n---\n", file(local.rotation_rbac_file))[0]) : "# ClusterRole `rotor-pins`: apply it from infra/k8s/rbac-rotation.yaml in the Rotor repository."

  # GKE presents a Google service account to RBAC as a User named by its email.
  rbac_bindings = {
    events = {
      name    = var.name_prefix
      role    = "rotor"
      subject = google_service_account.events.email
    }
    rotation = {
      name    = "${var.name_prefix}-pins"
      role    = "rotor-pins"
      subject = google_service_account.rotation.email
    }
  }

  rbac_binding = {
    for k, b in local.rbac_bindings : k => yamlencode({
      apiVersion = "rbac.authorization.k8s.io/v1"
      kind       = "ClusterRoleBinding"
      metadata = {
        name   = b.name
        labels = { "app.kubernetes.io/name" = "rotor" }
      }
      roleRef = {
        apiGroup = "rbac.authorization.k8s.io"
        kind     = "ClusterRole"
        name     = b.role
      }
      subjects = [{
        apiGroup = "rbac.authorization.k8s.io"
        kind     = "User"
        name     = b.subject
      }]
    })
  }

  # onSecretEvent's role and binding first (what this output always held), then rotateSecret's.
  kubernetes_rbac = "${join("\n---\n", [for doc in [
    local.rbac_cluster_role,
    local.rbac_binding["events"],
    local.rotation_rbac_cluster_role,
    local.rbac_binding["rotation"],
  ] : trimspace(doc)])}\n"
}

# infra/k8s/admission-policy.yaml (what onSecretEvent's identity may change in a workload or an
# ExternalSecret) with its parameter set to this deployment's identity: the file's first document
# is the parameter ConfigMap naming the tests' `rotor` user, replaced here by one naming
# onSecretEvent's service-account email; the policies and bindings are kept as written.
#   terraform output -raw kubernetes_admission_policy | kubectl apply -f -
locals {
  admission_policy_file = "${path.module}/../../../infra/k8s/admission-policy.yaml"
  admission_policy_docs = fileexists(local.admission_policy_file) ? split("\n---\n", file(local.admission_policy_file)) : []
  admission_policy_parameter = yamlencode({
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata = {
      name      = "rotor-admission"
      namespace = "kube-system"
      labels    = { "app.kubernetes.io/name" = "rotor" }
    }
    data = { username = google_service_account.events.email }
  })
  kubernetes_admission_policy = length(local.admission_policy_docs) > 1 ? "${join("\n---\n", concat(
    [trimspace(local.admission_policy_parameter)],
    [for doc in slice(local.admission_policy_docs, 1, length(local.admission_policy_docs)) : trimspace(doc)],
  ))}\n" : "# Apply infra/k8s/admission-policy.yaml from the Rotor repository with data.username: ${google_service_account.events.email}\n"
}
