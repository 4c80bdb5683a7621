"""Reads for the accounts app."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

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


def audit_event_list(*, organization: Organization, action: str = "") -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(organization=organization)
    if action:
        events = events.filter(action=action)
    return events.order_by("-created_at", "-id")
