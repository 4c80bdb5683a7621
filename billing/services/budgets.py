"""Budgets: after each import, each threshold crossed this month raises one alert, one e-mail
to the admins and one signed webhook call."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import date
from decimal import Decimal

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organization, User
from billing.models import Budget, BudgetAlert
from billing.selectors import CostFilters, billing_settings, cost_summary
from inventory.services.accounts import account_admin_emails

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Mcloud-Signature"


@transaction.atomic
def budget_save(*, budget: Budget, request: HttpRequest) -> Budget:
    """Save a budget from a valid form (`form.save(commit=False)`) for the request's
    organization, in its billing currency, and audit it."""
    created = budget.pk is None
    budget.organization = request.organization
    budget.currency = billing_settings(request.organization).currency
    budget.created_by = budget.created_by or request.user
    budget.save()
    audit_record(
        organization=request.organization,
        target=budget,
        request=request,
        action="budget.created" if created else "budget.updated",
        data={"amount": str(budget.amount), "thresholds": budget.thresholds, "basis": budget.basis},
    )
    return budget


def budget_spent(budget: Budget, today: date) -> Decimal | None:
    """This month's actual or forecast cost against the budget, in the organization's
    currency, which budgets are set in (None when a currency of the costs has no rate)."""
    summary = cost_summary(
        organization=budget.organization,
        today=today,
        filters=CostFilters(account=budget.account_id),
    )
    money = summary.forecast if budget.basis == Budget.Basis.FORECAST else summary.month_to_date
    return summary.total(money)


def budgets_evaluate(*, organization: Organization, today: date | None = None) -> list[BudgetAlert]:
    """Raise the alerts of the thresholds crossed this month that have not been raised yet."""
    today = today or timezone.localdate()
    month = today.replace(day=1)
    raised = []
    for budget in Budget.objects.filter(organization=organization).select_related("account"):
        spent = budget_spent(budget, today)
        if spent is None:
            continue
        for threshold in sorted(budget.thresholds):
            if spent < budget.amount * Decimal(threshold) / 100:
                continue
            try:
                with transaction.atomic():
                    alert = BudgetAlert.objects.create(
                        organization=organization,
                        budget=budget,
                        month=month,
                        threshold=threshold,
                        spent=spent.quantize(Decimal("0.01")),
                        basis=budget.basis,
                    )
            except IntegrityError:
                continue  # raised already this month: the admins heard once
            raised.append(alert)
            audit_record(
                organization=organization,
                action="budget.threshold_crossed",
                target=budget,
                actor_label="budget check",
                data={"threshold": threshold, "spent": str(alert.spent), "month": f"{month:%Y-%m}"},
            )
            transaction.on_commit(lambda a=alert: _notify(a))
    return raised


def _notify(alert: BudgetAlert) -> None:
    budget = alert.budget
    recipients = account_admin_emails(budget.organization)
    context = {"alert": alert, "budget": budget, "site_url": settings.SITE_URL}
    if recipients:
        subject = render_to_string("billing/email/alert_subject.txt", context).strip()
        send_mail(
            subject,
            render_to_string("billing/email/alert_message.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    if budget.webhook_url:
        alert.webhook_status = webhook_send(alert)
        alert.save(update_fields=["webhook_status"])


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


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_send(alert: BudgetAlert) -> str:
    """POST the alert as JSON, signed with the organization's secret; returns the outcome."""
    body = webhook_payload(alert)
    secret = billing_settings(alert.organization).webhook["secret"]
    try:
        answer = requests.post(
            alert.budget.webhook_url,
            data=body,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: webhook_signature(secret, body),
            },
        )
    except requests.RequestException as error:
        return f"failed: {error.__class__.__name__}"
    return f"HTTP {answer.status_code}"


def alert_acknowledge(*, alert: BudgetAlert, user: User) -> BudgetAlert:
    alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert
