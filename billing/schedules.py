"""The django-q2 schedule of billing (named uniquely by convention)."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

from billing.tasks import IMPORT_ALL_COSTS

COST_IMPORTS = "billing: daily cost import"
# Dead imports are recovered with every other kind of run (inventory's schedule).
OBSOLETE = ["billing: recover abandoned imports"]


def ensure_schedules(**kwargs: Any) -> None:
    Schedule.objects.update_or_create(
        name=COST_IMPORTS,
        defaults={
            "func": IMPORT_ALL_COSTS.path,
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
    )
    Schedule.objects.filter(name__in=OBSOLETE).delete()
