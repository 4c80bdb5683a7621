"""Reads for notifications: channels with their latest delivery, a channel's log, and who is
e-mailed about an event."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import (
    Membership,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Organization,
    User,
)
from accounts.notifications.events import ADMIN_DEFAULTS, Event
from accounts.roles import Role


def channel_list(*, organization: Organization) -> QuerySet[NotificationChannel]:
    """The organization's channels, each with the status and time of its latest delivery
    (`last_status`, `last_at`): one query, whatever the number of channels or deliveries.
    The encrypted target is not loaded: the list never needs it."""
    latest = NotificationDelivery.objects.filter(channel=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return (
        NotificationChannel.objects.filter(organization=organization)
        .defer("target")
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_at=Subquery(latest.values("created_at")[:1]),
        )
        .order_by("name", "id")
    )


def delivery_list(*, channel: NotificationChannel) -> QuerySet[NotificationDelivery]:
    """The channel's delivery log, newest first."""
    return (
        NotificationDelivery.objects.filter(channel=channel)
        .select_related("notification")
        .order_by("-created_at", "-id")
    )


def default_email_events(role: Role | str) -> frozenset[str]:
    """What a member of `role` is e-mailed about until they choose: admins and owners hear of
    failures and of what waits for them; members and viewers of nothing."""
    return frozenset(ADMIN_DEFAULTS) if Role(role).allows(Role.ADMIN) else frozenset()


def email_events(*, organization: Organization, user: User, role: Role | str) -> frozenset[str]:
    """The events that e-mail `user` in `organization`: their choice, or their role's defaults."""
    chosen = (
        NotificationPreference.objects.filter(organization=organization, user=user)
        .values_list("events", flat=True)
        .first()
    )
    return frozenset(chosen) if chosen is not None else default_email_events(role)


def email_recipients(*, organization: Organization, event: Event | str) -> list[int]:
    """The ids of the active members whom `event` e-mails (two queries)."""
    chosen = dict(
        NotificationPreference.objects.filter(organization=organization).values_list(
            "user_id", "events"
        )
    )
    members = Membership.objects.filter(organization=organization, user__is_active=True)
    return [
        user_id
        for user_id, role in members.order_by("user_id").values_list("user_id", "role")
        if event in (chosen[user_id] if user_id in chosen else default_email_events(role))
    ]
