"""Forms of the inventory app, one module per job:

- `cloud_account`: what every cloud account form shares (name, sync interval, write-only
  secret fields, the values the create and update services take);
- `aws_account`, `azure_account`, `gcp_account`: each provider's credentials form (its registry
  entry in inventory/providers.py names it);
- `kept_keys`: a pasted key kept server-side, encrypted, while a refused form is shown again.

The resource list's filter form is in inventory/filters.py.
"""
