"""Budgets that act at once: evaluated when saved and whenever costs change, one alert per
budget and month at its highest crossed threshold, bars that turn amber and red, and a
dashboard tile that says how many more alerts wait and acknowledges them all."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import Budget, BudgetAlert
from billing.services.budgets import budgets_evaluate
from billing.services.imports import cost_import
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)


@pytest.fixture
def account(org):
    return aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))


def _budget(org, **fields) -> Budget:
    return Budget.objects.create(
        organization=org,
        name=fields.pop("name", "Monthly"),
        amount=fields.pop("amount", 1000),
        thresholds=fields.pop("thresholds", [50, 80, 100]),
        **fields,
    )


def test_one_alert_per_month_at_the_highest_threshold_rises_with_the_spend(
    org, account, alice, django_capture_on_commit_callbacks
):
    _budget(org)
    store(account, daily(account, date(2026, 11, 1), 10, "85"))  # 850: past 50 and 80
    with django_capture_on_commit_callbacks(execute=True):
        budgets_evaluate(organization=org, today=TODAY)
        budgets_evaluate(organization=org, today=TODAY)  # nothing new
    alert = BudgetAlert.objects.get()
    assert (alert.threshold, alert.spent) == (80, Decimal("850.00"))
    assert len(mail.outbox) == 1
    assert "80%" in mail.outbox[0].subject

    alert.acknowledged_at = timezone.now()
    alert.save()
    store(account, daily(account, date(2026, 11, 11), 5, "40"))  # 1050: past 100
    with django_capture_on_commit_callbacks(execute=True):
        budgets_evaluate(organization=org, today=TODAY)
    alert = BudgetAlert.objects.get()  # the same alert, risen
    assert (alert.threshold, alert.spent) == (100, Decimal("1050.00"))
    assert alert.acknowledged_at is None  # a rise is news again
    assert len(mail.outbox) == 2


def test_a_budget_is_evaluated_when_it_is_saved(login, ada, org, account):
    store(account, daily(account, timezone.localdate().replace(day=1), 1, "300"))
    response = login(ada).post(
        reverse("billing:budget_create"),
        {"name": "Tiny", "amount": "10", "basis": "actual", "thresholds": "50, 100"},
    )
    assert response.status_code == 302
    alert = BudgetAlert.objects.get()
    assert alert.threshold == 100
    page = login(ada).get(reverse("billing:budget_list")).content.decode()
    assert "No alert." not in page


def test_a_budget_is_evaluated_when_an_import_changes_the_costs_with_a_fake_adapter(
    org, account, monkeypatch
):
    _budget(org, amount=100)

    class Adapter:
        def costs(self, start, end):
            return daily(account, timezone.localdate().replace(day=1), 1, "90")

    monkeypatch.setattr("billing.services.imports.adapter_for", lambda account: Adapter())
    run = cost_import(account=account)
    assert run.status == "succeeded"
    assert BudgetAlert.objects.get().threshold == 80


def test_bars_turn_amber_past_a_threshold_and_red_over_budget(login, vera, org, account):
    month = timezone.localdate().replace(day=1)
    store(account, daily(account, month, 1, "600"))
    _budget(org, name="Warned", amount=1000)  # 60%
    _budget(org, name="Over", amount=100)  # 600%
    _budget(org, name="Fine", amount=10000, thresholds=[80])  # 6%
    html = login(vera).get(reverse("billing:budget_list")).content.decode()

    def bar(name: str) -> str:
        row = html[html.index(f">{name}</td>") :]
        return row[row.index('class="progress-bar') :].split('"')[1]

    assert "bg-warning" in bar("Warned")
    assert "bg-danger" in bar("Over")
    assert "bg-warning" not in bar("Fine")
    assert "bg-danger" not in bar("Fine")
    assert 'style="width: 100%"' in html  # an overrun bar is full, not 600% wide


def test_the_tile_says_how_many_more_and_acknowledges_them_all(login, bob, vera, org, other_org):
    theirs = _budget(other_org, name="Theirs")
    BudgetAlert.objects.create(
        organization=other_org, budget=theirs, month=TODAY, threshold=50, spent=1, basis="actual"
    )
    for n in range(7):
        b = _budget(org, name=f"Budget {n}")
        BudgetAlert.objects.create(
            organization=org, budget=b, month=TODAY, threshold=50, spent=1, basis="actual"
        )
    tile = login(bob).get(reverse("inventory:dashboard_tile", args=["budget_alerts"]))
    html = tile.content.decode()
    assert "2 more" in html
    assert reverse("billing:budget_list") in html
    assert "Acknowledge all" in html
    assert login(vera).post(reverse("billing:alert_ack_all")).status_code == 403
    response = login(bob).post(reverse("billing:alert_ack_all"), {"next": "home"})
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert not BudgetAlert.objects.filter(organization=org, acknowledged_at__isnull=True).exists()
    assert BudgetAlert.objects.get(organization=other_org).acknowledged_at is None
