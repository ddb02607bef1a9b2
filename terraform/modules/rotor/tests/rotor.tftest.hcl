# `terraform test` for the Rotor module, credential-free: the google provider is mocked, so nothing is
# created, but every resource is checked against the real provider schema (the mock keeps it) and
# the module's wiring and input validation are asserted. Run from terraform/modules/rotor:
#   terraform init -backend=false && terraform test
# (test/infra/terraform.test.ts does this with the locally built provider.)

mock_provider "google" {
  source = "./tests/mocks/google"
}

variables {
  project_id          = "my-proj-123"
  region              = "europe-west1"
  function_source_zip = "tests/fixtures/function.zip"
  clusters = [
    "projects/my-proj-123/locations/europe-west1/clusters/prod",
    "projects/other-proj-9/locations/europe-west1-b/clusters/edge",
  ]
  secrets = {
    "db-password" = {
      labels             = { "rotor-strategy" = "random" }
      rotation_period    = "2592000s"
      next_rotation_time = "2030-01-01T00:00:00Z"
    }
    "api-token" = {
      replica_locations = ["europe-west1", "europe-west4"]
    }
  }
  rotation_schedules = {
    "weekly" = {
      schedule = "0 3 * * 1"
      secrets  = ["api-token"]
    }
  }
  rotation_read_secrets = ["projects/shared-proj/secrets/pg-admin"]
}

run "push_delivery_is_the_default" {
  command = apply

  assert {
    condition     = length(google_pubsub_subscription.push) == 2
    error_message = "push delivery needs one subscription per function"
  }
  assert {
    condition = alltrue([
      for s in google_pubsub_subscription.push :
      s.dead_letter_policy[0].max_delivery_attempts == 7 && s.dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.dead_letters.id
    ])
    error_message = "every push subscription must dead-letter to the dead-letter topic"
  }
  assert {
    condition     = google_pubsub_subscription.push["rotation"].filter == "NOT attributes:eventType OR attributes.eventType = \"SECRET_ROTATE\""
    error_message = "the rotation subscription must only pass scheduler messages and SECRET_ROTATE"
  }
  assert {
    condition     = google_pubsub_subscription.push["events"].filter == ""
    error_message = "onSecretEvent must see every Secret Manager event type"
  }
  assert {
    condition     = endswith(google_pubsub_subscription.push["events"].push_config[0].push_endpoint, "/${google_pubsub_topic.secret_events.id}")
    error_message = "the push path must name the topic (functions-framework derives the CloudEvent source from it)"
  }
  assert {
    condition     = google_pubsub_subscription.push["events"].ack_deadline_seconds == 330
    error_message = "the ack deadline must cover the function timeout (300 s + 30 s)"
  }
  assert {
    condition     = alltrue([for f in google_cloudfunctions2_function.fn : length(f.event_trigger) == 0])
    error_message = "with push delivery the functions must not also have Eventarc triggers (double delivery)"
  }
}

run "functions_are_nodejs22_with_their_entry_points_and_identities" {
  command = apply

  assert {
    condition     = google_cloudfunctions2_function.fn["events"].build_config[0].entry_point == "onSecretEvent" && google_cloudfunctions2_function.fn["rotation"].build_config[0].entry_point == "rotateSecret"
    error_message = "entry points must be onSecretEvent and rotateSecret"
  }
  assert {
    condition     = alltrue([for f in google_cloudfunctions2_function.fn : f.build_config[0].runtime == "nodejs22"])
    error_message = "runtime must be nodejs22"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].service_account_email == google_service_account.events.email && google_cloudfunctions2_function.fn["rotation"].service_config[0].service_account_email == google_service_account.rotation.email
    error_message = "each function runs as its own service account"
  }
  assert {
    # The mock gives every google_project the same number; what matters is that the cluster
    # projects are looked up and mapped too.
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_PROJECT_MAP"] == "my-proj-123=123456789012,other-proj-9=123456789012"
    error_message = "ROTOR_PROJECT_MAP must map the project ids (deployment and cluster projects) to their numbers"
  }
  assert {
    condition     = !contains(keys(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables), "ROTOR_OUTCOME_TOPIC")
    error_message = "rotateSecret does not publish outcomes, so it gets neither the topic nor the grant"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_CLUSTERS"] == "projects/my-proj-123/locations/europe-west1/clusters/prod,projects/other-proj-9/locations/europe-west1-b/clusters/edge"
    error_message = "ROTOR_CLUSTERS must list the clusters"
  }
  assert {
    condition     = lookup(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables, "ROTOR_CLUSTERS", null) == "projects/my-proj-123/locations/europe-west1/clusters/prod,projects/other-proj-9/locations/europe-west1-b/clusters/edge"
    error_message = "rotateSecret must get ROTOR_CLUSTERS too: retirement keeps the versions workloads still use, which it can only see in the clusters"
  }
  assert {
    condition = alltrue([
      for k in ["ROTOR_GKE_ENDPOINT", "ROTOR_PROJECT_MAP"] :
      lookup(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables, k, null) == google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables[k]
    ])
    error_message = "rotateSecret must reach the clusters and map projects exactly as onSecretEvent does"
  }
  assert {
    condition = alltrue([
      for k in ["ROTOR_NAMESPACES", "ROTOR_EXCLUDE_NAMESPACES", "ROTOR_CANARY_NAMESPACES"] :
      !contains(keys(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables), k)
    ])
    error_message = "rotateSecret gets no namespace lists: a version used in an excluded namespace must not be disabled either"
  }
  assert {
    condition     = startswith(google_storage_bucket_object.source.name, "rotor-function-") && endswith(google_storage_bucket_object.source.name, ".zip")
    error_message = "the source object must be content-addressed"
  }
  assert {
    # A delivery waits inside itself: one instance takes many events at once (docs/deploy.md,
    # Concurrency of onSecretEvent); onClusterEvent and rotateSecret keep one at a time.
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].max_instance_request_concurrency == 50 && google_cloudfunctions2_function.fn["events"].service_config[0].available_cpu == "1" && google_cloudfunctions2_function.fn["rotation"].service_config[0].max_instance_request_concurrency == 1
    error_message = "onSecretEvent takes 50 events at once per instance (with 1 vCPU); rotateSecret one"
  }
}

