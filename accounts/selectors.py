"""Reads for the accounts app."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AUDIT_TARGETS
from accounts.models import AuditEvent, Invitation, Membership, Organization


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__email")
    )


def pending_invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(
            organization=organization, accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("invited_by")
        .order_by("email")
    )


def audit_event_list(
    *,
    organization: Organization,
    action: str = "",
    actor: str = "",
    target_type: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The organization's events, newest first; `since` and `until` are whole days (both
    included) in the site's time zone, bounds on the indexed timestamp."""
    events = AuditEvent.objects.filter(organization=organization)
    if since:
        events = events.filter(created_at__gte=_day_start(since))
    if until:
        events = events.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_label=actor)
    if target_type:
        events = events.filter(target_type=target_type)
    return events.order_by("-created_at", "-id")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_actor_choices(*, organization: Organization) -> list[str]:
    return list(
        AuditEvent.objects.filter(organization=organization)
        .order_by("actor_label")
        .values_list("actor_label", flat=True)
        .distinct()
    )


def audit_target_links(events: Iterable[AuditEvent]) -> dict[int, str]:
    """Event pk -> the page of its object, for the objects that still exist: one query per
    kind of object on the page, whatever the number of events."""
    events = list(events)
    wanted: dict[str, set[int]] = {}
    for event in events:
        target = AUDIT_TARGETS.get(event.target_type)
        if target is not None and target.with_pk and event.target_id.isdigit():
            wanted.setdefault(event.target_type, set()).add(int(event.target_id))
    existing = {
        kind: set(
            AUDIT_TARGETS[kind]
            .model._default_manager.filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        for kind, ids in wanted.items()
    }
    links = {}
    for event in events:
        target = AUDIT_TARGETS.get(event.target_type)
        if target is None:
            continue
        if not target.with_pk:
            links[event.pk] = reverse(target.url_name)
        elif event.target_id.isdigit() and int(event.target_id) in existing[event.target_type]:
            links[event.pk] = reverse(target.url_name, args=[int(event.target_id)])
    return links
