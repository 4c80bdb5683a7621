# title: Allowed regions
# enforcement: mandatory
# description: Resources are made only in the regions listed in `allowed`: the plan's `region`
#   and `location` variables, Azure resources' `location` and Google resources' `zone`.
package mcloud.allowed_regions

import rego.v1

# Edit to your organization's regions.
allowed := {"us-east-1", "eu-west-1", "westeurope", "northeurope", "europe-west1"}

regions contains region if {
	some name in ["region", "location"]
	region := input.plan.variables[name].value
	is_string(region)
	region != ""
}

regions contains region if {
	some change in input.plan.resource_changes
	region := change.change.after.location
	is_string(region)
}

regions contains region if {
	some change in input.plan.resource_changes
	zone := change.change.after.zone
	is_string(zone)
	region := regex.replace(zone, "-[a-z]$", "")
}

deny contains msg if {
	some region in regions
	not region in allowed
	msg := sprintf("Region %s is not allowed (allowed: %v).", [region, sort(allowed)])
}
