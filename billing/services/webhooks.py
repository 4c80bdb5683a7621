"""Budget webhooks: one JSON POST per alert, signed as the Standard Webhooks specification
says (`webhook-id`, `webhook-timestamp`, `webhook-signature`), so a receiver can verify it
with any of that specification's libraries and reject replays. Sent through the guarded
outbound client: public addresses only, no redirects, a short timeout."""

from __future__ import annotations

import http.client
import json

from django.utils import timezone
from standardwebhooks import Webhook

from billing.models import BillingSettings, BudgetAlert
from mcloud.egress.client import outbound_request
from mcloud.egress.policy import EgressRefused


def webhook_payload(alert: BudgetAlert) -> bytes:
    budget = alert.budget
    return json.dumps(
        {
            "event": "budget.threshold_crossed",
            "organization": budget.organization.slug,
            "budget": budget.name,
            "account": budget.account.name if budget.account else None,
            "month": f"{alert.month:%Y-%m}",
            "threshold": alert.threshold,
            "basis": alert.basis,
            "spent": str(alert.spent),
            "amount": str(budget.amount),
            "currency": budget.currency,
        },
        sort_keys=True,
    ).encode()


def webhook_headers(*, secret: str, message_id: str, body: bytes) -> dict[str, str]:
    now = timezone.now()
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }


def webhook_send(alert: BudgetAlert) -> str:
    """POST the alert to its budget's webhook; returns the outcome, as shown on the page."""
    body = webhook_payload(alert)
    secret = BillingSettings.stored(alert.organization).webhook["secret"]
    # The same alert keeps its id, so a receiver drops a delivery it has seen.
    headers = webhook_headers(secret=secret, message_id=f"msg_budget_alert_{alert.pk}", body=body)
    try:
        answer = outbound_request("POST", alert.budget.webhook_url, body=body, headers=headers)
    except EgressRefused as refusal:
        return f"refused: {refusal}"[:100]
    except (OSError, http.client.HTTPException) as error:
        return f"failed: {error.__class__.__name__}"
    return f"HTTP {answer.status}"
