"""What adapters take and return (credentials, records, listings, errors), and the contract
every adapter follows (`CloudAdapter`). Normalizing what providers send, and the one check
between adapters and the inventory, are in `mcloud.clouds.records`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


class CloudError(Exception):
    """A provider refused or failed. `message` is display-safe: no secret, no stack trace.

    `permanent` means retrying will not help (bad credentials, missing permission); the
    caller flags the account instead of retrying.
    """

    def __init__(self, message: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code


# Where a Google service-account key's signed tokens go, whatever the key itself says.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_UNIVERSE = "googleapis.com"


@dataclass(frozen=True)
class Endpoints:
    """Where each provider's APIs answer. Defaults are the real clouds; tests and the
    sandbox point them at the local emulators."""

    aws_endpoint_url: str | None = None
    aws_ca_bundle: str | None = None
    azure_arm_url: str = "https://management.azure.com"
    azure_authority: str = "login.microsoftonline.com"
    azure_ca_bundle: str | None = None
    gcp_compute_endpoint: str | None = None
    gcp_asset_endpoint: str | None = None
    gcp_resource_manager_endpoint: str | None = None
    gcp_storage_endpoint: str | None = None
    gcp_bigquery_endpoint: str | None = None
    gcp_token_uri: str | None = None
    timeout: float = 10.0
    retries: int = 4
    # Seconds between polls of a long-running operation (an Azure power action, a GCP zone
    # operation) when the provider does not say: None keeps each SDK's own default (Azure's
    # 30 s, Google's 1 s growing to 20 s). azure-core reads `Retry-After: 0` as "not said".
    poll_seconds: float | None = None
    # The longest an action waits for its operation to end.
    action_timeout: float = 600.0
    # Called before every request an adapter sends (each retry too) with the request's
    # rate-limit domain, and returns when it may go (`mcloud.clouds.throttling`); None: calls
    # are not paced. The app gives one that waits for a shared token (inventory.cloud_limits).
    throttle: Callable[[str], None] | None = field(default=None, compare=False, repr=False)
    # How long a call the provider keeps throttling (AWS Throttling, HTTP 429) is retried
    # beyond `retries`, waiting as it asks.
    throttle_patience: float = 600.0


@dataclass(frozen=True)
class AwsCredentials:
    """Either an access key, or a role assumed from the app's own AWS identity."""

    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    role_arn: str = ""
    external_id: str = ""
    regions: tuple[str, ...] = ()  # empty: every region enabled for the account
    # A member account of an AWS organization: after signing in as above (the management
    # account's connection), assume this role in the member, with the same external ID.
    member_role_arn: str = ""
    # Where the account's CUR 2.0 data export (AWS Data Exports, Parquet) is delivered:
    # s3://<export_bucket>/<export_prefix>/<export_name>/data/BILLING_PERIOD=YYYY-MM/. No
    # bucket: no export, costs come from Cost Explorer alone.
    export_bucket: str = ""
    export_prefix: str = ""
    export_name: str = ""
    # A connection that discovers its organization's member accounts: its consolidated bill
    # is read per linked account (each cost record names the member it is of).
    costs_by_account: bool = False


@dataclass(frozen=True)
class AzureCredentials:
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    subscription_ids: tuple[str, ...] = ()
    # Discovery keeps to the subscriptions under this management group (at any depth).
    management_group: str = ""


@dataclass(frozen=True)
class GcpCredentials:
    key_info: dict[str, Any] = field(repr=False)
    project_ids: tuple[str, ...] = ()
    # The standard Cloud Billing export table, "project.dataset.table", when costs are read.
    billing_table: str = ""
    # Where discovery looks for projects: "organizations/123" or "folders/456" (and every
    # folder below it).
    project_parent: str = ""
    # A discovered project: its costs come with its connection's (the billing export covers
    # every project of the billing account), so it imports none of its own.
    costs_through_connection: bool = False


