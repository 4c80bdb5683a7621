# title: No destroy of protected resources
# enforcement: mandatory
# description: No resource tagged (or, on Google, labelled) `protected` (any value but "false")
#   is destroyed, whether by a destroy plan or by a replacement.
package mcloud.no_destroy_protected

import rego.v1

protected(before) if {
	some attribute in ["tags", "tags_all", "labels"]
	value := before[attribute].protected
	lower(sprintf("%v", [value])) != "false"
}

deny contains msg if {
	some change in input.plan.resource_changes
	"delete" in change.change.actions
	protected(change.change.before)
	msg := sprintf("%s is tagged protected and would be destroyed.", [change.address])
}
