"""Cloud accounts, their credentials and their provider health."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Organization
from mcloud.clouds.registry import provider_choices, provider_get
from mcloud.fields import EncryptedJSONField
from mcloud.leases import lease_is_live


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
        answers for the whole organization), so importing both would count them twice."""
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
        return provider_get(self.provider).covers((self.parent or self).config)


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


# Resources that mcloud's Terraform deployments create carry this tag, with the deployment's
# id: the inventory tells managed from unmanaged resources by it.
MANAGED_TAG = "mcloud-deployment"


class ResourceType(models.TextChoices):
    """The kinds of resource (mcloud.clouds.base.ResourceType), with the words pages use."""

    VM = "vm", "Virtual machine"
    VM_GROUP = "vm_group", "VM group"
    DISK = "disk", "Disk"
    SNAPSHOT = "snapshot", "Snapshot"
    STORAGE = "storage", "Storage"
    NETWORK = "network", "Network"
    SUBNET = "subnet", "Subnet"
    FIREWALL = "firewall", "Firewall"
    LOAD_BALANCER = "load_balancer", "Load balancer"
    IP_ADDRESS = "ip_address", "IP address"
    NAT_GATEWAY = "nat_gateway", "NAT gateway"
    DATABASE = "database", "Database"
    NOSQL = "nosql", "NoSQL database"
    KUBERNETES = "kubernetes", "Kubernetes cluster"
    FUNCTION = "function", "Function"
    QUEUE = "queue", "Queue"
    TOPIC = "topic", "Topic"
    DNS_ZONE = "dns_zone", "DNS zone"


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


class Resource(models.Model):
    """A VM, disk, bucket, network or database as the last sync saw it.

    Unique per (cloud account, provider resource id). A resource that disappears from a
    complete listing keeps its row with `deleted_at` set; one that comes back is revived.
    """

    # No single-column indexes on the two keys: the composite indexes below start with
    # them, and every index is paid for on each row a sync writes.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="resources", db_index=False
    )
    provider = models.CharField(max_length=10, choices=provider_choices)
    resource_id = models.CharField(max_length=500)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=ResourceType.choices)
    region = models.CharField(max_length=64)
    scope = models.CharField(
        max_length=128, help_text="The region, subscription or project whose listing holds it."
    )
    status = models.CharField(max_length=16)
    tags = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=32, help_text="Hash of the synced fields.")
    deployment_ref = models.CharField(
        max_length=64,
        blank=True,
        help_text=f"The {MANAGED_TAG!r} tag: the deployment that made it.",
    )
    created_at = models.DateTimeField(null=True, blank=True, help_text="As the provider says.")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "resource_id"], name="resource_unique_id")
        ]
        indexes = [
            models.Index(fields=["account", "scope"]),
            models.Index(fields=["organization", "deleted_at", "type", "status"]),
            models.Index(fields=["organization", "provider"]),
            models.Index(fields=["organization", "region"]),
            # The list's default sorts, over live rows: ordered index scans for any page
            # (PostgreSQL does not take `deleted_at IS NULL` as a prefix that keeps order).
            models.Index(
                fields=["organization", "name", "id"],
                condition=Q(deleted_at__isnull=True),
                name="resource_live_by_name",
            ),
            models.Index(
                fields=["organization", "last_seen", "id"],
                condition=Q(deleted_at__isnull=True),
                name="resource_live_by_last_seen",
            ),
            models.Index(fields=["organization", "deployment_ref"]),
            # Costs name resources in lower case (Azure does): they are matched on this.
            models.Index(Lower("resource_id"), name="resource_id_lower"),
        ]

    def __str__(self) -> str:
        return self.name


class ResourceEvent(models.Model):
    """A change a sync saw: created, started, stopped, deleted, back again."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status changed"
        DELETED = "deleted", "Deleted"
        RESTORED = "restored", "Back again"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="events")
    sync_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-occurred_at"]),
            models.Index(fields=["resource", "-occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.kind}"

    @property
    def verb(self) -> str:
        """What happened, in the words the activity feed uses."""
        if self.kind == self.Kind.STATUS:
            return {"running": "started", "stopped": "stopped", "terminated": "terminated"}.get(
                self.new_status, f"is now {self.new_status}"
            )
        return self.get_kind_display().lower()


class SavedView(models.Model):
    """A named inventory filter, for its owner or shared with the whole organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, help_text="The list's URL query string.")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "owner", "name"], name="savedview_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ResourceTally(models.Model):
    """How many resources of one kind a scope holds, rewritten by the ingest in the same
    transaction as the resources themselves: dashboard tiles and list counts add these up
    instead of counting 100,000 rows, and they are never stale."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=128)
    provider = models.CharField(max_length=10, choices=provider_choices)
    region = models.CharField(max_length=64)
    type = models.CharField(max_length=16, choices=ResourceType.choices)
    status = models.CharField(max_length=16)
    live = models.BooleanField(help_text="Counts resources not marked deleted.")
    count = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "resource tallies"
        indexes = [
            models.Index(fields=["organization", "live"]),
            models.Index(fields=["account", "scope"]),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.scope}: {self.count} {self.type} {self.status}"