class ResourceType:
    """The kinds of resource the inventory holds, the same words for every provider (the
    provider's own type stays in metadata as `provider_type`)."""

    VM = "vm"
    VM_GROUP = "vm_group"  # Auto Scaling groups, VM scale sets, managed instance groups
    DISK = "disk"
    SNAPSHOT = "snapshot"
    STORAGE = "storage"  # buckets, storage accounts
    NETWORK = "network"
    SUBNET = "subnet"
    FIREWALL = "firewall"  # security groups, network security groups, firewall rules
    LOAD_BALANCER = "load_balancer"
    IP_ADDRESS = "ip_address"  # Elastic IPs, public IP addresses, addresses
    NAT_GATEWAY = "nat_gateway"
    DATABASE = "database"
    NOSQL = "nosql"
    KUBERNETES = "kubernetes"  # clusters; node groups are vm groups attached to them
    FUNCTION = "function"
    QUEUE = "queue"
    TOPIC = "topic"
    DNS_ZONE = "dns_zone"


class Status:
    """Statuses normalized across providers; the provider's own word stays in metadata."""

    RUNNING = "running"
    PENDING = "pending"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TERMINATED = "terminated"
    AVAILABLE = "available"
    IN_USE = "in_use"
    DELETING = "deleting"
    ERROR = "error"
    UNKNOWN = "unknown"


TYPES = frozenset(v for k, v in vars(ResourceType).items() if k.isupper())
STATUSES = frozenset(v for k, v in vars(Status).items() if k.isupper())
# The provider says the resource is gone or going: it is kept as a tombstone (with its history
# and costs), out of live totals, like a resource that vanished from the listing.
GONE_STATUSES = frozenset({Status.TERMINATED, Status.DELETING})
UNKNOWN_REGION = "unknown"

# Column sizes of the inventory, and bounds on what else a record carries.
MAX_ID = 500
MAX_NAME = 255
MAX_REGION = 64
MAX_TEXT = 1024  # any other string: tag keys and values, metadata values
MAX_ITEMS = 200  # entries of a list or mapping in tags or metadata
MAX_DEPTH = 4  # nesting of metadata
MAX_METADATA = 32_768  # characters of a record's metadata as JSON


@dataclass
class ResourceRecord:
    """One resource as an adapter lists it, before it becomes a database row.

    `metadata` holds what the provider says beyond the common fields: instance type or size,
    public and private IPs, VPC / subnet / security groups, launch time and `provider_status`
    (the inventory prices it from its catalog: `inventory.estimates`). `attached_to`
    holds the provider ids of the resources this one is attached to or uses (a VM's disks,
    subnet, firewalls, IP addresses and load balancers; a disk's VM; a node group's cluster;
    a snapshot's source disk): the inventory links the two where it holds both.
    """

    resource_id: str
    name: str
    type: str
    region: str
    status: str
    created_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    attached_to: list[str] = field(default_factory=list)


@dataclass
class CostRecord:
    """One day's cost of one service (in one region, of one resource where the provider
    says), in the currency the provider bills in.

    `member_id` is set on an organization's consolidated bill: the provider's id of the
    member account the cost is of (an AWS linked account), "" for the connection's own."""

    date: date
    service: str
    amount: Decimal
    currency: str
    region: str = ""
    resource_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    member_id: str = ""


@dataclass
class TagCostRecord:
    """One day's cost of one value of a cost allocation tag key, as the provider groups its
    bill by that key (value "" for the cost that carries no such tag), in the currency the
    provider bills in."""

    date: date
    key: str
    value: str
    amount: Decimal
    currency: str
    member_id: str = ""  # as CostRecord's


@dataclass(frozen=True)
class Member:
    """An account of a provider's organization that discovery found (an AWS member account),
    other than the one the connection signs in to."""

    member_id: str  # the provider's id of it: "210987654321"
    name: str
    path: str = ""  # where it sits in the organization: "Root / Workloads / Prod"
    active: bool = True  # false when the provider says it is suspended or closing


@dataclass(frozen=True)
class ConnectionResult:
    """The answer of a connection test, as a plain sentence."""

    message: str
    identity: str = ""


class VmAction:
    """What can be done to a running or stopped VM, the same words for every provider."""

    START = "start"
    STOP = "stop"  # AWS stop, Azure deallocate (no compute billed), GCP stop
    REBOOT = "reboot"  # AWS reboot, Azure restart, GCP reset


VM_ACTIONS = (VmAction.START, VmAction.STOP, VmAction.REBOOT)


class Cleanup:
    """What removes a waste finding's resource, the same words for every provider."""

    DELETE = "delete"  # an unattached disk, an old snapshot
    RELEASE = "release"  # an unassociated public IP address


CLEANUP_ACTIONS = (Cleanup.DELETE, Cleanup.RELEASE)
# The clean-up of each resource type that has one.
CLEANUP_OF = {
    ResourceType.DISK: Cleanup.DELETE,
    ResourceType.SNAPSHOT: Cleanup.DELETE,
    ResourceType.IP_ADDRESS: Cleanup.RELEASE,
}


@dataclass(frozen=True)
class ActionResult:
    """The provider's answer to an action, followed to its end.

    `changed` is false when the VM was already as asked (starting a running VM): nothing was
    sent to the provider and `message` says so. `status` is the VM's status after (a
    `Status`), as far as the provider said."""

    changed: bool
    message: str
    status: str = ""


def vanished(what: str) -> CloudError:
    """The error of an action on a resource the provider no longer has."""
    return CloudError(f"{what} no longer exists at the provider.", permanent=True, code="NotFound")


class CloudAdapter(Protocol):
    """What the apps call on a provider's adapter (`mcloud.clouds.registry` finds the class).

    An adapter is made per use from the provider's credentials dataclass and the endpoints,
    and does its own paging and retries. Every method raises `CloudError` when the provider
    refuses or fails, with `permanent=True` when retrying will not help.

    Resource actions are in `VmActions`: an adapter whose registry entry names `actions`
    implements it too.
    """

    def __init__(self, credentials: Any, endpoints: Endpoints) -> None: ...

    def test_connection(self) -> ConnectionResult:
        """Sign in and read each scope the account covers: a sentence of who and what."""
        ...

    def scope_listing(self) -> ScopeListing:
        """The scopes (regions, subscriptions, projects) a sync covers, and why a scope the
        account names is gone. A listing that fails as a whole raises."""
        ...

    def scopes(self) -> list[str]:
        """`scope_listing().scopes`."""
        ...

    def list_scope(self, scope: str) -> Listing:
        """Every resource of one scope, paged to the end; items that cannot be records are
        skips. Raises when any listing of the scope fails (a failed scope removes nothing)."""
        ...

    def costs(self, start: date, end: date) -> list[CostRecord]:
        """Each day's cost in [start, end), per service (and region, resource where said)."""
        ...

    def tag_costs(self, start: date, end: date, keys: list[str]) -> list[TagCostRecord]:
        """Each day's cost in [start, end) per value of each tag key, from the provider's own
        grouping of its bill by tag (not from the inventory's tags); value "" is untagged."""
        ...

    def terraform_env(self) -> dict[str, str]:
        """The account's credentials as the cloud's Terraform provider reads them from the
        environment of a run."""
        ...


@runtime_checkable
class VmActions(Protocol):
    """What an adapter of a provider that acts on VMs adds (its registry entry says so with
    `actions`).

    `vm_action` reads the VM's state first: an action that would change nothing (starting a
    running VM, stopping a stopped one) is not sent and says so. Otherwise it sends the action
    and follows the provider's long-running operation to its end. A VM the provider no longer
    has raises `vanished`'s CloudError (code "NotFound"); one in a state the action cannot
    apply to (rebooting a stopped VM) a permanent CloudError (code "InvalidState")."""

    def vm_action(self, action: str, resource_id: str, region: str) -> ActionResult:
        """Do `action` (a `VmAction`) to the VM `resource_id` (as listed) in `region`."""
        ...


@runtime_checkable
class ResourceCleanups(Protocol):
    """What an adapter of a provider that removes waste adds (its registry entry lists the
    resource types in `cleanups`).

    `cleanup` reads the resource first: one the provider no longer has is a no-op said in
    words ("already gone"), never a second call; one that is attached or associated at the
    provider now (the inventory was behind) is refused with a permanent CloudError (code
    "InUse"), nothing sent. Otherwise it deletes or releases it and follows the provider's
    long-running operation to its end."""

    def cleanup(self, kind: str, resource_id: str, region: str) -> ActionResult:
        """Remove the resource `resource_id` (as listed) of `kind` (a `ResourceType` of
        `CLEANUP_OF`) in `region`."""
        ...


