"""Cloud accounts, their credentials and their provider health."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from mcloud.fields import EncryptedJSONField


class Provider(models.TextChoices):
    AWS = "aws", "AWS"
    AZURE = "azure", "Azure"
    GCP = "gcp", "GCP"


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    ERROR = "error", "Error"


class CloudAccount(models.Model):
    """An organization's connection to one AWS account, Azure tenant or GCP service account.

    `config` holds what may be shown (role ARN, tenant and client ids, project ids, regions);
    `secrets` holds what may not (secret keys, client secrets, service-account keys), encrypted.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cloud_accounts"
    )
    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=10, choices=Provider.choices)
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

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="cloudaccount_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    @property
    def is_active(self) -> bool:
        """Checked, synced and imported: enabled and not paused."""
        return self.enabled and not self.is_paused

    @property
    def state_label(self) -> str:
        if not self.enabled:
            return "Disabled"
        if self.is_paused:
            return "Paused"
        return self.latest_health.get_status_display() if self.latest_health else "Not checked"

    @property
    def scopes(self) -> list[str]:
        """Regions, subscriptions or projects, for display."""
        if self.provider == Provider.AWS:
            return self.config.get("regions") or ["all enabled regions"]
        if self.provider == Provider.AZURE:
            return self.config.get("subscription_ids", [])
        return self.config.get("project_ids", [])


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
