"""Provisioning's services: blueprints, deployments, runs (what people do), worker (what the
task queue does) and state (the lease, the state store)."""
