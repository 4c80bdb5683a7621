"""django-q2 tasks. They receive ids only (never values or credentials) and call a service."""

from __future__ import annotations

from provisioning.services.worker import run_execute as _run_execute


def run_execute(run_id: int) -> str | None:
    """Carry out a queued plan, destroy plan or apply."""
    run = _run_execute(run_id=run_id)
    return run.status if run is not None else None
