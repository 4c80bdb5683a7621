"""Budgets: one e-mail per person per rise of a month's alert, forecast budgets, who may manage them
(their webhooks: tests/billing/test_webhooks.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.urls import reverse

from billing.models import Budget, BudgetAlert
from billing.selectors import billing_settings
from billing.services.budgets import budgets_evaluate
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)


@pytest.fixture
def account(org):
    return aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))


def budget(org, **fields) -> Budget:
    return Budget.objects.create(
        organization=org,
        name=fields.pop("name", "Monthly"),
        amount=fields.pop("amount", 1000),
        thresholds=[50, 80, 100],
        **fields,
    )


def test_a_crossing_emails_each_admin_once_per_rise(
    org, account, alice, ada, bob, django_capture_on_commit_callbacks
):
    b = budget(org)
    store(account, daily(account, date(2026, 11, 1), 10, "55"))  # 550: past 50%
    with django_capture_on_commit_callbacks(execute=True):
        budgets_evaluate(organization=org, today=TODAY)
        budgets_evaluate(organization=org, today=TODAY)  # again: nothing new
    assert [a.threshold for a in BudgetAlert.objects.all()] == [50]
    # One e-mail each, to the admins and owners (who have not chosen otherwise): not bob.
    assert sorted(m.to for m in mail.outbox) == [["ada@acme.test"], ["alice@acme.test"]]
    assert all("50%" in m.subject for m in mail.outbox)

    store(account, daily(account, date(2026, 11, 11), 10, "40"))  # 950: past 80%
    with django_capture_on_commit_callbacks(execute=True):
        budgets_evaluate(organization=org, today=TODAY)
    assert list(BudgetAlert.objects.values_list("threshold", flat=True)) == [80]  # risen
    assert len(mail.outbox) == 4
    assert BudgetAlert.objects.get().spent == 950
    assert b.alerts.count() == 1


def test_a_forecast_budget_warns_before_the_overrun(
    org, account, alice, django_capture_on_commit_callbacks
):
    budget(org, basis=Budget.Basis.FORECAST, amount=1000)
    store(account, daily(account, date(2026, 11, 1), 19, "40"))  # 760 so far, 40 a day
    with django_capture_on_commit_callbacks(execute=True):
        alerts = budgets_evaluate(organization=org, today=TODAY)
    # Forecast: 760 + 40 * 11 = 1200 crosses every threshold although 760 < 800: one alert
    # at the highest.
    assert [a.threshold for a in alerts] == [100]
    assert len(mail.outbox) == 1


def test_only_admins_manage_budgets_and_members_acknowledge(org, login, ada, bob, vera, charlie):
    data = {
        "name": "Team",
        "amount": "500",
        "basis": "actual",
        "thresholds": "80, 50",
        "account": "",
    }
    assert login(bob).post(reverse("billing:budget_create"), data).status_code == 403
    response = login(ada).post(reverse("billing:budget_create"), data)
    assert response.status_code == 302
    created = Budget.objects.get()
    assert (created.thresholds, created.currency) == ([50, 80], "USD")
    bad = login(ada).post(reverse("billing:budget_create"), {**data, "thresholds": "lots"})
    assert "Thresholds are whole percentages" in bad.content.decode()
    alert = BudgetAlert.objects.create(
        organization=org, budget=created, month=TODAY, threshold=50, spent=300, basis="actual"
    )
    assert login(vera).post(reverse("billing:alert_ack", args=[alert.pk])).status_code == 403
    login(bob).post(reverse("billing:alert_ack", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.acknowledged_by == bob
    outsider = login(charlie)
    assert outsider.get(reverse("billing:budget_edit", args=[created.pk])).status_code == 404
    assert outsider.post(reverse("billing:budget_delete", args=[created.pk])).status_code == 404
    assert outsider.post(reverse("billing:alert_ack", args=[alert.pk])).status_code == 404
    assert Budget.objects.filter(pk=created.pk).exists()


def test_the_webhook_secret_is_shown_once(org, login, alice):
    client = login(alice)
    before = billing_settings(org).webhook["secret"]
    assert before not in client.get(reverse("billing:settings")).content.decode()
    page = client.post(reverse("billing:settings"), {"regenerate": "1"}, follow=True)
    page = page.content.decode()
    after = billing_settings(org).webhook["secret"]
    assert after != before
    assert after in page
    assert after not in client.get(reverse("billing:settings")).content.decode()
