"""Imported costs, their rollups, imports, budgets and their alerts."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from inventory.models import CloudAccount
from mcloud.clouds.registry import provider_choices
from mcloud.egress.signing import signing_secret_new
from mcloud.fields import EncryptedJSONField


class _Precision(TypedDict):
    max_digits: int
    decimal_places: int


AMOUNT: _Precision = {"max_digits": 18, "decimal_places": 6}


class CostData(models.Model):
    """One day's cost of one service (in one region, of one resource where the provider says),
    as imported. Replaced, never summed twice, when a provider restates recent days.

    An organization's consolidated bill is stored on each member account's own row where
    mcloud knows the member (`billing.services.member_costs`); `member_id` names the member
    a connection holds the cost for otherwise."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="costs")
    provider = models.CharField(max_length=10, choices=provider_choices)
    date = models.DateField()
    billing_period = models.CharField(max_length=7, help_text="YYYY-MM")
    service = models.CharField(max_length=200)
    region = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=500, blank=True)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    metadata = models.JSONField(default=dict, blank=True)
    member_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="Held on a connection for a member account of its organization that is not "
        "discovered (yet) or is excluded: the provider's id of that account. Empty otherwise.",
    )

    class Meta:
        verbose_name = "cost row"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "account",
                    "member_id",
                    "date",
                    "service",
                    "region",
                    "resource_id",
                    "currency",
                ],
                name="costdata_unique_member_row",
            )
        ]
        indexes = [models.Index(fields=["account", "resource_id", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.service} {self.amount} {self.currency}"


class CostDaily(models.Model):
    """CostData summed per account, day, service, region and currency (no resource), rewritten
    by each import in the same transaction: charts and totals read this, not a million rows."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=10, choices=provider_choices)
    date = models.DateField()
    service = models.CharField(max_length=200)
    region = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)
    member_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="Held on a connection for a member account of its organization that is not "
        "discovered (yet) or is excluded: the provider's id of that account. Empty otherwise.",
    )

    class Meta:
        verbose_name = "daily cost"
        indexes = [
            models.Index(fields=["organization", "date"]),
            models.Index(fields=["account", "date"]),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.service} {self.amount} {self.currency}"


class CostResourceMonth(models.Model):
    """A resource's cost per month (resource-level rows only), for the top resources."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=10, choices=provider_choices)
    month = models.DateField(help_text="The first day of the month.")
    resource_id = models.CharField(max_length=500)
    # Per service and region too, so the top resources follow the page's filters.
    service = models.CharField(max_length=200)
    region = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "month", "-amount"]),
            models.Index(fields=["account", "month"]),
            # Covers the top resources of a period: grouped in the index's order, no row read.
            models.Index(
                fields=[
                    "organization",
                    "currency",
                    "account",
                    "resource_id",
                    "provider",
                    "month",
                    "amount",
                ],
                name="resource_month_totals",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.resource_id} {self.amount} {self.currency}"


class CostResourceDaily(models.Model):
    """One day's cost of one resource (its provider id in lower case, as costs match the
    inventory's `Resource.resource_id`), all services together: from the provider's
    resource-level query where it has one apart (AWS Cost Explorer's resource-level data,
    the last 14 days), else from the imported rows that name a resource (Azure, a GCP
    detailed export). Replaced per day an import fetched; days before a window are kept, so
    history grows past what the provider itself keeps. Never added to the totals: CostData
    holds the bill."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=10, choices=provider_choices)
    resource_id = models.CharField(max_length=500)
    date = models.DateField()
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)

    class Meta:
        verbose_name = "daily cost of a resource"
        verbose_name_plural = "daily costs of resources"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "resource_id", "date", "currency"],
                name="costresourcedaily_unique_row",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "resource_id", "date"]),
            models.Index(fields=["account", "date"]),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.resource_id} {self.amount} {self.currency}"


class CostTagDaily(models.Model):
    """One day's cost of one value of an allocation tag key in one account, as the provider
    groups its bill by that key (value "" is the untagged cost). Each key's rows add up to
    the account's whole cost of the day. Written by each import for the days it fetched."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=10, choices=provider_choices)
    date = models.DateField()
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True, help_text="Empty: untagged.")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)
    member_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="Held on a connection for a member account of its organization that is not "
        "discovered (yet) or is excluded: the provider's id of that account. Empty otherwise.",
    )

    class Meta:
        verbose_name = "daily cost by tag"
        verbose_name_plural = "daily costs by tag"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "member_id", "date", "key", "value", "currency"],
                name="costtagdaily_unique_member_row",
            )
        ]
        indexes = [models.Index(fields=["organization", "key", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.key}={self.value or '(untagged)'} {self.amount} {self.currency}"


class CostImportLease(models.Model):
    """The lease a cost import of the account holds (`mcloud.leases`): one import per account
    at a time. Its own, not the sync's: a sync and an import of one account run side by side."""

    account = models.OneToOneField(
        CloudAccount, on_delete=models.CASCADE, primary_key=True, related_name="cost_import_lease"
    )
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"cost import lease of account {self.account_id}"


class ImportRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="imports")
    status = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    start = models.DateField()
    end = models.DateField(help_text="Exclusive.")
    rows = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    note = models.CharField(
        max_length=500, blank=True, help_text="What a successful import left out, and why."
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["account", "-started_at"])]

    def __str__(self) -> str:
        return f"cost import of {self.account} ({self.status})"


