output "instance_id" {
  value = google_compute_instance.this.instance_id
}

output "self_link" {
  value = google_compute_instance.this.self_link
}

output "internal_ip" {
  value = google_compute_instance.this.network_interface[0].network_ip
}

output "external_ip" {
  value = var.external_ip ? google_compute_instance.this.network_interface[0].access_config[0].nat_ip : null
}
