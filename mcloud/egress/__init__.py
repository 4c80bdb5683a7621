"""The one way out: every connection to an address a user chose goes through this package.

Users set outbound addresses in several places: a budget's webhook, notification channels,
and, through the blueprints they upload, whatever a Terraform provider or provisioner dials.
Each of them could aim at the worker's own neighbourhood (PostgreSQL and Redis on loopback, the
cloud metadata endpoint that hands out mcloud's own identity, the private network). So:
- `policy` decides: a host is resolved, and every address it resolves to must be public
  (no loopback, private, link-local, CGNAT, multicast or reserved range, IPv4 and IPv6),
  unless an operator listed that exact `host:port`;
- `client` makes one HTTP request to an address the policy passed, connecting to the checked
  address itself (no second lookup for DNS to rebind), following no redirects, briefly;
- `proxy` is the same check as a CONNECT proxy, the only way out of a Terraform sandbox;
- `signing` signs what is POSTed (Standard Webhooks), the same way for every caller.

This package imports no app: callers pass their allowlists in.
"""
