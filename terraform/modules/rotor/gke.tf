# Cluster access for onSecretEvent.
#
# GKE authorizes a Google identity by IAM OR Kubernetes RBAC. Rotor gets the least IAM that lets it
# authenticate and find the endpoint (container.clusters.get) and everything else from the
# ClusterRole in infra/k8s/rbac.yaml, which grants no access to Kubernetes Secrets. The predefined
# roles/container.developer would instead allow reading every Secret in the cluster.

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

# The Kubernetes side is rendered, not applied. A kubernetes provider here would need cluster
# credentials and network reach to every control plane at plan time (private endpoints, one
# provider block per cluster), and one more provider to build and pin; applying RBAC is a
# cluster-admin act that belongs with the cluster's own tooling. So the module outputs the
# ClusterRole from infra/k8s/rbac.yaml (the single source, also used by the integration tests)
# and a ClusterRoleBinding to this deployment's service-account email:
#   terraform output -raw kubernetes_rbac | kubectl apply -f -
locals {
  rbac_file = coalesce(var.kubernetes_rbac_file, "${path.module}/../../../infra/k8s/rbac.yaml")
  # The first document of rbac.yaml is the ClusterRole; its binding (to a test user) is replaced.
  rbac_cluster_role = fileexists(local.rbac_file) ? trimspace(split("\n---\n", file(local.rbac_file))[0]) : "# ClusterRole `rotor`: apply it from infra/k8s/rbac.yaml in the Rotor repository."

  rbac_binding = yamlencode({
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "ClusterRoleBinding"
    metadata = {
      name   = var.name_prefix
      labels = { "app.kubernetes.io/name" = "rotor" }
    }
    roleRef = {
      apiGroup = "rbac.authorization.k8s.io"
      kind     = "ClusterRole"
      name     = "rotor"
    }
    # GKE presents a Google service account to RBAC as a User named by its email.
    subjects = [{
      apiGroup = "rbac.authorization.k8s.io"
      kind     = "User"
      name     = google_service_account.events.email
    }]
  })

  kubernetes_rbac = "${local.rbac_cluster_role}\n---\n${local.rbac_binding}"
}
