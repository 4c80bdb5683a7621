# title: Required tags
# enforcement: advisory
# description: Every taggable resource that is created or changed carries the tags (AWS and
#   Azure) or labels (Google) in `required`; AWS provider default tags count (`tags_all`).
package mcloud.required_tags

import rego.v1

# Edit to the tags your organization requires.
required := {"owner"}

tag_attributes := ["tags", "tags_all", "labels"]

taggable(after) if {
	some attribute in tag_attributes
	_ = after[attribute]
}

tag_names(after) := {name | some attribute in tag_attributes; _ = after[attribute][name]}

deny contains msg if {
	some change in input.plan.resource_changes
	some action in change.change.actions
	action in {"create", "update"}
	after := change.change.after
	taggable(after)
	missing := required - tag_names(after)
	count(missing) > 0
	msg := sprintf("%s lacks the tags %v.", [change.address, sort(missing)])
}
