"""Cost anomalies: each account's daily spend per service checked against its own recent
pattern (`billing.baselines` holds the method), after every cost import and once a day.

- One anomaly per account, service, currency and day (a constraint): checking a day again,
  after a restatement or on the next schedule, refreshes the figures of a day that still
  breaks out and never flags it twice. A day that no longer breaks out keeps its anomaly:
  its admins were told of it.
- The organization's admins and owners hear of each anomaly once (`anomaly_notify`, after
  the check's transaction commits; a conditional write on `notified_at`, so two checks at
  once notify once). It is the one notify step: other channels plug in there.
- Acknowledging is audited and happens once; it changes nothing of the figures.
- Only complete days are checked (today is still being billed), the last CHECK_DAYS of them:
  the days an import may have restated, and the day a missed schedule left unchecked.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organization, User
from accounts.notifications.events import Event
from accounts.notifications.services import notify
from billing.baselines import Expected, expected_range, history_start
from billing.models import Anomaly, CostDaily
from billing.money import minor_unit, round_amount
from billing.selectors import billing_settings
from inventory.models import CloudAccount

logger = logging.getLogger(__name__)
CHECK_DAYS = 7
PLACES = Decimal("0.000001")  # the stored amounts' precision


def minimum_amount(currency: str, organization: Organization) -> Decimal:
    """BILLING_ANOMALY_MIN_AMOUNT (in the organization's currency) in `currency`: through
    the organization's rate where it has one, else scaled by the currency's minor unit
    (10 USD, 1,000 JPY), so that pennies never alert in any currency."""
    base = Decimal(str(settings.BILLING_ANOMALY_MIN_AMOUNT))
    options = billing_settings(organization)
    if currency == options.currency:
        return base
    rate = options.rates.get(currency)
    if rate:
        return base / Decimal(str(rate))
    return base.scaleb(2 - minor_unit(currency))


def anomalies_detect(*, account: CloudAccount, today: date | None = None) -> list[Anomaly]:
    """Check the account's last CHECK_DAYS complete days, service by service; record what
    breaks out and notify its admins at commit. Returns the anomalies new to this check."""
    today = today or timezone.localdate()
    days = [today - timedelta(days=n) for n in range(CHECK_DAYS, 0, -1)]
    costs = CostDaily.objects.filter(account=account)
    first_known = costs.aggregate(first=Min("date"))["first"]
    if first_known is None:
        return []
    rows = (
        costs.filter(date__gte=max(history_start(days[0]), first_known), date__lt=today)
        .values("service", "currency", "date")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    series: dict[tuple[str, str], dict[date, Decimal]] = {}
    for row in rows:
        series.setdefault((row["service"], row["currency"]), {})[row["date"]] = row["total"]
    minimums: dict[str, Decimal] = {}
    found: dict[tuple[str, str, date], tuple[Expected, Decimal]] = {}
    for (service, currency), amounts in series.items():
        if currency not in minimums:
            minimums[currency] = minimum_amount(currency, account.organization)
        for day in days:
            actual = amounts.get(day)
            if actual is None:
                continue
            expected = expected_range(
                amounts, day, first_known=first_known, minimum=minimums[currency]
            )
            if expected is not None and expected.broken_by(actual):
                found[(service, currency, day)] = (expected, actual)
    return _record(account, found)


def _record(
    account: CloudAccount, found: dict[tuple[str, str, date], tuple[Expected, Decimal]]
) -> list[Anomaly]:
    if not found:
        return []
    existing = {
        (a.service, a.currency, a.day): a
        for a in Anomaly.objects.filter(account=account, day__in={day for _, _, day in found})
    }
    new = []
    for key, (expected, actual) in found.items():
        service, currency, day = key
        figures = {
            "expected_low": expected.low.quantize(PLACES),
            "expected_high": expected.high.quantize(PLACES),
            "actual": actual.quantize(PLACES),
        }
        anomaly = existing.get(key)
        if anomaly is not None:
            if any(getattr(anomaly, name) != value for name, value in figures.items()):
                Anomaly.objects.filter(pk=anomaly.pk).update(**figures)
            continue
        anomaly, created = Anomaly.objects.get_or_create(  # a savepoint of its own
            account=account, service=service, currency=currency, day=day,
            defaults={"organization_id": account.organization_id,
                      "provider": account.provider, **figures},
        )  # fmt: skip
        if not created:  # another check recorded it a moment ago
            continue
        new.append(anomaly)
        audit_record(
            organization=account.organization,
            action="costs.anomaly_found",
            target=anomaly,
            actor_label="anomaly check",
            data={
                "account": account.name,
                "service": service,
                "day": day.isoformat(),
                "actual": str(figures["actual"]),
                "expected_low": str(figures["expected_low"]),
                "expected_high": str(figures["expected_high"]),
                "currency": currency,
            },
        )
        transaction.on_commit(partial(anomaly_notify, anomaly=anomaly))
    return new


def anomaly_notify(*, anomaly: Anomaly) -> bool:
    """Tell the organization of the anomaly, once (its channels subscribed to cost anomalies,
    and by e-mail those who chose them): False when it was told already."""
    told = Anomaly.objects.filter(pk=anomaly.pk, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not told:
        return False
    anomaly = Anomaly.objects.select_related("account", "organization").get(pk=anomaly.pk)
    code, service = anomaly.currency, anomaly.service or "(none)"
    low, high = round_amount(anomaly.expected_low, code), round_amount(anomaly.expected_high, code)
    notify(
        organization=anomaly.organization,
        event=Event.COST_ANOMALY,
        title=f"Cost anomaly: {service} in {anomaly.account.name} on {anomaly.day:%Y-%m-%d}",
        text=f"The daily cost of {service} in {anomaly.account.name} broke from its recent "
        "pattern (its own last four weeks, weekday by weekday).",
        url=reverse("billing:anomaly_list"),
        facts=[
            ("Spent", f"{round_amount(anomaly.actual, code)} {code}"),
            ("Expected", f"{low} to {high} {code}"),
            ("Day", f"{anomaly.day:%A, %Y-%m-%d}"),
        ],
    )
    return True


def anomaly_acknowledge(*, anomaly: Anomaly, user: User, ip: str | None = None) -> Anomaly:
    """Mark an open anomaly acknowledged by `user`, audited; one already acknowledged stays
    as it was (who acknowledged it first, and when)."""
    now = timezone.now()
    done = Anomaly.objects.filter(pk=anomaly.pk, state=Anomaly.State.OPEN).update(
        state=Anomaly.State.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user
    )
    anomaly.refresh_from_db()
    if done:
        audit_record(
            organization=anomaly.organization, action="costs.anomaly_acknowledged",
            target=anomaly, actor=user, ip=ip,
            data={"service": anomaly.service, "day": anomaly.day.isoformat()},
        )  # fmt: skip
    return anomaly