run "least_privilege" {
  command = apply

  # The reload function reads metadata only: no rotator role, no secretAccessor.
  assert {
    condition = alltrue(concat(
      [for m in google_secret_manager_secret_iam_member.rotation_rotates_managed : m.member != google_service_account.events.member],
      [for m in google_secret_manager_secret_iam_member.rotation_reads : m.member != google_service_account.events.member],
    ))
    error_message = "onSecretEvent's identity must not be granted a role that reads or changes a secret"
  }
  assert {
    condition     = length(google_secret_manager_secret_iam_member.events_confirms_managed) == 2 && alltrue([for m in google_secret_manager_secret_iam_member.events_confirms_managed : m.role == "roles/secretmanager.viewer" && m.member == google_service_account.events.member])
    error_message = "onSecretEvent's identity confirms notifications with roles/secretmanager.viewer on each managed secret, nothing more"
  }
  assert {
    condition     = length(google_secret_manager_secret_iam_member.rotation_rotates_managed) == 2 && alltrue([for m in google_secret_manager_secret_iam_member.rotation_rotates_managed : m.role == google_project_iam_custom_role.rotator.name])
    error_message = "the rotator role is granted per managed secret"
  }
  assert {
    condition     = !contains(google_project_iam_custom_role.rotator.permissions, "secretmanager.versions.destroy")
    error_message = "rotation never destroys versions"
  }
  assert {
    condition     = !contains(google_project_iam_custom_role.rotator.permissions, "secretmanager.versions.enable")
    error_message = "rotation never re-enables a version (an operator does, by hand)"
  }
  assert {
    condition     = google_secret_manager_secret_iam_member.rotation_reads["projects/shared-proj/secrets/pg-admin"].role == "roles/secretmanager.secretAccessor"
    error_message = "read-only secrets get secretAccessor only"
  }
  assert {
    condition     = length(google_project_iam_custom_role.cluster_access) == 2 && alltrue([for r in google_project_iam_custom_role.cluster_access : r.permissions == toset(["container.clusters.get"])])
    error_message = "one cluster-access role holding only container.clusters.get per cluster project"
  }
  assert {
    condition = (
      toset(keys(google_project_iam_member.rotation_cluster_access)) == toset(["my-proj-123", "other-proj-9"]) &&
      alltrue([
        for p, m in google_project_iam_member.rotation_cluster_access :
        m.member == google_service_account.rotation.member && m.role == google_project_iam_custom_role.cluster_access[p].name && m.project == p
      ])
    )
    error_message = "rotateSecret's identity gets the same cluster-access role, in each cluster project"
  }
  assert {
    condition     = length(google_project_iam_member.rotation_gateway) == 0
    error_message = "no Connect Gateway grant without memberships"
  }
  assert {
    condition     = google_pubsub_topic_iam_member.events_publishes_outcomes.topic == google_pubsub_topic.outcomes.name
    error_message = "onSecretEvent publishes to the outcomes topic only"
  }
  assert {
    condition     = google_pubsub_topic_iam_member.events_requests_rollbacks.topic == google_pubsub_topic.rotation.name && google_pubsub_topic_iam_member.events_requests_rollbacks.role == "roles/pubsub.publisher" && google_pubsub_topic_iam_member.events_requests_rollbacks.member == google_service_account.events.member
    error_message = "onSecretEvent asks rotateSecret for rollbacks on the rotation topic (publisher only)"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_ON_HALT"] == "hold" && google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_ROTATION_TOPIC"] == google_pubsub_topic.rotation.id
    error_message = "onSecretEvent holds a halted event by default, and knows where to ask for a rollback"
  }
  assert {
    condition     = google_pubsub_topic_iam_member.secretmanager_publishes_events.member == "serviceAccount:service-123456789012@gcp-sa-secretmanager.iam.gserviceaccount.com"
    error_message = "the Secret Manager service agent is derived from the project number"
  }
}

