locals {
  labels = merge(
    { "managed-by" = "mcloud" },
    var.deployment_id != "" ? { "mcloud-deployment" = var.deployment_id } : {},
    var.labels,
  )
}

resource "google_compute_instance" "this" {
  name         = var.name
  machine_type = var.machine_type
  zone         = var.zone
  tags         = var.network_tags
  labels       = local.labels

  boot_disk {
    initialize_params {
      image  = var.image
      size   = var.boot_disk_size_gb
      labels = local.labels
    }
  }

  network_interface {
    network    = var.network
    subnetwork = var.subnetwork != "" ? var.subnetwork : null

    dynamic "access_config" {
      for_each = var.external_ip ? [1] : []
      content {}
    }
  }

  scheduling {
    preemptible        = var.preemptible
    automatic_restart  = !var.preemptible
    provisioning_model = var.preemptible ? "SPOT" : "STANDARD"
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    enable-oslogin = "TRUE"
  }
}
