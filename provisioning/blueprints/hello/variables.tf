variable "name" {
  type        = string
  default     = "world"
  description = "Who to greet."
}

variable "greeting" {
  type        = string
  default     = "Hello"
  description = "The word of greeting."
}

variable "sleep_seconds" {
  type        = number
  default     = 0
  description = "Seconds the provisioner sleeps after greeting, to have a run to cancel."

  validation {
    condition     = var.sleep_seconds >= 0 && var.sleep_seconds <= 3600
    error_message = "The sleep_seconds value must be between 0 and 3600."
  }
}

variable "secret_token" {
  type        = string
  default     = ""
  sensitive   = true
  description = "A secret kept in the state and a sensitive output, never printed."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels recorded in the triggers."
}