run "secrets_notify_and_rotate" {
  command = apply

  assert {
    condition     = length(google_secret_manager_secret.managed["db-password"].topics) == 2 && length(google_secret_manager_secret.managed["db-password"].rotation) == 1
    error_message = "a rotating secret notifies both topics and has a rotation schedule"
  }
  assert {
    condition     = length(google_secret_manager_secret.managed["api-token"].topics) == 1 && length(google_secret_manager_secret.managed["api-token"].rotation) == 0
    error_message = "a secret without rotation_period only notifies the secret-events topic"
  }
  assert {
    condition     = length(google_secret_manager_secret.managed["api-token"].replication[0].user_managed) == 1 && length(google_secret_manager_secret.managed["db-password"].replication[0].auto) == 1
    error_message = "replica_locations selects user-managed replication"
  }
  assert {
    condition     = jsondecode(base64decode(google_cloud_scheduler_job.rotation["weekly"].pubsub_target[0].data)) == { secrets = ["projects/my-proj-123/secrets/api-token"], action = "rotate" }
    error_message = "scheduler messages name full secret resource names and the action"
  }
  assert {
    condition     = !contains(keys(google_cloud_scheduler_job.rotation["weekly"].pubsub_target[0].attributes), "eventType")
    error_message = "scheduler messages carry no eventType (the rotation filter relies on it)"
  }
}

run "kubernetes_rbac_binds_the_event_identity" {
  command = apply

  assert {
    condition     = strcontains(output.kubernetes_rbac, "kind: ClusterRole\n") && strcontains(output.kubernetes_rbac, "\"kind\": \"ClusterRoleBinding\"")
    error_message = "the RBAC output must hold the ClusterRole and a binding"
  }
  assert {
    condition     = strcontains(output.kubernetes_rbac, "\"name\": \"${google_service_account.events.email}\"")
    error_message = "the binding's subject must be onSecretEvent's service-account email"
  }
  assert {
    condition     = !strcontains(output.kubernetes_rbac, "- secrets") && !strcontains(output.kubernetes_rbac, "\"secrets\"")
    error_message = "the ClusterRole must not mention Kubernetes Secrets"
  }
}

run "kubernetes_admission_policy_names_the_event_identity" {
  command = apply

  assert {
    condition     = length(split("\n---\n", output.kubernetes_admission_policy)) == 11 && strcontains(output.kubernetes_admission_policy, "kind: ValidatingAdmissionPolicy\n") && strcontains(output.kubernetes_admission_policy, "kind: ValidatingAdmissionPolicyBinding\n")
    error_message = "the admission policy output must hold the parameter and five policies (workload, ExternalSecret, ClusterExternalSecret and SecretSync patches; Rotor's records), each with its binding"
  }
  assert {
    condition     = yamldecode(split("\n---\n", output.kubernetes_admission_policy)[0]).data.username == google_service_account.events.email
    error_message = "the policy's parameter must name onSecretEvent's service-account email"
  }
  assert {
    condition     = !strcontains(output.kubernetes_admission_policy, "username: rotor\n")
    error_message = "the tests' `rotor` user must not reach a real cluster"
  }
}

run "kubernetes_rbac_binds_rotor_pins_to_the_rotation_identity" {
  command = apply

  assert {
    condition     = length(split("\n---\n", output.kubernetes_rbac)) == 4
    error_message = "the RBAC output holds two ClusterRoles and two bindings"
  }
  assert {
    condition = [
      for d in split("\n---\n", output.kubernetes_rbac) : yamldecode(d).subjects
      if try(yamldecode(d).kind == "ClusterRoleBinding" && yamldecode(d).roleRef.name == "rotor-pins", false)
      ] == [[{
        apiGroup = "rbac.authorization.k8s.io"
        kind     = "User"
        name     = google_service_account.rotation.email
    }]]
    error_message = "exactly one binding of rotor-pins, to rotateSecret's service-account email and nobody else"
  }
  assert {
    condition = [
      for d in split("\n---\n", output.kubernetes_rbac) : yamldecode(d).subjects[*].name
      if try(yamldecode(d).kind == "ClusterRoleBinding" && yamldecode(d).roleRef.name == "rotor", false)
    ] == [[google_service_account.events.email]]
    error_message = "the read-write role `rotor` stays bound to onSecretEvent's identity only"
  }
  assert {
    condition = length([
      for d in split("\n---\n", output.kubernetes_rbac) : d
      if try(yamldecode(d).kind == "ClusterRole" && yamldecode(d).metadata.name == "rotor-pins", false)
    ]) == 1
    error_message = "the RBAC output must hold the ClusterRole rotor-pins from infra/k8s/rbac-rotation.yaml"
  }
  assert {
    condition = alltrue(flatten([
      for d in split("\n---\n", output.kubernetes_rbac) : [for r in yamldecode(d).rules : r.verbs == ["list"]]
      if try(yamldecode(d).kind == "ClusterRole" && yamldecode(d).metadata.name == "rotor-pins", false)
    ]))
    error_message = "rotor-pins may only list: no get, watch, or patch"
  }
  assert {
    condition = !contains(flatten([
      for d in split("\n---\n", output.kubernetes_rbac) : yamldecode(d).rules[*].verbs
      if try(yamldecode(d).kind == "ClusterRole" && yamldecode(d).metadata.name == "rotor-pins", false)
    ]), "patch")
    error_message = "rotor-pins must have no patch verb"
  }
  assert {
    condition = toset(flatten([
      for d in split("\n---\n", output.kubernetes_rbac) : [for r in yamldecode(d).rules : [for g in r.apiGroups : [for res in r.resources : "${res}.${g}"]]]
      if try(yamldecode(d).kind == "ClusterRole" && yamldecode(d).metadata.name == "rotor-pins", false)
      ])) == toset([
      "deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps", "pods.",
      "cronjobs.batch", "jobs.batch",
      "rollouts.argoproj.io",
      "secretsyncs.secret-sync.gke.io",
      "secretproviderclasses.secrets-store.csi.x-k8s.io", "secretproviderclasspodstatuses.secrets-store.csi.x-k8s.io",
      "externalsecrets.external-secrets.io", "secretstores.external-secrets.io", "clustersecretstores.external-secrets.io",
    ])
    error_message = "rotor-pins names exactly the kinds clusterPins lists: no Secrets, of the core group only pods"
  }
  assert {
    condition = alltrue([
      for d in split("\n---\n", output.kubernetes_rbac) :
      !strcontains(d, "- secrets") && !strcontains(d, "\"secrets\"") && !strcontains(d, "\"*\"")
      if try(yamldecode(d).kind == "ClusterRole" && yamldecode(d).metadata.name == "rotor-pins", false)
    ])
    error_message = "rotor-pins must never name Kubernetes Secrets, nor use wildcards"
  }
}

