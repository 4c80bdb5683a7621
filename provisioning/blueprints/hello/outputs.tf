output "message" {
  value       = "${var.greeting}, ${var.name}!"
  description = "The greeting."
}

output "greeting_id" {
  value       = null_resource.greeting.id
  description = "The id of the greeting resource; it changes whenever an input changes."
}

output "labels" {
  value       = var.labels
  description = "The labels given."
}

output "connection_string" {
  value       = "hello://${var.name}:${var.secret_token}@localhost"
  sensitive   = true
  description = "Holds the secret token, so it is sensitive."
}
