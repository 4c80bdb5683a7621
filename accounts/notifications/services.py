"""Telling (`notify`), and managing channels and e-mail choices. See the package docstring
for the invariants; the deliver step is `accounts.notifications.delivery`."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.audit import audit_record
from accounts.models import (
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Organization,
    User,
)
from accounts.notifications.channels import kind_get
from accounts.notifications.events import TEST, Event
from accounts.notifications.selectors import email_recipients
from accounts.tasks import DELIVER_NOTIFICATION
from mcloud.egress.signing import signing_secret_new
from mcloud.errors import ActionRefused

logger = logging.getLogger(__name__)
TITLE_CHARS, TEXT_CHARS, FACT_CHARS = 200, 2000, 200


# --- telling ------------------------------------------------------------------------------
def notify(
    *,
    organization: Organization,
    event: Event | str,
    title: str,
    text: str = "",
    url: str = "",
    facts: Iterable[tuple[str, object]] = (),
) -> Notification | None:
    """Tell `organization` that `event` happened: to each enabled channel subscribed to it,
    and by e-mail to each member who chose it. Call it inside the transaction of the work it
    reports; deliveries are queued when that commits. `url` is a path into mcloud (made
    absolute when sent); `title`, `text` and `facts` must be display-safe (never a secret).

    Returns the notification, or None when nobody listens. A failure to record it is logged
    and swallowed: telling never undoes the work it tells of.
    """
    event = Event(event)
    try:
        with transaction.atomic():
            channels = [
                pk
                for pk, events in NotificationChannel.objects.filter(
                    organization=organization, enabled=True
                ).values_list("pk", "events")
                if event in events
            ]
            recipients = email_recipients(organization=organization, event=event)
            if not channels and not recipients:
                return None
            return _record(
                organization, event, title, text, url, facts, channels=channels,
                recipients=recipients,
            )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - telling never undoes the work it tells of
        logger.error("Recording a %s notification of organization %s failed: %s", event,
                     organization.pk, error.__class__.__name__)  # fmt: skip
        return None


def _record(
    organization: Organization,
    event: str,
    title: str,
    text: str,
    url: str,
    facts: Iterable[tuple[str, object]],
    *,
    channels: list[int],
    recipients: list[int],
) -> Notification:
    if not url.startswith("/") or url.startswith("//"):
        url = ""  # a path into mcloud, or no link: never another site
    notification = Notification.objects.create(
        organization=organization,
        event=event,
        title=title[:TITLE_CHARS],
        text=text[:TEXT_CHARS],
        url=url[:500],
        facts=[[str(label)[:FACT_CHARS], str(value)[:FACT_CHARS]] for label, value in facts],
    )
    deliveries = NotificationDelivery.objects.bulk_create(
        [
            NotificationDelivery(
                organization=organization, notification=notification, channel_id=pk
            )
            for pk in channels
        ]
        + [
            NotificationDelivery(
                organization=organization, notification=notification, recipient_id=pk
            )
            for pk in recipients
        ]
    )
    for delivery in deliveries:
        DELIVER_NOTIFICATION.enqueue(delivery.pk)
    return notification


# --- channels -----------------------------------------------------------------------------
def _events_checked(events: Iterable[str]) -> list[str]:
    chosen = set(events)
    unknown = chosen - set(Event.values)
    if unknown:
        raise ActionRefused(f"Unknown events: {', '.join(sorted(unknown))}.")
    return [e for e in Event.values if e in chosen]  # in the vocabulary's order


def _saved(channel: NotificationChannel) -> None:
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise ActionRefused(f"There is a channel named {channel.name} already.") from None


@transaction.atomic
def channel_create(
    *,
    organization: Organization,
    kind: str,
    name: str,
    address: str,
    events: Iterable[str],
    enabled: bool = True,
    user: User | None,
    ip: str | None = None,
) -> tuple[NotificationChannel, str]:
    """A new channel of `kind` at `address` (checked as it will be called: public addresses
    only). Returns it and, for a signed kind, its signing secret, to be shown once."""
    channel_kind = kind_get(kind)
    target = channel_kind.target_from(address)
    channel = NotificationChannel(
        organization=organization, name=name.strip(), kind=channel_kind.key, target=target,
        target_hint=channel_kind.hint(target)[:200], events=_events_checked(events),
        enabled=enabled, created_by=user,
    )  # fmt: skip
    if not channel.name:
        raise ActionRefused("A channel needs a name.")
    _saved(channel)
    audit_record(
        organization=organization, action="notification_channel.created", target=channel,
        actor=user, ip=ip,
        data={"kind": channel.kind, "address": channel.target_hint, "events": channel.events,
              "enabled": enabled},
    )  # fmt: skip
    return channel, target.get("secret", "")


@transaction.atomic
def channel_update(
    *,
    channel: NotificationChannel,
    name: str,
    address: str,
    events: Iterable[str],
    enabled: bool,
    user: User,
    ip: str | None = None,
) -> NotificationChannel:
    """Save new values; an empty `address` keeps the stored one (pages never show it)."""
    kind = kind_get(channel.kind)
    before = {"name": channel.name, "events": channel.events, "enabled": channel.enabled}
    channel.name, channel.events, channel.enabled = name.strip(), _events_checked(events), enabled
    if not channel.name:
        raise ActionRefused("A channel needs a name.")
    replaced = bool(address.strip())
    if replaced:
        secret = channel.target.get("secret")
        channel.target = kind.target_from(address)
        if secret:  # a new address keeps the secret its receiver verifies with
            channel.target["secret"] = secret
        channel.target_hint = kind.hint(channel.target)[:200]
    _saved(channel)
    after = {"name": channel.name, "events": channel.events, "enabled": channel.enabled}
    audit_record(
        organization=channel.organization, action="notification_channel.updated",
        target=channel, actor=user, ip=ip,
        data={"changed": sorted(k for k in before if before[k] != after[k]),
              "address_replaced": replaced, "address": channel.target_hint},
    )  # fmt: skip
    return channel


@transaction.atomic
def channel_delete(*, channel: NotificationChannel, user: User, ip: str | None = None) -> None:
    audit_record(
        organization=channel.organization, action="notification_channel.deleted",
        target=channel, actor=user, ip=ip, data={"kind": channel.kind, "name": channel.name},
    )  # fmt: skip
    channel.delete()


@transaction.atomic
def channel_test(
    *, channel: NotificationChannel, user: User, ip: str | None = None
) -> NotificationDelivery:
    """Queue a test message to the channel (turned off or not); its outcome shows in the
    channel's log like any delivery's."""
    notification = Notification.objects.create(
        organization=channel.organization,
        event=TEST,
        title="Test message from mcloud",
        text=f"{user.email} sent this to check the channel {channel.name}. "
        "If you read it where you expected it, the channel works.",
        url=reverse("accounts:channel_detail", args=[channel.pk]),
        facts=[["Channel", channel.name], ["Sent by", user.email]],
    )
    delivery = NotificationDelivery.objects.create(
        organization=channel.organization, notification=notification, channel=channel
    )
    audit_record(
        organization=channel.organization, action="notification_channel.tested",
        target=channel, actor=user, ip=ip, data={"delivery": delivery.pk},
    )  # fmt: skip
    DELIVER_NOTIFICATION.enqueue(delivery.pk)
    return delivery


@transaction.atomic
def channel_secret_reset(*, channel: NotificationChannel, user: User, ip: str | None = None) -> str:
    """A new signing secret for a signed channel; the caller shows it once."""
    if not kind_get(channel.kind).signed:
        raise ActionRefused(f"{channel.name} does not sign its messages.")
    channel.target = {**channel.target, "secret": signing_secret_new()}
    channel.save(update_fields=["target", "updated_at"])
    audit_record(
        organization=channel.organization, action="notification_channel.secret_reset",
        target=channel, actor=user, ip=ip,
    )  # fmt: skip
    return channel.target["secret"]


# --- personal e-mail ------------------------------------------------------------------------
@transaction.atomic
def preferences_save(
    *, organization: Organization, user: User, events: Iterable[str], ip: str | None = None
) -> NotificationPreference:
    """Which events e-mail `user` in `organization` from now on (none is a choice too)."""
    chosen = _events_checked(events)
    preference, _ = NotificationPreference.objects.update_or_create(
        organization=organization, user=user, defaults={"events": chosen}
    )
    audit_record(
        organization=organization, action="notification.preferences_updated", target=preference,
        actor=user, ip=ip, data={"events": chosen},
    )  # fmt: skip
    return preference