# Cluster stages: the entries reach ROTOR_CLUSTERS as written; the cluster projects and grants
# ignore the stage.
run "cluster_stages_reach_rotor_clusters" {
  command = apply

  variables {
    clusters = [
      "projects/my-proj-123/locations/europe-west1/clusters/staging;stage=0",
      "projects/other-proj-9/locations/europe-west1-b/clusters/edge;stage=1",
    ]
    connect_gateway_memberships = ["projects/my-proj-123/locations/global/memberships/onprem;stage=2"]
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_CLUSTERS"] == "projects/my-proj-123/locations/europe-west1/clusters/staging;stage=0,projects/other-proj-9/locations/europe-west1-b/clusters/edge;stage=1,projects/my-proj-123/locations/global/memberships/onprem;stage=2"
    error_message = "ROTOR_CLUSTERS must carry each cluster's stage"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_STAGE_MAX_WAIT_SECONDS"] == "86400"
    error_message = "ROTOR_STAGE_MAX_WAIT_SECONDS: a day by default"
  }
  assert {
    condition     = length(google_project_iam_custom_role.cluster_access) == 2
    error_message = "one cluster-access role per cluster project, whatever the stages"
  }
}

run "no_clusters_no_cluster_access" {
  command = apply

  variables {
    clusters = []
  }

  assert {
    condition     = lookup(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables, "ROTOR_CLUSTERS", null) == ""
    error_message = "without clusters, rotateSecret gets an empty ROTOR_CLUSTERS (retirement then keeps every version unless ROTOR_RETIRE_WITHOUT_CLUSTERS=true)"
  }
  assert {
    condition     = length(google_project_iam_member.rotation_cluster_access) == 0 && length(google_project_iam_member.events_cluster_access) == 0
    error_message = "no cluster grants without clusters"
  }
  assert {
    condition     = !contains(keys(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables), "ROTOR_RETIRE_WITHOUT_CLUSTERS")
    error_message = "the module never opts into retiring without clusters on its own"
  }
}

run "retire_without_clusters_is_an_explicit_opt_in" {
  command = apply

  variables {
    clusters          = []
    rotation_function = { environment_variables = { ROTOR_RETIRE_WITHOUT_CLUSTERS = "true" } }
  }

  assert {
    condition     = lookup(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables, "ROTOR_RETIRE_WITHOUT_CLUSTERS", null) == "true"
    error_message = "rotation_function.environment_variables reach rotateSecret"
  }
  assert {
    condition     = !contains(keys(google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables), "ROTOR_RETIRE_WITHOUT_CLUSTERS")
    error_message = "the rotation opt-in is not given to onSecretEvent"
  }
}

run "eventarc_delivery" {
  command = apply

  variables {
    delivery = "eventarc"
  }

  assert {
    condition     = length(google_pubsub_subscription.push) == 0
    error_message = "Eventarc delivery creates no push subscriptions of its own"
  }
  assert {
    condition = alltrue([
      for f in google_cloudfunctions2_function.fn :
      f.event_trigger[0].retry_policy == "RETRY_POLICY_RETRY" && f.event_trigger[0].event_type == "google.cloud.pubsub.topic.v1.messagePublished"
    ])
    error_message = "Eventarc triggers must retry failed deliveries"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["rotation"].event_trigger[0].pubsub_topic == google_pubsub_topic.rotation.id
    error_message = "rotateSecret listens on the rotation topic"
  }
}

