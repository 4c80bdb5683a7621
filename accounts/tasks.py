"""django-q2 tasks of accounts: they take ids and call a service; each is followed by its
`Task`. Services are imported inside the tasks (the services queue these tasks)."""

from __future__ import annotations

from mcloud.background import Task


def deliver_notification(delivery_id: int) -> str | None:
    """Try one notification delivery (queued by `notify`, or scheduled again to retry)."""
    from accounts.notifications.delivery import delivery_attempt

    delivery = delivery_attempt(delivery_id=delivery_id)
    return delivery.status if delivery is not None else None


DELIVER_NOTIFICATION = Task.of(deliver_notification, group="notifications")
