"""Resources as syncs saw them, their events, their tallies and saved views of the list."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Organization
from inventory.models.accounts import CloudAccount
from inventory.models.runs import SyncRun
from mcloud.clouds.registry import provider_choices

# Resources that mcloud's Terraform deployments create carry this tag, with the deployment's
# id. Only a hint: managed means in a deployment's current state (inventory.managed).
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


class CostBasis(models.TextChoices):
    """Where a resource's `monthly_cost` comes from."""

    BILLED = "billed", "Billed, last 30 days"
    ESTIMATE = "estimate", "Estimate (list prices)"


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
    # A month of it at list price (USD), from the price catalog when it was last written
    # (`inventory.estimates`); null when the catalog does not price it. An estimate only.
    monthly_estimate = models.DecimalField(
        "monthly estimate (USD)", max_digits=14, decimal_places=4, null=True, blank=True
    )
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
    # What the resource costs a month, written by billing after each cost import (the
    # inventory reads it and never computes it): billed over the last 30 days where the
    # provider bills per resource, else a list-price estimate; `cost_basis` says which ("" when
    # neither is known, shown as a dash). Database defaults: the ingest inserts in SQL.
    monthly_cost = models.DecimalField(max_digits=18, decimal_places=2, db_default=0, default=0)
    cost_currency = models.CharField(max_length=3, blank=True, db_default="", default="")
    cost_basis = models.CharField(
        max_length=8, choices=CostBasis.choices, blank=True, db_default="", default=""
    )

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
            # Sorted by cost / month (either way: a backward scan serves "-monthly_cost, -id").
            models.Index(
                fields=["organization", "monthly_cost", "id"],
                condition=Q(deleted_at__isnull=True),
                name="resource_live_by_cost",
            ),
            models.Index(fields=["organization", "deployment_ref"]),
            # Costs name resources in lower case (Azure does): they are matched on this.
            models.Index(Lower("resource_id"), name="resource_id_lower"),
        ]

    def __str__(self) -> str:
        return self.name


class ResourceEvent(models.Model):
    """A change a sync saw (created, started, stopped, deleted, back again), or an action
    mcloud took on it (`action_run`)."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status changed"
        DELETED = "deleted", "Deleted"
        RESTORED = "restored", "Back again"
        ACTION = "action", "Action"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="events")
    sync_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    action_run = models.ForeignKey(
        "inventory.ActionRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
        if self.kind == self.Kind.ACTION and self.action_run is not None:
            run = self.action_run
            outcome = run.get_status_display().lower()
            return f"{run.get_action_display().lower()} asked in mcloud: {outcome}"
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
    """How many resources of one kind a scope holds (and what they cost a month), rewritten
    by the ingest in the same transaction as the resources themselves, and by billing when it
    writes their costs (`tallies_rewrite`): dashboard tiles and list counts add these up
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
    # Their cost / month (Resource.monthly_cost) summed, per basis and currency: the list's
    # total of what a filter matches, without adding up 100,000 rows.
    cost_basis = models.CharField(max_length=8, blank=True, db_default="", default="")
    cost_currency = models.CharField(max_length=3, blank=True, db_default="", default="")
    monthly_cost = models.DecimalField(max_digits=20, decimal_places=2, db_default=0, default=0)

    class Meta:
        verbose_name_plural = "resource tallies"
        indexes = [
            models.Index(fields=["organization", "live"]),
            models.Index(fields=["account", "scope"]),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.scope}: {self.count} {self.type} {self.status}"


class ResourceLink(models.Model):
    """One entry of a resource's `attached_to`: the provider id of something it is attached to,
    as its listing spelt it. Written by the ingest with the resource (replaced whenever the
    resource is written, kept when it becomes a tombstone: the page shows what it was last
    attached to). The other end is looked up by id within the organization when read
    (`inventory.attachments`), in lower case since Azure ids are case-insensitive: the resource
    named may be listed later, in another scope, or never."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="links")
    target_id = models.CharField(max_length=500)
    target_key = models.CharField(max_length=500, help_text="target_id in lower case")

    class Meta:
        indexes = [models.Index(fields=["organization", "target_key"])]

    def __str__(self) -> str:
        return f"{self.resource_id} -> {self.target_id}"