run "dns_endpoint_adds_clusters_connect" {
  command = apply

  variables {
    gke_endpoint = "dns"
  }

  assert {
    condition     = alltrue([for r in google_project_iam_custom_role.cluster_access : r.permissions == toset(["container.clusters.connect", "container.clusters.get"])])
    error_message = "the DNS endpoint needs container.clusters.connect"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_GKE_ENDPOINT"] == "dns"
    error_message = "ROTOR_GKE_ENDPOINT must follow gke_endpoint"
  }
  assert {
    condition     = lookup(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables, "ROTOR_GKE_ENDPOINT", null) == "dns"
    error_message = "rotateSecret must reach the clusters through the DNS endpoint too"
  }
  assert {
    condition     = alltrue([for p, m in google_project_iam_member.rotation_cluster_access : m.role == google_project_iam_custom_role.cluster_access[p].name])
    error_message = "rotateSecret's identity gets the role that includes container.clusters.connect"
  }
}

run "retire_schedule" {
  command = apply

  variables {
    rotation_schedules = { "retire-nightly" = { schedule = "30 4 * * *", secrets = ["db-password"], action = "retire" } }
  }

  assert {
    condition     = jsondecode(base64decode(google_cloud_scheduler_job.rotation["retire-nightly"].pubsub_target[0].data)).action == "retire"
    error_message = "a retire schedule asks for retire"
  }
}

