"""Budgets, evaluated when one is saved and whenever costs change (an import, new rates).

- A budget has one alert per month, at the highest threshold its spend has crossed. The
  alert rises with the spend; each rise (the first crossing included) is one "budget
  threshold" notification (the organization's channels, and an e-mail to each person who
  chose it: admins by default) and one signed call of the budget's webhook, and asks for
  acknowledgement again.
- An alert never falls: costs restated downwards leave it where it was.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organization, User
from accounts.notifications.events import Event
from accounts.notifications.services import notify
from billing.models import Budget, BudgetAlert
from billing.selectors import CostFilters, billing_settings, cost_summary
from billing.services.webhooks import webhook_send

logger = logging.getLogger(__name__)


@transaction.atomic
def budget_save(
    *, budget: Budget, organization: Organization, user: User, ip: str | None = None
) -> Budget:
    """Save a budget from a valid form (`form.save(commit=False)`) for `organization`, in its
    billing currency, audit it, and evaluate it at once."""
    created = budget.pk is None
    budget.organization = organization
    budget.currency = billing_settings(organization).currency
    budget.created_by = budget.created_by or user
    budget.save()
    audit_record(
        organization=organization,
        target=budget,
        actor=user,
        ip=ip,
        action="budget.created" if created else "budget.updated",
        data={"amount": str(budget.amount), "thresholds": budget.thresholds, "basis": budget.basis},
    )
    budgets_evaluate(organization=organization, budgets=[budget])
    return budget


@transaction.atomic
def budget_delete(*, budget: Budget, user: User, ip: str | None = None) -> None:
    audit_record(
        organization=budget.organization, action="budget.deleted", target=budget, actor=user,
        ip=ip,
    )  # fmt: skip
    budget.delete()


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


def highest_crossed(budget: Budget, spent: Decimal) -> int | None:
    """The highest threshold (a percentage) that `spent` has reached, or None."""
    crossed = [t for t in budget.thresholds if spent >= budget.amount * Decimal(t) / 100]
    return max(crossed, default=None)


def budgets_evaluate(
    *,
    organization: Organization,
    today: date | None = None,
    budgets: list[Budget] | None = None,
) -> list[BudgetAlert]:
    """Raise or raise higher this month's alert of each budget (all of the organization's,
    or `budgets`); returns the alerts that are new or rose."""
    today = today or timezone.localdate()
    month = today.replace(day=1)
    if budgets is None:
        budgets = list(Budget.objects.filter(organization=organization).select_related("account"))
    raised = []
    for budget in budgets:
        spent = budget_spent(budget, today)
        if spent is None:
            continue
        threshold = highest_crossed(budget, spent)
        if threshold is None:
            continue
        alert = _alert_raise(budget, month, threshold, spent.quantize(Decimal("0.01")))
        if alert is None:
            continue
        raised.append(alert)
        audit_record(
            organization=organization,
            action="budget.threshold_crossed",
            target=budget,
            actor_label="budget check",
            data={"threshold": threshold, "spent": str(alert.spent), "month": f"{month:%Y-%m}"},
        )
        _notify(alert)
        if budget.webhook_url:
            transaction.on_commit(partial(_webhook_call, alert))
    return raised


def _alert_raise(budget: Budget, month: date, threshold: int, spent: Decimal) -> BudgetAlert | None:
    """The month's alert created, or risen to `threshold`; None when it is there already.
    Conditional writes, so that two evaluations at once notify once."""
    fields = {"threshold": threshold, "spent": spent, "basis": budget.basis}
    try:
        with transaction.atomic():
            return BudgetAlert.objects.create(
                organization_id=budget.organization_id, budget=budget, month=month, **fields
            )
    except IntegrityError:
        pass  # this month's alert exists: raise it if the spend went higher
    mine = BudgetAlert.objects.filter(budget=budget, month=month)
    if not mine.filter(threshold__lt=threshold).update(
        **fields, created_at=timezone.now(), acknowledged_at=None, acknowledged_by=None,
        webhook_status="",
    ):  # fmt: skip
        mine.filter(threshold=threshold, spent__lt=spent).update(spent=spent)  # quietly
        return None
    return mine.select_related("budget__organization", "budget__account").get()


def _notify(alert: BudgetAlert) -> None:
    budget = alert.budget
    forecast = alert.basis == Budget.Basis.FORECAST
    spent = f"{alert.spent} {budget.currency}"
    facts: list[tuple[str, object]] = [
        ("Forecast to month end" if forecast else "Spent so far", spent),
        ("Budget", f"{budget.amount} {budget.currency}"),
        ("Month", f"{alert.month:%B %Y}"),
    ]
    if budget.account is not None:
        facts.append(("Cloud account", budget.account.name))
    notify(
        organization=budget.organization,
        event=Event.BUDGET_THRESHOLD,
        title=f"{budget.name}: {alert.threshold}% of the budget "
        f"{'forecast' if forecast else 'spent'}",
        text=f"The budget {budget.name} crossed {alert.threshold}% in {alert.month:%B %Y}.",
        url=reverse("billing:budget_list"),
        facts=facts,
    )


def _webhook_call(alert: BudgetAlert) -> None:
    alert.webhook_status = webhook_send(alert)
    alert.save(update_fields=["webhook_status"])


def alert_acknowledge(*, alert: BudgetAlert, user: User) -> BudgetAlert:
    alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def alerts_acknowledge_all(*, organization: Organization, user: User) -> int:
    """Acknowledge every open alert of the organization; returns how many."""
    return BudgetAlert.objects.filter(
        organization=organization, acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now(), acknowledged_by=user)
