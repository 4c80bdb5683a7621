"""Budgets: after each import, each threshold crossed this month raises one alert, one e-mail
to the admins and one signed webhook call."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

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
from billing.services.webhooks import webhook_send
from inventory.services.accounts import account_admin_emails

logger = logging.getLogger(__name__)


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


def alert_acknowledge(*, alert: BudgetAlert, user: User) -> BudgetAlert:
    alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert
