variable "bucket_name" {
  type        = string
  description = "Globally unique bucket name (3-63 lowercase letters, digits, dots, hyphens)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket_name must be 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region."
}

variable "versioning" {
  type        = bool
  default     = true
  description = "Keep old versions of objects."
}

variable "noncurrent_version_expiration_days" {
  type        = number
  default     = 30
  description = "Days after which old versions of objects are deleted."
}

variable "force_destroy" {
  type        = bool
  default     = false
  description = "Allow destroying the bucket while it still holds objects."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Extra tags for every resource."
}

variable "deployment_id" {
  type        = string
  default     = ""
  description = "Filled in by mcloud: tags every resource with mcloud-deployment = <this id>."
}
