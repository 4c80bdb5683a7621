"""Budget webhooks: one JSON POST per alert, signed as the Standard Webhooks specification
says (`mcloud.egress.signing`, which notification channels sign with too), so a receiver can
verify it with any of that specification's libraries and reject replays. Sent through the
guarded outbound client: public addresses only, no redirects, a short timeout."""

from __future__ import annotations

import http.client
import json

from billing.models import BillingSettings, BudgetAlert
from mcloud.egress.client import outbound_request
from mcloud.egress.policy import EgressRefused
from mcloud.egress.signing import signed_headers


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


def webhook_send(alert: BudgetAlert) -> str:
    """POST the alert to its budget's webhook; returns the outcome, as shown on the page."""
    body = webhook_payload(alert)
    secret = BillingSettings.stored(alert.organization).webhook["secret"]
    # The same alert keeps its id, so a receiver drops a delivery it has seen.
    headers = signed_headers(secret=secret, message_id=f"msg_budget_alert_{alert.pk}", body=body)
    try:
        answer = outbound_request("POST", alert.budget.webhook_url, body=body, headers=headers)
    except EgressRefused as refusal:
        return f"refused: {refusal}"[:100]
    except (OSError, http.client.HTTPException) as error:
        return f"failed: {error.__class__.__name__}"
    return f"HTTP {answer.status}"
