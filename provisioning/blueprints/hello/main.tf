resource "null_resource" "greeting" {
  # Any change of input replaces the resource, so every apply greets again.
  triggers = {
    name          = var.name
    greeting      = var.greeting
    sleep_seconds = var.sleep_seconds
    labels        = jsonencode(var.labels)
  }

  provisioner "local-exec" {
    # Values reach the shell as environment variables, never spliced into the command text,
    # so a name like $(touch /tmp/x) stays a name.
    command = "printf '%s, %s!\\n' \"$GREETING\" \"$NAME\" && sleep \"$SLEEP_SECONDS\""

    environment = {
      GREETING      = var.greeting
      NAME          = var.name
      SLEEP_SECONDS = var.sleep_seconds
    }
  }
}

# A resource of its own for the secret, so the greeting's triggers stay readable in plans.
resource "null_resource" "token" {
  triggers = {
    token = var.secret_token
  }
}