run "connect_gateway_and_predefined_cluster_role" {
  command = apply

  variables {
    create_cluster_access_role  = false
    connect_gateway_memberships = ["projects/fleet-host-1/locations/global/memberships/onprem"]
  }

  assert {
    condition     = length(google_project_iam_custom_role.cluster_access) == 0 && alltrue([for m in google_project_iam_member.events_cluster_access : m.role == "roles/container.clusterViewer"])
    error_message = "without the custom role, clusterViewer is granted"
  }
  assert {
    condition     = toset([for m in google_project_iam_member.events_gateway : m.role]) == toset(["roles/gkehub.gatewayEditor", "roles/gkehub.viewer"])
    error_message = "Connect Gateway needs gatewayEditor and gkehub.viewer"
  }
  assert {
    condition = (
      toset([for m in google_project_iam_member.rotation_gateway : m.role]) == toset(["roles/gkehub.gatewayReader", "roles/gkehub.viewer"]) &&
      alltrue([for m in google_project_iam_member.rotation_gateway : m.member == google_service_account.rotation.member && m.project == "fleet-host-1"])
    )
    error_message = "rotateSecret only lists through Connect Gateway: gatewayReader and gkehub.viewer, never gatewayEditor"
  }
  assert {
    condition     = alltrue([for m in google_project_iam_member.rotation_cluster_access : m.role == "roles/container.clusterViewer"])
    error_message = "without the custom role, rotateSecret gets clusterViewer as well"
  }
  assert {
    condition     = strcontains(lookup(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables, "ROTOR_CLUSTERS", ""), "projects/fleet-host-1/locations/global/memberships/onprem")
    error_message = "rotateSecret must see the Connect Gateway memberships too"
  }
  assert {
    condition     = strcontains(google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_PROJECT_MAP"], "fleet-host-1=")
    error_message = "membership projects are mapped to their numbers (Connect Gateway URLs need them)"
  }
}

# --- Input validation: each bad input fails at plan with its variable named. ---------------------

run "rejects_project_number_as_project_id" {
  command = plan
  variables {
    project_id = "123456789012"
  }
  expect_failures = [var.project_id]
}

run "rejects_unknown_on_halt" {
  command = plan
  variables {
    on_halt = "roll-back"
  }
  expect_failures = [var.on_halt]
}

run "rejects_zone_as_region" {
  command = plan
  variables {
    region = "europe-west1-b"
  }
  expect_failures = [var.region]
}

run "rejects_malformed_cluster" {
  command = plan
  variables {
    clusters = ["my-proj/europe-west1/prod"]
  }
  expect_failures = [var.clusters]
}

run "rejects_a_bad_cluster_stage" {
  command = plan
  variables {
    clusters = ["projects/my-proj-123/locations/europe-west1/clusters/prod;stage=10"]
  }
  expect_failures = [var.clusters]
}

run "rejects_one_cluster_in_two_stages" {
  command = plan
  variables {
    clusters = [
      "projects/my-proj-123/locations/europe-west1/clusters/prod;stage=0",
      "projects/my-proj-123/locations/europe-west1/clusters/prod;stage=1",
    ]
  }
  expect_failures = [var.clusters]
}

run "rejects_rotation_period_without_next_rotation_time" {
  command = plan
  variables {
    secrets            = { "s" = { rotation_period = "86400s" } }
    rotation_schedules = {}
  }
  expect_failures = [var.secrets]
}

run "rejects_rotation_period_under_an_hour" {
  command = plan
  variables {
    secrets            = { "s" = { rotation_period = "60s", next_rotation_time = "2030-01-01T00:00:00Z" } }
    rotation_schedules = {}
  }
  expect_failures = [var.secrets]
}

run "rejects_schedule_naming_an_unmanaged_secret" {
  command = plan
  variables {
    rotation_schedules = { "nightly" = { schedule = "0 2 * * *", secrets = ["not-managed"] } }
  }
  expect_failures = [var.rotation_schedules]
}

run "rejects_six_field_cron" {
  command = plan
  variables {
    rotation_schedules = { "nightly" = { schedule = "0 0 2 * * *", secrets = ["api-token"] } }
  }
  expect_failures = [var.rotation_schedules]
}

run "rejects_extra_secret_in_another_project" {
  command = plan
  variables {
    rotation_extra_secrets = ["projects/elsewhere-1/secrets/x"]
  }
  expect_failures = [var.rotation_extra_secrets]
}

run "rejects_a_backoff_over_600s" {
  command = plan
  variables {
    retry_backoff_seconds = 601
  }
  expect_failures = [var.retry_backoff_seconds]
}

run "rejects_function_timeout_over_540s" {
  command = plan
  variables {
    event_function = { timeout_seconds = 600 }
  }
  expect_failures = [var.event_function]
}

run "rejects_unknown_schedule_action" {
  command = plan
  variables {
    rotation_schedules = { "x" = { schedule = "0 2 * * *", secrets = ["api-token"], action = "destroy" } }
  }
  expect_failures = [var.rotation_schedules]
}

run "rejects_unknown_gke_endpoint" {
  command = plan
  variables {
    gke_endpoint = "private"
  }
  expect_failures = [var.gke_endpoint]
}

run "rejects_unknown_delivery" {
  command = plan
  variables {
    delivery = "pull"
  }
  expect_failures = [var.delivery]
}

# --- Fan-out (issue 14): fleets of fan_out_min_clusters or more ------------------------------------

run "no_fan_out_below_the_threshold" {
  command = apply

  # The two clusters of the file's variables are fewer than the default 8.
  assert {
    condition     = length(google_pubsub_topic.cluster_events) == 0 && length(google_pubsub_topic_iam_member.events_publishes_cluster_events) == 0
    error_message = "no fan-out topic (nor its grant) below fan_out_min_clusters"
  }
  assert {
    condition     = toset(keys(google_cloudfunctions2_function.fn)) == toset(["events", "rotation"]) && toset(keys(google_pubsub_subscription.push)) == toset(["events", "rotation"])
    error_message = "no onClusterEvent function or subscription below fan_out_min_clusters"
  }
  assert {
    condition = alltrue([
      for k in ["ROTOR_FANOUT_TOPIC", "ROTOR_FANOUT_MIN_CLUSTERS"] :
      !contains(keys(google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables), k)
    ])
    error_message = "onSecretEvent must not fan out below the threshold"
  }
  assert {
    condition     = output.topics.cluster_events == null
    error_message = "the topics output says there is no fan-out topic"
  }
}

run "fan_out_from_the_threshold" {
  command = apply

  variables {
    fan_out_min_clusters = 2
  }

  assert {
    condition     = google_pubsub_topic.cluster_events[0].name == "rotor-cluster-events" && output.topics.cluster_events == google_pubsub_topic.cluster_events[0].id
    error_message = "the fan-out topic is rotor-cluster-events, in the topics output"
  }
  assert {
    condition = (
      google_cloudfunctions2_function.fn["clusters"].name == "rotor-on-cluster-event" &&
      google_cloudfunctions2_function.fn["clusters"].build_config[0].entry_point == "onClusterEvent" &&
      google_cloudfunctions2_function.fn["clusters"].build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name
    )
    error_message = "onClusterEvent is its own function, built from the same source"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["clusters"].service_config[0].service_account_email == "rotor-events@my-proj-123.iam.gserviceaccount.com"
    error_message = "onClusterEvent runs as onSecretEvent's identity (the one the Kubernetes RBAC binds)"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["clusters"].service_config[0].max_instance_count == 20 && google_cloudfunctions2_function.fn["clusters"].service_config[0].available_memory == "512Mi"
    error_message = "onClusterEvent's default sizing: 512Mi (one cluster), up to 20 instances"
  }
  assert {
    condition = (
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_FANOUT_TOPIC"] == google_pubsub_topic.cluster_events[0].id &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_FANOUT_MIN_CLUSTERS"] == "2"
    )
    error_message = "onSecretEvent gets the fan-out topic and the same threshold"
  }
  assert {
    condition = alltrue([
      for k in ["ROTOR_CLUSTERS", "ROTOR_GKE_ENDPOINT", "ROTOR_PROJECT_MAP", "ROTOR_NAMESPACES", "ROTOR_EXCLUDE_NAMESPACES", "ROTOR_CANARY_NAMESPACES", "ROTOR_OUTCOME_TOPIC", "ROTOR_DRY_RUN", "ROTOR_MAX_WAIT_SECONDS", "ROTOR_ROLLOUT_TIMEOUT_SECONDS", "ROTOR_WAVE_SIZE", "ROTOR_FANOUT_TOPIC"] :
      lookup(google_cloudfunctions2_function.fn["clusters"].service_config[0].environment_variables, k, null) == google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables[k]
    ])
    error_message = "onClusterEvent must be configured exactly as onSecretEvent (clusters, namespaces, outcome topic, budget)"
  }
  assert {
    condition     = google_cloudfunctions2_function.fn["clusters"].service_config[0].environment_variables["ROTOR_CLUSTERS"] == "projects/my-proj-123/locations/europe-west1/clusters/prod,projects/other-proj-9/locations/europe-west1-b/clusters/edge"
    error_message = "onClusterEvent must know every cluster it may be asked for"
  }
  assert {
    condition     = !contains(keys(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables), "ROTOR_FANOUT_TOPIC")
    error_message = "rotateSecret does not fan out"
  }
  assert {
    condition = (
      google_pubsub_subscription.push["clusters"].topic == google_pubsub_topic.cluster_events[0].id &&
      google_pubsub_subscription.push["clusters"].filter == "" &&
      endswith(google_pubsub_subscription.push["clusters"].push_config[0].push_endpoint, "/${google_pubsub_topic.cluster_events[0].id}") &&
      google_pubsub_subscription.push["clusters"].push_config[0].oidc_token[0].service_account_email == "rotor-invoker@my-proj-123.iam.gserviceaccount.com"
    )
    error_message = "the fan-out topic pushes to onClusterEvent, as the invoker, naming its topic in the path"
  }
  assert {
    condition = (
      google_pubsub_subscription.push["clusters"].dead_letter_policy[0].max_delivery_attempts == 7 &&
      google_pubsub_subscription.push["clusters"].dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.dead_letters.id &&
      google_pubsub_subscription.push["clusters"].retry_policy[0].minimum_backoff == "60s" &&
      google_pubsub_subscription.push["clusters"].retry_policy[0].maximum_backoff == "60s" &&
      google_pubsub_subscription.push["clusters"].ack_deadline_seconds == 330
    )
    error_message = "each cluster's message gets the same redelivery budget and dead-letter topic as an unfanned event"
  }
  assert {
    condition     = contains(keys(google_pubsub_subscription_iam_member.pubsub_agent_forwards), "clusters") && contains(keys(google_cloud_run_v2_service_iam_member.invoker), "clusters")
    error_message = "Pub/Sub may dead-letter the fan-out subscription's messages, and the invoker may call onClusterEvent"
  }
  assert {
    condition = (
      google_pubsub_topic_iam_member.events_publishes_cluster_events[0].topic == "rotor-cluster-events" &&
      google_pubsub_topic_iam_member.events_publishes_cluster_events[0].role == "roles/pubsub.publisher" &&
      google_pubsub_topic_iam_member.events_publishes_cluster_events[0].member == "serviceAccount:rotor-events@my-proj-123.iam.gserviceaccount.com"
    )
    error_message = "onSecretEvent's identity may publish to the fan-out topic"
  }
  assert {
    condition     = google_logging_metric.outcomes[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(\"rotor-on-secret-event\" OR \"rotor-on-cluster-event\") AND jsonPayload.component=(\"onSecretEvent\" OR \"onClusterEvent\") AND jsonPayload.workload.result:*"
    error_message = "the outcome metric counts onClusterEvent's per-workload lines too"
  }
  assert {
    condition     = google_logging_metric.event_to_converged[0].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(\"rotor-on-secret-event\" OR \"rotor-on-cluster-event\") AND jsonPayload.component=(\"onSecretEvent\" OR \"onClusterEvent\") AND jsonPayload.outcome.convergedAfterMs:*"
    error_message = "the latency metric counts each cluster's convergence"
  }
}

run "fan_out_counts_memberships_once_each" {
  command = apply

  variables {
    fan_out_min_clusters        = 3
    connect_gateway_memberships = ["projects/my-proj-123/locations/global/memberships/onprem"]
  }

  assert {
    condition     = length(google_pubsub_topic.cluster_events) == 1 && google_cloudfunctions2_function.fn["clusters"].service_config[0].environment_variables["ROTOR_FANOUT_MIN_CLUSTERS"] == "3"
    error_message = "two clusters and one membership are a fleet of three"
  }
}

run "fan_out_with_eventarc_delivery" {
  command = apply

  variables {
    fan_out_min_clusters = 1
    delivery             = "eventarc"
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["clusters"].event_trigger[0].pubsub_topic == google_pubsub_topic.cluster_events[0].id && google_cloudfunctions2_function.fn["clusters"].event_trigger[0].retry_policy == "RETRY_POLICY_RETRY"
    error_message = "with Eventarc delivery onClusterEvent has its own trigger on the fan-out topic (one trigger per function)"
  }
  assert {
    condition     = length(google_pubsub_subscription.push) == 0
    error_message = "no push subscriptions with Eventarc delivery"
  }
}

run "rejects_a_fan_out_threshold_of_zero" {
  command = plan

  variables {
    fan_out_min_clusters = 0
  }
  expect_failures = [var.fan_out_min_clusters]
}

# The heap is bounded to 3/4 of each function's memory (it collects before the instance is killed
# for memory); a caller's NODE_OPTIONS replaces the bound.
run "the_heap_is_bounded_by_the_functions_memory" {
  command = plan
  variables {
    event_function = {
      memory = "1Gi"
    }
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["NODE_OPTIONS"] == "--max-old-space-size=768"
    error_message = "1Gi: a 768 MB old space"
  }
}

run "the_default_heap_bound_and_a_callers_own" {
  command = plan
  variables {
    event_function = {
      environment_variables = { NODE_OPTIONS = "--max-old-space-size=200" }
    }
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["NODE_OPTIONS"] == "--max-old-space-size=200"
    error_message = "the caller's NODE_OPTIONS wins"
  }
  assert {
    condition     = local.heap_mb.event == 384 && local.heap_mb.cluster == 384
    error_message = "512Mi: a 384 MB old space for either function"
  }
}

# --- The clusters' timing and secret groups (functions/config.ts reads them) -------------------------

run "cluster_timing_and_groups_default_to_the_functions_defaults" {
  command = plan

  assert {
    condition = (
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_CSI_ROTATION_INTERVAL_SECONDS"] == "120" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_KUBELET_SYNC_SECONDS"] == "60" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_GROUP_WINDOW_SECONDS"] == "300" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_GROUP_WAIT_SECONDS"] == "600"
    )
    error_message = "defaults: GKE's 120 s CSI rotation interval, the kubelet's 60 s sync, a 300 s group window and a 600 s group wait"
  }
  assert {
    condition     = length(local.reload_waits_cut_short) == 0
    error_message = "defaults: 120 s and 1.5 x 60 + 5 = 95 s both fit in 1800 s"
  }
}

# null (how examples/basic passes "not set") is the default too: the variables are not nullable.
run "cluster_timing_and_groups_given_null_are_the_defaults" {
  command = plan

  variables {
    csi_rotation_interval_seconds = null
    kubelet_sync_seconds          = null
    group_window_seconds          = null
    group_wait_seconds            = null
  }

  assert {
    condition = (
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_CSI_ROTATION_INTERVAL_SECONDS"] == "120" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_KUBELET_SYNC_SECONDS"] == "60" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_GROUP_WINDOW_SECONDS"] == "300" &&
      google_cloudfunctions2_function.fn["events"].service_config[0].environment_variables["ROTOR_GROUP_WAIT_SECONDS"] == "600"
    )
    error_message = "null: 120, 60, 300 and 600, as when not set"
  }
}

