variable "name" {
  type        = string
  description = "Name of the VM; the other resources are named after it."
}

variable "location" {
  type        = string
  default     = "westeurope"
  description = "Azure region."
}

variable "resource_group_name" {
  type        = string
  default     = ""
  description = "Existing resource group; empty creates one named <name>-rg."
}

variable "vm_size" {
  type        = string
  default     = "Standard_B1s"
  description = "VM size."
}

variable "admin_username" {
  type        = string
  default     = "azureuser"
  description = "Login of the administrator account."
}

variable "ssh_public_key" {
  type        = string
  description = "OpenSSH public key of the administrator; password login is disabled."
}

variable "address_space" {
  type        = list(string)
  default     = ["10.20.0.0/16"]
  description = "Address space of the virtual network."
}

variable "subnet_prefix" {
  type        = string
  default     = "10.20.1.0/24"
  description = "Address prefix of the VM's subnet."
}

variable "public_ip" {
  type        = bool
  default     = false
  description = "Give the VM a static public IP address."
}

variable "os_disk_size_gb" {
  type        = number
  default     = 30
  description = "Size of the OS disk in GiB."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every resource."
}

variable "deployment_id" {
  type        = string
  default     = ""
  description = "Filled in by mcloud: tags every resource with mcloud-deployment = <this id>."
}
