"""The django-q2 schedules of billing (named uniquely by convention)."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

from billing.tasks import CHECK_ALL_ANOMALIES, IMPORT_ALL_COSTS

COST_IMPORTS = "billing: daily cost import"
ANOMALY_CHECKS = "billing: daily anomaly check"
DAILY = {COST_IMPORTS: IMPORT_ALL_COSTS, ANOMALY_CHECKS: CHECK_ALL_ANOMALIES}
# Dead imports are recovered with every other kind of run (inventory's schedule).
OBSOLETE = ["billing: recover abandoned imports"]


def ensure_schedules(**kwargs: Any) -> None:
    for name, task in DAILY.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": task.path, "schedule_type": Schedule.DAILY, "repeats": -1},
        )
    Schedule.objects.filter(name__in=OBSOLETE).delete()
