# title: Allowed instance sizes
# enforcement: mandatory
# description: Virtual machines that are created or changed use one of the sizes in `allowed`
#   (AWS `instance_type`, Azure `size`, Google `machine_type`).
package mcloud.allowed_instance_sizes

import rego.v1

# Edit to the sizes your organization allows.
allowed := {
	"t3.micro", "t3.small", "t3.medium",
	"Standard_B1s", "Standard_B2s",
	"e2-micro", "e2-small", "e2-medium",
}

size_attribute := {
	"aws_instance": "instance_type",
	"azurerm_linux_virtual_machine": "size",
	"azurerm_windows_virtual_machine": "size",
	"google_compute_instance": "machine_type",
}

deny contains msg if {
	some change in input.plan.resource_changes
	attribute := size_attribute[change.type]
	some action in change.change.actions
	action in {"create", "update"}
	size := change.change.after[attribute]
	not size in allowed
	msg := sprintf("%s: size %s is not allowed.", [change.address, size])
}
