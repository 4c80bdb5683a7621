"""Cloud accounts, their credentials and their provider health."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from mcloud.clouds.registry import provider_choices, provider_get
from mcloud.fields import EncryptedJSONField

if TYPE_CHECKING:
    from inventory.models.runs import SyncRun


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    ERROR = "error", "Error"


def default_sync_interval() -> int:
    return settings.SYNC_DEFAULT_INTERVAL_MINUTES


class CloudAccountQuerySet(models.QuerySet["CloudAccount"]):
    def active(self) -> CloudAccountQuerySet:
        """Checked, synced and imported: enabled, not paused and not retired
        (`CloudAccount.is_active`)."""
        return self.filter(enabled=True, paused_at__isnull=True, retired_at__isnull=True)

    def cost_importing(self) -> CloudAccountQuerySet:
        """The active accounts whose costs are imported: not member accounts, whose costs
        are on their connection's consolidated bill (the management account's Cost Explorer
        answers for the whole organization), so importing both would count them twice. The
        connection's import writes each member's share to the member itself (AWS: billing's
        `member_costs`)."""
        return self.active().filter(parent__isnull=True)


class CloudAccount(models.Model):
    """An organization's connection to one AWS account, Azure tenant or GCP service account.

    `config` holds what may be shown (role ARN, tenant and client ids, project ids, regions);
    `secrets` holds what may not (secret keys, client secrets, service-account keys), encrypted.

    A member account (`parent` set) is one that its parent connection discovered in its
    provider's organization (inventory.services.members): it stores no credentials of its
    own (it signs in through the parent), syncs on its own, and is retired when it leaves
    the organization. Disabling a member excludes it.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cloud_accounts"
    )
    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=10, choices=provider_choices)
    enabled = models.BooleanField(
        default=True, help_text="Disabled accounts are not checked or synced."
    )
    config = models.JSONField(default=dict, blank=True)
    secrets = EncryptedJSONField()
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    latest_health = models.ForeignKey(
        "ProviderHealth", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sync_interval_minutes = models.PositiveIntegerField(
        default=default_sync_interval,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="How often the inventory of this account is synced.",
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    is_sandbox = models.BooleanField(
        default=False, help_text="Points at the local emulators (the sandbox estate)."
    )
    # The sync lease (mcloud.leases): one sync per account, across every worker on every host.
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="members",
        help_text="The connection that discovered this member account in its organization.",
    )  # fmt: skip
    member_id = models.CharField(max_length=64, blank=True, help_text="The provider's id of it.")
    member_path = models.CharField(max_length=255, blank=True, help_text="Where it sits.")
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="When discovery found it gone from the organization."
    )

    objects = CloudAccountQuerySet.as_manager()

    # Set by the account list view for its template; not stored.
    active_run: SyncRun | None

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="cloudaccount_unique_name"
            ),
            models.UniqueConstraint(
                fields=["parent", "member_id"],
                condition=Q(parent__isnull=False),
                name="cloudaccount_unique_member",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    @property
    def is_active(self) -> bool:
        """Checked, synced and imported: enabled, not paused and not retired."""
        return self.enabled and not self.is_paused and self.retired_at is None

    @property
    def is_member(self) -> bool:
        return self.parent_id is not None

    @property
    def state(self) -> str:
        """retired, excluded, disabled, paused, unchecked, or the latest health check's
        status."""
        if self.retired_at is not None:
            return "retired"
        if not self.enabled:
            return "excluded" if self.is_member else "disabled"
        if self.is_paused:
            return "paused"
        return self.latest_health.status if self.latest_health else "unchecked"

    @property
    def state_label(self) -> str:
        if self.retired_at is not None:
            return "Left the organization"
        if not self.enabled:
            return "Excluded" if self.is_member else "Disabled"
        if self.is_paused:
            return "Paused"
        return self.latest_health.get_status_display() if self.latest_health else "Not checked"

    @property
    def scopes_display(self) -> list[str]:
        """What the account covers, in words: its regions, subscriptions or projects (not
        the provider's listing of them, which is the adapter's `scope_listing`). A member
        account covers what its connection does."""
        provider = provider_get(self.provider)
        if self.parent is not None:
            return provider.member_covers(self.parent.config, self.member_id)
        return provider.covers(self.config)


class ProviderHealth(models.Model):
    """One check of an account's provider API: how it answered and how fast."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULED = "scheduled", "Scheduled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="health_checks"
    )
    status = models.CharField(max_length=10, choices=HealthStatus.choices)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, help_text="Display-safe: never a secret.")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["account", "-checked_at"])]

    def __str__(self) -> str:
        return f"{self.account} {self.status} at {self.checked_at:%Y-%m-%d %H:%M}"


def _new_external_id() -> str:
    return f"mcloud-{secrets.token_hex(12)}"


class AwsExternalId(models.Model):
    """The external ID an organization's IAM roles require, generated once per organization
    as AWS recommends against the confused-deputy problem."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="aws_external_id"
    )
    value = models.CharField(max_length=64, unique=True, default=_new_external_id)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.value
