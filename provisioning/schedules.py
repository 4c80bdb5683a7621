"""The django-q2 schedules of the provisioning app (named uniquely by our own convention)."""

from __future__ import annotations

from typing import Any

from django_q.models import Schedule

# Dead runs are recovered with every other kind of run (inventory's schedule).
OBSOLETE = ["provisioning: recover abandoned runs"]


def ensure_schedules(**kwargs: Any) -> None:
    Schedule.objects.filter(name__in=OBSOLETE).delete()
