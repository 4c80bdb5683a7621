"""The django-q2 schedules of the inventory app, kept in step with the settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_q.models import Schedule

HEALTH_CHECKS = "inventory: provider health checks"


def ensure_schedules(**kwargs: Any) -> None:
    """Create or update the schedules (run after every `migrate`)."""
    Schedule.objects.update_or_create(
        name=HEALTH_CHECKS,
        defaults={
            "func": "inventory.tasks.check_all_accounts",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.HEALTH_CHECK_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
