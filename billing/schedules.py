"""The django-q2 schedule of billing (named uniquely by convention)."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

COST_IMPORTS = "billing: daily cost import"
RECOVER_IMPORTS = "billing: recover abandoned imports"


def ensure_schedules(**kwargs: Any) -> None:
    Schedule.objects.update_or_create(
        name=COST_IMPORTS,
        defaults={
            "func": "billing.tasks.import_all_costs",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name=RECOVER_IMPORTS,
        defaults={
            "func": "billing.tasks.recover_abandoned_imports",
            "schedule_type": Schedule.MINUTES,
            "minutes": 10,
            "repeats": -1,
        },
    )
