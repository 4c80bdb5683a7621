# title: Monthly estimate under a limit
# enforcement: mandatory
# description: The plan's estimated monthly cost change (`input.cost_estimate.monthly_delta`)
#   stays under `limit`. A plan without an estimate passes.
package mcloud.monthly_estimate_limit

import rego.v1

# Edit to your limit, in the estimate's currency.
limit := 500

deny contains msg if {
	estimate := input.cost_estimate
	is_object(estimate)
	delta := estimate.monthly_delta
	is_number(delta)
	delta > limit
	currency := object.get(estimate, "currency", "USD")
	msg := sprintf("The plan adds %.2f %s a month, over the limit of %d.", [delta, currency, limit])
}
