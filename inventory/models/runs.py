"""Background runs of the inventory: when they were queued, started and finished, and a
sync's figures and findings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from inventory.models.accounts import CloudAccount
from mcloud.clouds.registry import provider_get
from mcloud.leases import lease_is_live


class TimedRun(models.Model):
    """When a background run (a sync, a Terraform run) was queued, started and finished."""

    FINAL: tuple[str, ...] = ()

    status: str
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class SyncRun(TimedRun):
    """One sync of one account: its progress while it runs, its outcome after."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly failed"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Sync now"
        SCHEDULED = "scheduled", "Schedule"
        COMMAND = "command", "Command line"
        SANDBOX = "sandbox", "Sandbox"
        DEPLOYMENT = "deployment", "After a deployment"

    FINAL = (State.SUCCEEDED, State.PARTIAL, State.FAILED)

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scopes_total = models.PositiveIntegerField(default=0)
    scopes_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    scope_errors = models.JSONField(
        default=dict, blank=True, help_text="Region, subscription or project -> its error."
    )
    error = models.CharField(max_length=500, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    skipped = models.PositiveIntegerField(
        default=0, help_text="Listed items that could not become a resource (see findings)."
    )
    merged = models.PositiveIntegerField(
        default=0, help_text="Extra listings of an id already listed, merged into one resource."
    )
    findings = models.JSONField(
        default=list,
        blank=True,
        help_text="What the run skipped, merged and retired, with the provider's ids: "
        '[{"kind": "skip"|"merge"|"retired"|"note", "scope", "reason", "count", "items"}].',
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-queued_at"]),
            models.Index(fields=["organization", "-finished_at"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"sync of {self.account} ({self.status})"

    @property
    def ran(self) -> bool:
        """Whether this run took the account's lease (it was not refused)."""
        return bool(self.lease_token)

    @property
    def worker_lost(self) -> bool:
        """Running, but the account's lease has expired or is another's: its worker is gone,
        and the next request for work (or the recovery schedule) fails it."""
        if self.status != self.State.RUNNING:
            return False
        account = self.account
        return not lease_is_live(account.lease_until, account.lease_token, self.lease_token)

    @property
    def scope_words(self) -> tuple[str, str]:
        """What one scope of this run is called, and many: ("region", "regions")."""
        provider = provider_get(self.account.provider)
        return provider.scope, provider.scopes

    @property
    def notes(self) -> list[str]:
        """The findings as sentences: "2 items skipped: no id (in region eu-west-1: ...)",
        "1 duplicate id merged: ...", "region ap-east-1 no longer enabled: 12 resources
        removed"."""
        word = self.scope_words[0]
        lines = []
        for f in self.findings:
            count, items = f.get("count", 0), f.get("items") or []
            shown = ", ".join(items) + (", …" if count > len(items) else "")
            where = f"in {word} {f.get('scope', '')}"
            if f.get("kind") == "retired":
                noun = "resource" if count == 1 else "resources"
                lines.append(f"{word} {f['scope']} {f['reason']}: {count} {noun} removed")
            elif f.get("kind") == "note":
                lines.append(f.get("reason", ""))
            elif f.get("kind") == "kept":
                kept = "stored resource kept as it was" if count == 1 else (
                    "stored resources kept as they were")  # fmt: skip
                lines.append(f"{count} {kept}: {', '.join(items)} {f.get('reason', '')} ({where})")
            elif f.get("kind") == "merge":
                noun = "duplicate id" if count == 1 else "duplicate ids"
                lines.append(f"{count} {noun} merged ({where}): {shown}")
            else:
                noun = "item" if count == 1 else "items"
                lines.append(f"{count} {noun} skipped: {f.get('reason', '')} ({where}: {shown})")
        return lines

    @property
    def summary(self) -> str:
        """ "aws-prod: +12 new, 3 removed, 5 changed", as the activity feed shows it."""
        return (
            f"{self.account.name}: +{self.created} new, {self.removed} removed, "
            f"{self.updated} changed"
        )
