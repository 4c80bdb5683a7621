"""The deliver step: one attempt at one delivery, and what follows it.

- An attempt is claimed first (a conditional update of its `attempts`), so a task delivered
  twice, or a retry racing a late first try, sends once.
- A delivery that fails in a way that may pass (the receiver's 5xx, 408, 429, no answer, the
  mail server down) is tried again after NOTIFICATION_RETRY_MINUTES (1, 5 and 25 minutes by
  default), each retry a one-off q2 schedule; then it has failed. One that cannot pass (an
  address refused by the egress rules, a 4xx, a channel since turned off, a person no longer a
  member) fails at once.
- `last_error` is display-safe (a status, an error class, a refusal naming the host), shown
  in the channel's log; nothing here logs a URL (nor an exception's text, which could).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, NotificationDelivery
from accounts.notifications.channels import DeliveryFailed, email_send, kind_get
from accounts.notifications.events import TEST
from accounts.notifications.formats import Outgoing
from accounts.tasks import DELIVER_NOTIFICATION
from mcloud.errors import ActionRefused

logger = logging.getLogger(__name__)
Status = NotificationDelivery.Status


def outgoing(delivery: NotificationDelivery) -> Outgoing:
    """The delivery's notification as its channel gets it: links made absolute (SITE_URL),
    one message id for every attempt, so that a receiver drops what it has seen."""
    notification = delivery.notification
    organization = notification.organization
    return Outgoing(
        event=notification.event,
        event_label=notification.event_label,
        organization=organization.name,
        organization_slug=organization.slug,
        title=notification.title,
        text=notification.text,
        link=settings.SITE_URL + notification.url if notification.url else "",
        occurred_at=notification.created_at,
        message_id=f"msg_notification_{delivery.pk}",
        facts=[(label, value) for label, value in notification.facts],
    )


def delivery_attempt(
    *, delivery_id: int, now: datetime | None = None
) -> NotificationDelivery | None:
    """Try the delivery once, if it is still pending; returns it as it is afterwards (None:
    no such delivery, or another worker claimed this attempt)."""
    delivery = (
        NotificationDelivery.objects.select_related(
            "notification__organization", "channel", "recipient"
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or not delivery.is_pending:
        return delivery
    now = now or timezone.now()
    if not NotificationDelivery.objects.filter(
        pk=delivery.pk, status__in=NotificationDelivery.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=None):
        return None
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.next_attempt_at = now, None
    try:
        _send(delivery)
    except DeliveryFailed as failure:
        return _failed(delivery, failure, now)
    except Exception as error:  # noqa: BLE001 - a bug must not lose the delivery: retried
        # Logged by class name only: an exception's text could quote the URL, a credential.
        logger.error("Notification delivery %s failed: %s", delivery.pk, error.__class__.__name__)
        unexpected = DeliveryFailed(f"Unexpected error ({error.__class__.__name__}).", retry=True)
        return _failed(delivery, unexpected, now)
    delivery.status, delivery.sent_at, delivery.last_error = Status.SENT, now, ""
    delivery.save(update_fields=["status", "sent_at", "last_error"])
    return delivery


def _send(delivery: NotificationDelivery) -> None:
    message = outgoing(delivery)
    channel = delivery.channel
    if channel is not None:
        if not channel.enabled and delivery.notification.event != TEST:
            raise DeliveryFailed("The channel was turned off.", retry=False)
        try:
            kind = kind_get(channel.kind)
        except ActionRefused as refused:
            raise DeliveryFailed(refused.message, retry=False) from None
        kind.send(channel.target, message)
        return
    person, organization = delivery.recipient, delivery.notification.organization
    if (
        person is None
        or not person.is_active
        or not Membership.objects.filter(organization=organization, user=person).exists()
    ):
        raise DeliveryFailed("The person is no longer a member.", retry=False)
    choices = settings.SITE_URL + reverse("accounts:notification_preferences")
    reason = (
        f'You get this because you chose "{message.event_label}" e-mails in '
        f"{organization.name}. Change your choices: {choices}"
    )
    email_send([person.email], message, reason=reason)


def _failed(
    delivery: NotificationDelivery, failure: DeliveryFailed, now: datetime
) -> NotificationDelivery:
    delays = settings.NOTIFICATION_RETRY_MINUTES
    retry = failure.retry and delivery.attempts <= len(delays)
    delivery.last_error = failure.message[:300]
    if retry:
        delivery.status = Status.RETRYING
        delivery.next_attempt_at = now + timedelta(minutes=delays[delivery.attempts - 1])
        DELIVER_NOTIFICATION.schedule_once(
            delivery.pk,
            at=delivery.next_attempt_at,
            name=f"notifications: delivery {delivery.pk}, attempt {delivery.attempts + 1}",
        )
    else:
        delivery.status = Status.FAILED
    delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
    return delivery
