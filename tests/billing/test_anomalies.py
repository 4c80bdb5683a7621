"""Cost anomalies: the method (a spike is flagged; a weekly pattern, month-start charges and a
step that holds are absorbed; pennies never alert), the check after each import and on its
daily schedule, the e-mail sent once, and acknowledging with the right role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import AuditEvent
from billing.baselines import expected_range
from billing.models import Anomaly, BillingSettings
from billing.schedules import ANOMALY_CHECKS
from billing.services.anomalies import anomalies_detect, anomaly_acknowledge, minimum_amount
from billing.services.imports import cost_import
from billing.tasks import CHECK_ALL_ANOMALIES, check_all_anomalies
from mcloud.clouds.base import CostRecord
from tests.billing.costs import store
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)  # a Friday
Amount = Callable[[date], float]


@pytest.fixture
def account(org):
    return aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))


def noisy(level: float) -> Amount:
    """`level` a day, give or take 4 % (the same wobble for the same day)."""
    return lambda day: level * (1 + ((day.toordinal() * 37) % 9 - 4) / 100)


def weekly(weekday_level: float, weekend_level: float) -> Amount:
    return lambda day: noisy(weekend_level if day.weekday() >= 5 else weekday_level)(day)


def records(first: date, last: date, amount: Amount, *, service: str = "EC2",
            currency: str = "USD") -> list[CostRecord]:  # fmt: skip
    """One row a day from `first` to `last` (included), split over two regions, as the
    providers send them: the check sums a service over its regions."""
    rows = []
    day = first
    while day <= last:
        value = Decimal(str(round(amount(day), 6)))
        half = (value / 2).quantize(Decimal("0.000001"))
        for region, part in (("us-east-1", half), ("eu-west-1", value - half)):
            rows.append(CostRecord(date=day, service=service, amount=part, currency=currency,
                                   region=region))  # fmt: skip
        day += timedelta(days=1)
    return rows


def flagged(account, today: date = TODAY) -> list[tuple[str, date]]:
    anomalies_detect(account=account, today=today)
    return [(a.service, a.day) for a in Anomaly.objects.filter(account=account).order_by("day")]


# --- the method ---------------------------------------------------------------------------
def test_a_spike_is_flagged_with_its_expected_range_and_the_actual(account, org):
    spike = TODAY - timedelta(days=3)
    amount = noisy(100)
    store(account, records(TODAY - timedelta(days=60), TODAY - timedelta(days=1),
                           lambda day: 400 if day == spike else amount(day)))  # fmt: skip
    assert flagged(account) == [("EC2", spike)]
    anomaly = Anomaly.objects.get()
    assert anomaly.actual == Decimal("400")
    assert anomaly.expected_low < 100 < anomaly.expected_high < 130  # the same weekday's level
    assert (anomaly.currency, anomaly.provider, anomaly.state) == ("USD", "aws", "open")
    assert anomaly.organization == org
    event = AuditEvent.objects.get(action="costs.anomaly_found")
    assert event.data["actual"] == "400.000000"
    # The day after the spike is expected as before: one spike moves no median.
    assert flagged(account, TODAY + timedelta(days=2)) == [("EC2", spike)]


def test_a_steady_weekly_pattern_with_lower_weekends_is_not_flagged(account):
    store(account, records(TODAY - timedelta(days=90), TODAY, weekly(100, 35)))
    for weeks in range(8):  # every day of the last eight weeks, each checked
        assert flagged(account, TODAY - timedelta(weeks=weeks)) == []


def test_each_weekday_is_expected_at_its_own_level(account):
    """Weekday seasonality, both ways: a weekly batch day that costs three times as much is
    expected on its weekday, and a weekend that stops being quieter is flagged."""
    saturday = TODAY - timedelta(days=6)
    assert saturday.weekday() == 5
    amount = weekly(100, 35)
    store(account, records(TODAY - timedelta(days=60), TODAY - timedelta(days=1),
                           lambda day: 100 if day == saturday else amount(day)))  # fmt: skip
    assert flagged(account) == [("EC2", saturday)]  # at a weekday's level, on a Saturday
    assert Anomaly.objects.get().expected_high < 60

    batch = Decimal(300)
    days = [TODAY - timedelta(days=n) for n in range(1, 29)]
    history = {day: batch if day.weekday() == 2 else Decimal(100) for day in days}
    wednesday = TODAY - timedelta(days=2)
    expected = expected_range(history, wednesday, first_known=date(2026, 1, 1), minimum=Decimal(10))
    assert expected.low < batch < expected.high
    thursday = expected_range(history, TODAY - timedelta(days=1), first_known=date(2026, 1, 1),
                              minimum=Decimal(10))  # fmt: skip
    assert thursday.broken_by(batch)


def test_month_start_charges_are_compared_with_previous_month_starts(account):
    """A support fee or reservation charge billed on every 1st is expected on the 1st; the
    first one of all, with no 1st before it to learn from, is flagged."""
    amount = noisy(100)

    def with_fees(day: date) -> float:
        return amount(day) + (400 if day.day == 1 else 0)

    store(account, records(date(2026, 8, 2), TODAY - timedelta(days=1), with_fees))
    for today in (date(2026, 9, 5), date(2026, 10, 5), date(2026, 11, 5), TODAY):
        anomalies_detect(account=account, today=today)
    assert list(Anomaly.objects.values_list("day", flat=True)) == [date(2026, 9, 1)]

    # A 1st far above the previous 1sts is still an anomaly.
    store(account, records(date(2026, 11, 1), date(2026, 11, 1), lambda day: 2500))
    anomalies_detect(account=account, today=date(2026, 11, 3))
    assert Anomaly.objects.filter(day=date(2026, 11, 1)).exists()


def test_a_step_that_holds_is_flagged_on_its_first_two_days_then_absorbed(account):
    step = TODAY - timedelta(days=12)
    low, high = noisy(100), noisy(200)
    store(account, records(TODAY - timedelta(days=70), TODAY - timedelta(days=1),
                           lambda day: high(day) if day >= step else low(day)))  # fmt: skip
    for today in (step + timedelta(days=5), TODAY):
        anomalies_detect(account=account, today=today)
    assert list(Anomaly.objects.values_list("day", flat=True).order_by("day")) == [
        step,
        step + timedelta(days=1),
    ]


def test_pennies_never_alert(account, settings):
    spike = TODAY - timedelta(days=2)
    store(account, records(TODAY - timedelta(days=40), TODAY - timedelta(days=1),
                           lambda day: 6 if day == spike else 0.01))  # fmt: skip
    assert flagged(account) == []  # 6 USD over a cent a day: under the minimum of 10
    settings.BILLING_ANOMALY_MIN_AMOUNT = 1
    assert flagged(account) == [("EC2", spike)]


def test_the_minimum_is_in_each_costs_currency(org):
    assert minimum_amount("USD", org) == 10
    assert minimum_amount("JPY", org) == 1000  # no rate: scaled by the minor unit
    BillingSettings.objects.create(organization=org, currency="EUR", rates={"USD": 0.5})
    assert minimum_amount("EUR", org) == 10
    assert minimum_amount("USD", org) == 20  # 10 EUR at 0.5 EUR a dollar


def test_a_new_account_or_service_without_history_is_judged_fairly(account):
    first, spike = TODAY - timedelta(days=10), TODAY - timedelta(days=2)
    store(account, records(first, TODAY - timedelta(days=1),
                           lambda day: 500 if day == spike else 50))  # fmt: skip
    assert flagged(account) == []  # ten days of history: no pattern to break yet
    old = TODAY - timedelta(days=50)
    store(account, records(old, TODAY - timedelta(days=1), noisy(50))
          + records(TODAY - timedelta(days=1), TODAY - timedelta(days=1), lambda day: 90,
                    service="Amazon SageMaker"))  # fmt: skip
    # A service that cost nothing in the account's 28 days and now costs 90 a day breaks out.
    assert flagged(account) == [("Amazon SageMaker", TODAY - timedelta(days=1))]


def test_drops_are_not_anomalies_and_today_is_not_checked(account):
    amount = noisy(100)
    store(account, records(TODAY - timedelta(days=60), TODAY,
                           lambda day: 0 if day == TODAY - timedelta(days=2)
                           else 900 if day == TODAY else amount(day)))  # fmt: skip
    assert flagged(account) == []  # a day at zero; today's partial costs


# --- when it runs, and who hears of it ----------------------------------------------------
def test_each_import_checks_and_the_admins_hear_once_with_a_fake_adapter(
    team, org, account, monkeypatch, django_capture_on_commit_callbacks
):
    today = TODAY
    spike = today - timedelta(days=3)
    amount = noisy(80)

    class Adapter:
        def costs(self, start, end):
            return records(start, end - timedelta(days=1),
                           lambda day: 1000 if day == spike else amount(day))  # fmt: skip

    monkeypatch.setattr("billing.services.imports.adapter_for", lambda account: Adapter())
    with django_capture_on_commit_callbacks(execute=True):
        assert cost_import(account=account, today=today).status == "succeeded"
    anomaly = Anomaly.objects.get()
    assert anomaly.day == spike
    assert anomaly.notified_at is not None
    # One e-mail to each admin and owner (who hear of anomalies until they choose otherwise).
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@acme.test", "alice@acme.test"]
    message = mail.outbox[0]
    assert "EC2" in message.subject
    assert account.name in message.subject
    assert "1000.00 USD" in message.body
    assert f"to {anomaly.expected_high:.2f} USD" in message.body

    with django_capture_on_commit_callbacks(execute=True):
        cost_import(account=account, today=today + timedelta(days=1))  # restates the spike
        anomalies_detect(account=account, today=today)
    assert Anomaly.objects.count() == 1
    assert len(mail.outbox) == 2  # once per anomaly


def test_a_restated_day_refreshes_the_figures_of_its_anomaly(account):
    spike = TODAY - timedelta(days=3)
    amount = noisy(100)
    store(account, records(TODAY - timedelta(days=60), TODAY - timedelta(days=1),
                           lambda day: 400 if day == spike else amount(day)))  # fmt: skip
    anomalies_detect(account=account, today=TODAY)
    store(account, records(spike, spike, lambda day: 650))
    anomalies_detect(account=account, today=TODAY)
    assert Anomaly.objects.get().actual == Decimal(650)


def test_the_daily_schedule_checks_every_active_account(org, other_org, account, scheduled):
    schedule = Schedule.objects.get(name=ANOMALY_CHECKS)  # created by post_migrate
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        CHECK_ALL_ANOMALIES.path,
        Schedule.DAILY,
        -1,
    )
    theirs = aws_account(other_org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="theirs")
    yesterday = timezone.localdate() - timedelta(days=1)
    for each in (account, theirs):
        amount = noisy(100)
        store(each, records(yesterday - timedelta(days=40), yesterday,
                            lambda day, a=amount: 900 if day == yesterday else a(day)))  # fmt: skip
    assert scheduled(check_all_anomalies) == 2
    assert set(Anomaly.objects.values_list("account__name", "day")) == {
        (account.name, yesterday),
        ("theirs", yesterday),
    }
    assert set(Anomaly.objects.values_list("organization", flat=True)) == {org.pk, other_org.pk}


def test_acknowledging_is_audited_and_happens_once(account, bob, ada):
    anomaly = Anomaly.objects.create(
        organization=account.organization, account=account, provider="aws", service="EC2",
        day=TODAY, currency="USD", expected_low=80, expected_high=120, actual=400,
    )  # fmt: skip
    anomaly_acknowledge(anomaly=anomaly, user=bob, ip="192.0.2.1")
    anomaly_acknowledge(anomaly=anomaly, user=ada)
    anomaly.refresh_from_db()
    assert (anomaly.state, anomaly.acknowledged_by) == ("acknowledged", bob)
    event = AuditEvent.objects.get(action="costs.anomaly_acknowledged")
    assert (event.actor, event.ip_address, event.target_id) == (bob, "192.0.2.1", str(anomaly.pk))


# --- the sandbox --------------------------------------------------------------------------
def test_the_sandbox_costs_hold_one_anomaly_and_costs_by_tag(
    sandbox, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    from accounts.models import User
    from emulators.estate import EC2_OTHER, SPIKE_DAYS_AGO

    User.objects.create_superuser(email="admin@localhost", password="x" * 20)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    spike = dt.datetime.now(dt.UTC).date() - timedelta(days=SPIKE_DAYS_AGO)
    assert list(Anomaly.objects.values_list("account__name", "service", "day")) == [
        ("aws-sandbox", EC2_OTHER, spike)
    ]
    anomaly = Anomaly.objects.get()
    assert anomaly.actual - anomaly.expected_high > 200
    assert len([m for m in mail.outbox if "Cost anomaly" in m.subject]) == 1
    # Every account's costs by team: tagged mostly, with an untagged share.
    from billing.allocation import allocation
    from billing.models import BillingSettings, CostDaily
    from inventory.models import CloudAccount

    org = anomaly.organization
    assert BillingSettings.objects.get(organization=org).allocation_keys == ["team", "env"]
    start, end = spike - timedelta(days=20), spike
    for account in CloudAccount.objects.filter(organization=org):
        result = allocation(organization=org, key="team", start=start, end=end,
                            currency="USD", rates={}, account=account.pk)  # fmt: skip
        assert {r.value for r in result.rows} >= {"web", "data", "platform", "payments", ""}
        assert 40 < result.coverage < 95, account.name
        billed = CostDaily.objects.filter(account=account, date__gte=start, date__lt=end)
        # The same bill, split by tag (Azure's amounts travel as floats: not to the last digit).
        assert abs(result.total - sum(r.amount for r in billed)) < Decimal("0.01")
    # Costs per resource in all three clouds, linked to the inventory: machines are billed.
    from inventory.models import Resource

    for account in CloudAccount.objects.filter(organization=org):
        vms = Resource.objects.filter(account=account, type="vm", status="running")
        assert vms.filter(cost_basis="billed", monthly_cost__gt=0).exists(), account.name
