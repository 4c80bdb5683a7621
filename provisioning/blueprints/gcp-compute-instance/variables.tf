variable "project_id" {
  type        = string
  description = "GCP project to create the VM in."
}

variable "name" {
  type        = string
  description = "Name of the VM (lowercase letters, digits and hyphens)."

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "The name must be lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  default     = "us-central1"
  description = "GCP region."
}

variable "zone" {
  type        = string
  default     = "us-central1-a"
  description = "GCP zone, inside the region."
}

variable "machine_type" {
  type        = string
  default     = "e2-small"
  description = "Machine type."
}

variable "image" {
  type        = string
  default     = "debian-cloud/debian-12"
  description = "Boot image or image family."
}

variable "boot_disk_size_gb" {
  type        = number
  default     = 20
  description = "Size of the boot disk in GB."
}

variable "network" {
  type        = string
  default     = "default"
  description = "VPC network."
}

variable "subnetwork" {
  type        = string
  default     = ""
  description = "Subnetwork; empty lets GCP pick the network's subnet in the region."
}

variable "external_ip" {
  type        = bool
  default     = false
  description = "Give the VM an ephemeral external IP address."
}

variable "preemptible" {
  type        = bool
  default     = false
  description = "Run as a preemptible (Spot-priced) VM."
}

variable "network_tags" {
  type        = list(string)
  default     = []
  description = "Network tags, for firewall rules."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels for the VM and its disk."
}

variable "deployment_id" {
  type        = string
  default     = ""
  description = "Filled in by mcloud: tags every resource with mcloud-deployment = <this id>."
}