run "cluster_timing_and_groups_reach_both_reconciling_functions" {
  command = plan

  variables {
    fan_out_min_clusters          = 2
    csi_rotation_interval_seconds = 300
    kubelet_sync_seconds          = 90
    group_window_seconds          = 45
    group_wait_seconds            = 0
  }

  assert {
    condition = alltrue([
      for fn in ["events", "clusters"] :
      google_cloudfunctions2_function.fn[fn].service_config[0].environment_variables["ROTOR_CSI_ROTATION_INTERVAL_SECONDS"] == "300" &&
      google_cloudfunctions2_function.fn[fn].service_config[0].environment_variables["ROTOR_KUBELET_SYNC_SECONDS"] == "90" &&
      google_cloudfunctions2_function.fn[fn].service_config[0].environment_variables["ROTOR_GROUP_WINDOW_SECONDS"] == "45" &&
      google_cloudfunctions2_function.fn[fn].service_config[0].environment_variables["ROTOR_GROUP_WAIT_SECONDS"] == "0"
    ])
    error_message = "onSecretEvent and onClusterEvent (both reconcile) must get 300, 90, 45 and 0"
  }
  assert {
    # rotateSecret only lists the clusters' workloads to keep pinned versions: it waits for nothing.
    condition = alltrue([
      for k in ["ROTOR_CSI_ROTATION_INTERVAL_SECONDS", "ROTOR_KUBELET_SYNC_SECONDS", "ROTOR_GROUP_WINDOW_SECONDS", "ROTOR_GROUP_WAIT_SECONDS"] :
      !contains(keys(google_cloudfunctions2_function.fn["rotation"].service_config[0].environment_variables), k)
    ])
    error_message = "rotateSecret reads none of the four settings"
  }
}

