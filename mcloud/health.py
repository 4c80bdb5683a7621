"""`GET /health`: the state of the database and of the task queue, for load balancers."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache


def _database_state() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def _queue_state() -> dict[str, Any]:
    from django_q.brokers import get_broker
    from django_q.status import Stat

    state: dict[str, Any] = {"broker": "redis" if settings.REDIS_URL else "orm"}
    try:
        clusters = Stat.get_all()
        state["queued"] = get_broker().queue_size()
    except Exception as exc:  # noqa: BLE001 - an unreachable broker is reported, not raised
        return {**state, "ok": False, "error": exc.__class__.__name__}
    newest = max((c.timestamp for c in clusters if c.timestamp), default=None)
    max_age = settings.HEALTH_QUEUE_MAX_AGE
    alive = newest is not None and (timezone.now() - newest).total_seconds() <= max_age
    state.update(
        ok=alive,
        clusters=len(clusters),
        last_seen=newest.isoformat() if newest else None,
    )
    return state


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database answers (the queue is reported, not required), else 503."""
    database = _database_state()
    queue = _queue_state() if database["ok"] or settings.REDIS_URL else {"ok": False}
    overall = "error" if not database["ok"] else ("ok" if queue["ok"] else "degraded")
    return JsonResponse(
        {"status": overall, "database": database, "queue": queue},
        status=200 if database["ok"] else 503,
    )
