"""The django-q2 schedule of the provisioning app (named uniquely by our own convention)."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

RECOVER_RUNS = "provisioning: recover abandoned runs"


def ensure_schedules(**kwargs: Any) -> None:
    Schedule.objects.update_or_create(
        name=RECOVER_RUNS,
        defaults={
            "func": "provisioning.tasks.recover_abandoned_runs",
            "schedule_type": Schedule.MINUTES,
            "minutes": 3,
            "repeats": -1,
        },
    )