def _webhook_secret() -> dict[str, str]:
    return {"secret": signing_secret_new()}


class BillingSettings(models.Model):
    """An organization's currency for totals, the rates it converts with, the secret that
    signs its budget webhooks, and the tag keys it allocates costs by."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="billing_settings"
    )
    currency = models.CharField(max_length=3, default="USD")
    rates = models.JSONField(
        default=dict, blank=True, help_text='1 unit of each currency in `currency`: {"EUR": 1.08}'
    )
    webhook = EncryptedJSONField(default=_webhook_secret)
    allocation_keys = models.JSONField(
        default=list,
        blank=True,
        help_text="The tag keys costs are allocated by (showback), e.g. ['team', 'env'].",
    )

    class Meta:
        verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return f"billing settings of {self.organization}"

    @classmethod
    def stored(cls, organization: Organization) -> BillingSettings:
        """The organization's row, made with the defaults when it has none: for what must be
        kept, such as the webhook secret receivers verify with."""
        return cls.objects.get_or_create(organization=organization)[0]


class Budget(models.Model):
    class Basis(models.TextChoices):
        ACTUAL = "actual", "Actual cost"
        FORECAST = "forecast", "Forecast to month end"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        CloudAccount,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the whole organization.",
    )
    name = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.ACTUAL)
    thresholds = models.JSONField(default=list, help_text="Percentages, e.g. [50, 80, 100].")
    webhook_url = models.URLField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    # Figures the budget list view sets for its template; not stored.
    spent: Decimal | None
    percent: float | None
    level: str
    bar_width: int

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BudgetAlert(models.Model):
    """A budget's alert of a month: one per (budget, month), at the highest threshold the
    spend has crossed. It rises with the spend (and the admins hear of each rise), so 50, 80
    and 100 % crossed at once are one alert at 100 %, not three."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    month = models.DateField(help_text="The first day of the month.")
    threshold = models.PositiveIntegerField()
    spent = models.DecimalField(max_digits=14, decimal_places=2)
    basis = models.CharField(max_length=10, choices=Budget.Basis.choices)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook_status = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "month"], name="budgetalert_one_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.budget} {self.threshold}% of {self.month:%Y-%m}"


class Anomaly(models.Model):
    """A day on which an account's spend on one service broke from its own recent pattern
    (`billing.baselines`): the range that was expected and what was spent, in the costs'
    currency. One per account, service, currency and day; its admins hear of it once."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="anomalies")
    provider = models.CharField(max_length=10, choices=provider_choices)
    service = models.CharField(max_length=200)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    expected_low = models.DecimalField(**AMOUNT)
    expected_high = models.DecimalField(**AMOUNT)
    actual = models.DecimalField(**AMOUNT)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "anomalies"
        ordering = ["-day", "service", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "service", "currency", "day"], name="anomaly_one_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "state", "-day"]),
            models.Index(fields=["organization", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.service} on {self.day}: {self.actual} {self.currency}"


class Finding(models.Model):
    """A resource that costs money for nothing, by one waste rule (`billing.waste`), with the
    monthly saving of removing it. Refreshed after every sync; a dismissed finding stays
    dismissed until what it rests on (`fingerprint`: size, state, attachment) changes."""

    class Rule(models.TextChoices):
        UNATTACHED_DISK = "unattached_disk", "Unattached disk"
        UNUSED_IP = "unused_ip", "Unassociated public IP"
        ORPHAN_SNAPSHOT = "orphan_snapshot", "Old snapshot of a deleted disk"
        STOPPED_VM = "stopped_vm", "Long-stopped VM"
        IDLE_LOAD_BALANCER = "idle_load_balancer", "Load balancer with no targets"

    class Basis(models.TextChoices):
        ESTIMATE = "estimate", "Estimate (list prices)"
        BILLED = "billed", "Estimate (this month's bill)"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey("inventory.Resource", on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(max_length=20, choices=Rule.choices)
    saving = models.DecimalField(**AMOUNT, help_text="Estimated monthly saving.")
    currency = models.CharField(max_length=3)
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.ESTIMATE)
    details = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismiss_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-saving", "id"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "rule"], name="finding_one_per_rule")
        ]
        indexes = [
            # The open findings, dearest first: a page of them is read from the index in
            # order (PostgreSQL does not order by an index after `IS NULL`, so it is partial).
            models.Index(
                fields=["organization", "-saving", "id"],
                condition=models.Q(dismissed_at__isnull=True),
                name="finding_open_by_saving",
            ),
            # Covers the open findings' totals per rule (the Savings tile and page).
            models.Index(
                fields=["organization", "rule", "currency", "saving"],
                condition=models.Q(dismissed_at__isnull=True),
                name="finding_open_totals",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.saving} {self.currency}"
