"""Azure through azure-identity and the azure-mgmt-* clients.

- `adapter`: the AzureAdapter (credential, connection test, subscriptions, inventory, costs).
- `graph`, `inventory`, `related`: one Resource Graph query per subscription, its rows made
  records with what each is attached to; `records_compute`, `records_network`,
  `records_services`: one builder per type, reading a row with `fields`, never raising.
- `costs`: Cost Management's daily costs; `errors`: azure-core's exceptions as CloudErrors.
"""

from __future__ import annotations

from mcloud.clouds.azure.adapter import ARM_SCOPE, AzureAdapter
from mcloud.clouds.azure.errors import translate_errors
from mcloud.clouds.azure.fields import made

__all__ = ["ARM_SCOPE", "AzureAdapter", "made", "translate_errors"]