def already_gone(what: str) -> ActionResult:
    """The answer of a clean-up of a resource the provider no longer has."""
    return ActionResult(False, f"Nothing to do: {what} is already gone.", Status.TERMINATED)


def in_use(what: str, by: str) -> CloudError:
    """The refusal of a clean-up of a resource that is in use at the provider now."""
    return CloudError(
        f"Not removed: {what} is {by} at the provider now; the inventory was behind.",
        permanent=True,
        code="InUse",
    )


class MemberDiscovery(Protocol):
    """What an adapter of a provider that discovers member accounts adds (its registry entry
    says so with `members`)."""

    def members(self) -> list[Member]:
        """Every other account of the organization the connection signs in to."""
        ...


@dataclass(frozen=True)
class Skip:
    """A listed item that did not become a record: why, and what identifies it (the provider's
    id where it has one, else what it is and its name or place in the listing)."""

    reason: str
    item: str


@dataclass(frozen=True)
class ScopeListing:
    """The scopes (regions, subscriptions, projects) a sync covers, from a successful listing
    of them, and why a scope it covered before is not among them: `gone` for the scopes the
    account names that the provider no longer offers, `otherwise` for any other."""

    scopes: list[str]
    gone: dict[str, str] = field(default_factory=dict)
    otherwise: str = "no longer in the account's settings"

    def why_gone(self, scope: str) -> str:
        return self.gone.get(scope, self.otherwise)


@dataclass
class Listing:
    """One scope's listing as an adapter returns it: records, and the items it skipped.

    `unlisted` names the resource types a part of the listing could not list because the
    provider denied it (a missing permission for one service, an API not enabled): the
    inventory keeps the stored resources of those types as they were instead of taking
    their absence for deletions. Its records of those types (from another listing that
    makes the same type) are still written. A denial says so with a Skip too."""

    records: list[ResourceRecord] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    unlisted: set[str] = field(default_factory=set)

    def add(self, made: ResourceRecord | Skip) -> None:
        if isinstance(made, Skip):
            self.skips.append(made)
        else:
            self.records.append(made)

    def __iter__(self) -> Iterator[ResourceRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


@runtime_checkable
class ResourceCosts(Protocol):
    """What an adapter adds whose provider bills per resource through a query of its own,
    apart from the costs by service (AWS Cost Explorer's resource-level data). Providers whose
    `costs` already name resources (Azure, a GCP detailed export) do not implement it."""

    # How many days back (today included) the provider keeps costs per resource.
    resource_cost_days: int

    def resource_costs(self, start: date, end: date) -> list[CostRecord]:
        """Each day's cost in [start, end) per resource (`resource_id` set), as far back as
        the provider keeps it; raises CloudError when the provider has none to give (not
        enabled)."""
        ...


@dataclass
class ExportedCosts:
    """One billing period of a provider's billing export, up to a day: the bill per day,
    service, region and resource (`costs`), each resource's own usage per day
    (`resource_costs`), and the cost per value of each tag key asked for (`tag_costs`,
    value "" untagged), all for the days in [start, end)."""

    start: date
    end: date
    costs: list[CostRecord] = field(default_factory=list)
    resource_costs: list[CostRecord] = field(default_factory=list)
    tag_costs: list[TagCostRecord] = field(default_factory=list)
    rows: int = 0  # line items read
    skipped: int = 0  # line items that could not be read (no day, no amount) or are not ours


@runtime_checkable
class BillingExport(Protocol):
    """What an adapter adds whose provider can deliver the bill to storage the customer
    owns, for history beyond what its cost query keeps (AWS's CUR 2.0 data export in S3).
    The import reads it for days older than the cost query's resource-level reach."""

    def export_location(self) -> str:
        """Where the export is ("s3://bucket/prefix/name"), or "" when none is configured."""
        ...

    def export_periods(self) -> list[date]:
        """The first day of each billing period the export holds, oldest first. Raises
        CloudError when the export cannot be read (no such bucket, access denied)."""
        ...

    def export_costs(self, period: date, before: date, keys: list[str]) -> ExportedCosts:
        """The period's costs of the days before `before` (see `ExportedCosts`)."""
        ...
