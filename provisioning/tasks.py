"""django-q2 tasks. They receive ids only (never values or credentials) and call a service;
each is followed by its `Task`. The worker is imported inside: the services queue the task."""

from __future__ import annotations

from mcloud.background import Task


def run_execute(run_id: int) -> str | None:
    """Carry out a queued plan, destroy plan or apply."""
    from provisioning.services.worker import run_execute as execute

    run = execute(run_id=run_id)
    return run.status if run is not None else None


RUN_EXECUTE = Task.of(run_execute, group="provisioning")


def recover_abandoned_runs() -> int:
    """The old path of the one recovery (inventory.tasks.recover_abandoned_runs), kept for one
    release: a recovery queued under it before the recoveries became one still runs. The
    schedule that named it is deleted by provisioning.schedules (OBSOLETE).
    Remove after the next release."""
    from inventory.tasks import recover_abandoned_runs as recover

    return recover()


def drift_checks() -> int:
    """Scheduled hourly: queue the drift checks that are due (`services.drift`)."""
    from provisioning.services.drift import drift_checks_queue_due

    return drift_checks_queue_due()


DRIFT_CHECKS = Task.of(drift_checks)
