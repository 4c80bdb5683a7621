"""The django-q2 schedules of the provisioning app (named uniquely by our own convention)."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

from provisioning.tasks import DRIFT_CHECKS

# Every hour, the drift checks that are due: each organization sets its own interval (off by
# default, `ProvisioningSettings.drift_check_hours`), so one schedule serves them all.
DRIFT = "provisioning: drift checks"
DRIFT_MINUTES = 60
# Dead runs are recovered with every other kind of run (inventory's schedule).
OBSOLETE = ["provisioning: recover abandoned runs"]


def ensure_schedules(**kwargs: Any) -> None:
    Schedule.objects.update_or_create(
        name=DRIFT,
        defaults={"func": DRIFT_CHECKS.path, "schedule_type": Schedule.MINUTES,
                  "minutes": DRIFT_MINUTES, "repeats": -1},
    )  # fmt: skip
    Schedule.objects.filter(name__in=OBSOLETE).delete()
