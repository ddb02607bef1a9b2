# Shared by every *.tftest.hcl of the module: the mocked google provider's data and the
# computed attributes the provider checks the format of (IAM members, role names).
mock_data "google_project" {
  defaults = {
    number = "123456789012"
  }
}
# Computed attributes the provider checks the format of (IAM members, role names) get realistic
# values; the mock would otherwise invent random strings.
override_resource {
  target = google_service_account.events
  values = {
    email  = "rotor-events@my-proj-123.iam.gserviceaccount.com"
    member = "serviceAccount:rotor-events@my-proj-123.iam.gserviceaccount.com"
    name   = "projects/my-proj-123/serviceAccounts/rotor-events@my-proj-123.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.rotation
  values = {
    email  = "rotor-rotation@my-proj-123.iam.gserviceaccount.com"
    member = "serviceAccount:rotor-rotation@my-proj-123.iam.gserviceaccount.com"
    name   = "projects/my-proj-123/serviceAccounts/rotor-rotation@my-proj-123.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.invoker
  values = {
    email  = "rotor-invoker@my-proj-123.iam.gserviceaccount.com"
    member = "serviceAccount:rotor-invoker@my-proj-123.iam.gserviceaccount.com"
    name   = "projects/my-proj-123/serviceAccounts/rotor-invoker@my-proj-123.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_project_iam_custom_role.rotator
  values = {
    name = "projects/my-proj-123/roles/rotor_secret_rotator"
  }
}