# Out-of-range values of these four are refused at plan time: test/infra/terraform.test.ts checks
# each refusal's message against what functions/config.ts refuses.

# A reload wait longer than max_wait_seconds is a warning (budget.tf says why it is not refused):
# the plan goes through, the check names the setting. CSI: 1800 s fits in 1800 s, 1801 s does not.
run "a_csi_interval_of_max_wait_fits" {
  command = plan
  variables {
    csi_rotation_interval_seconds = 1800
  }
  assert {
    condition     = length(local.reload_waits_cut_short) == 0
    error_message = "1800 s is not longer than max_wait_seconds, 1800 s"
  }
}

run "a_csi_interval_longer_than_max_wait_warns" {
  command = plan
  variables {
    csi_rotation_interval_seconds = 1801
  }
  assert {
    condition     = join(",", local.reload_waits_cut_short) == "csi_rotation_interval_seconds"
    error_message = "1801 s is longer than max_wait_seconds, 1800 s"
  }
  expect_failures = [check.reload_waits_fit_max_wait]
}

# The kubelet: 1.5 x 600 + 5 = 905 s; fits in 905 s, not in 904 s.
run "a_kubelet_wait_of_max_wait_fits" {
  command = plan
  variables {
    kubelet_sync_seconds = 600
    max_wait_seconds     = 905
  }
  assert {
    condition     = local.reload_wait_seconds.kubelet_sync_seconds == 905 && length(local.reload_waits_cut_short) == 0
    error_message = "1.5 x 600 + 5 = 905 s fits in 905 s"
  }
}

run "a_kubelet_wait_longer_than_max_wait_warns" {
  command = plan
  variables {
    kubelet_sync_seconds = 600
    max_wait_seconds     = 904
  }
  assert {
    condition     = join(",", local.reload_waits_cut_short) == "kubelet_sync_seconds"
    error_message = "905 s does not fit in 904 s"
  }
  expect_failures = [check.reload_waits_fit_max_wait]
}
