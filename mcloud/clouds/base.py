"""What adapters take and return, and the one check between adapters and the inventory.

- An adapter turns every item a provider lists into a `ResourceRecord` or a `Skip` that says
  why it could not (no id, unreadable): nothing a provider sends raises past the adapter,
  beyond the `CloudError` of a listing that failed as a whole. The `clean_*` helpers below are
  what adapters normalize with (text without NUL or lone surrogates, within the column sizes;
  metadata as bounded JSON).
- `listing_checked` is the single validation step at the boundary: every record it lets
  through fits the inventory's columns, ids are unique (duplicates merged and counted), and
  whatever fails the check becomes a counted skip. The ingest takes nothing else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol


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
    gcp_storage_endpoint: str | None = None
    gcp_bigquery_endpoint: str | None = None
    gcp_token_uri: str | None = None
    timeout: float = 10.0
    retries: int = 4


@dataclass(frozen=True)
class AwsCredentials:
    """Either an access key, or a role assumed from the app's own AWS identity."""

    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    role_arn: str = ""
    external_id: str = ""
    regions: tuple[str, ...] = ()  # empty: every region enabled for the account


@dataclass(frozen=True)
class AzureCredentials:
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    subscription_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class GcpCredentials:
    key_info: dict[str, Any] = field(repr=False)
    project_ids: tuple[str, ...] = ()
    # The standard Cloud Billing export table, "project.dataset.table", when costs are read.
    billing_table: str = ""


class ResourceType:
    VM = "vm"
    DISK = "disk"
    STORAGE = "storage"
    NETWORK = "network"
    DATABASE = "database"


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


TYPES = frozenset(
    {ResourceType.VM, ResourceType.DISK, ResourceType.STORAGE, ResourceType.NETWORK,
     ResourceType.DATABASE}
)  # fmt: skip
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
    public and private IPs, VPC / subnet / security groups, launch time, `provider_status`,
    and an estimated `cost_per_hour` where the price table knows the type.
    """

    resource_id: str
    name: str
    type: str
    region: str
    status: str
    created_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class CostRecord:
    """One day's cost of one service (in one region, of one resource where the provider
    says), in the currency the provider bills in."""

    date: date
    service: str
    amount: Decimal
    currency: str
    region: str = ""
    resource_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionResult:
    """The answer of a connection test, as a plain sentence."""

    message: str
    identity: str = ""


class CloudAdapter(Protocol):
    """What the apps call on a provider's adapter (`mcloud.clouds.registry` finds the class).

    An adapter is made per use from the provider's credentials dataclass and the endpoints,
    and does its own paging and retries. Every method raises `CloudError` when the provider
    refuses or fails, with `permanent=True` when retrying will not help.

    Resource actions (start, stop, delete) are not declared: no adapter performs one yet,
    and a method every adapter refused would be a stub. They will be added here as
    `perform(action, record) -> ActionResult`, with the registry entry saying which
    actions its adapter supports, when the first one is built.
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

    def terraform_env(self) -> dict[str, str]:
        """The account's credentials as the cloud's Terraform provider reads them from the
        environment of a run."""
        ...


# --- normalizing what providers send ------------------------------------------------------
def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Any value as display-safe text: None is "", enums their value, no NUL characters or
    lone surrogates (PostgreSQL refuses both), surrounding space stripped, at most `limit`."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.strip()[:limit]


def last_segment(resource_id: str) -> str:
    """The last part of a path-like id: ".../virtualMachines/web-1" -> "web-1"."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


def clean_json(value: Any, depth: int = 0) -> Any:
    """`value` as bounded JSON: strings cleaned, non-finite numbers null, datetimes ISO text,
    lists and mappings at most MAX_ITEMS long and MAX_DEPTH deep, anything else as text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return clean_json(value.value, depth)
    if depth >= MAX_DEPTH:
        return clean_text(value)
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {clean_text(k, 128): clean_json(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean_json(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return clean_text(value)


def clean_tags(value: Any) -> dict[str, str]:
    """Tags or labels as {text: text}; entries without a key are dropped."""
    if not isinstance(value, Mapping):
        return {}
    tags: dict[str, str] = {}
    for key, tag in list(value.items())[:MAX_ITEMS]:
        key = clean_text(key)
        if key:
            tags[key] = clean_text(tag)
    return tags


def clean_datetime(value: Any) -> datetime | None:
    """A provider's timestamp in UTC (naive ones taken as UTC); None for anything else."""
    if not isinstance(value, datetime):
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


@dataclass(frozen=True)
class Skip:
    """A listed item that did not become a record: why, and what identifies it (the provider's
    id where it has one, else what it is and its name or place in the listing)."""

    reason: str
    item: str


def record_or_skip(
    *,
    kind: str,
    resource_id: Any,
    name: Any,
    type: str,
    region: Any,
    status: str,
    created_at: Any = None,
    tags: Any = None,
    metadata: Any = None,
    where: str = "",
) -> ResourceRecord | Skip:
    """A normalized record of one provider item, or the reason it cannot be one.

    The name falls back to the id's last segment; a missing region is "unknown"; an unknown
    status is Status.UNKNOWN (adapters keep the provider's word as `provider_status`)."""
    rid = clean_text(resource_id, MAX_ID + 1)
    label = clean_text(name, 80) or where or "an item"
    if not rid:
        return Skip("no id", f"{kind} {label}")
    if len(rid) > MAX_ID:
        return Skip(f"id longer than {MAX_ID} characters", f"{kind} {rid[:80]}…")
    return ResourceRecord(
        resource_id=rid,
        name=clean_text(name, MAX_NAME) or last_segment(rid)[:MAX_NAME],
        type=type,
        region=clean_text(region, MAX_REGION).lower() or UNKNOWN_REGION,
        status=status if status in STATUSES else Status.UNKNOWN,
        created_at=clean_datetime(created_at),
        tags=clean_tags(tags),
        metadata=_bounded(clean_json(metadata or {})),
    )


def _bounded(metadata: Any) -> dict[str, Any]:
    """Metadata within MAX_METADATA characters: the longest values go first, as text."""
    if not isinstance(metadata, dict):
        return {}
    while len(_encoded(metadata)) > MAX_METADATA:
        key = max(metadata, key=lambda k: len(_encoded(metadata[k])))
        metadata[key] = "(too large to keep)"
        if all(v == "(too large to keep)" for v in metadata.values()):
            break
    return metadata


def _encoded(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


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


# --- the check between adapters and the inventory ---------------------------------------
@dataclass
class Listing:
    """One scope's listing as an adapter returns it: records, and the items it skipped."""

    records: list[ResourceRecord] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)

    def add(self, made: ResourceRecord | Skip) -> None:
        if isinstance(made, Skip):
            self.skips.append(made)
        else:
            self.records.append(made)

    def __iter__(self) -> Iterator[ResourceRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class CheckedListing:
    """What the ingest takes: records that passed `listing_checked`, one per id, and the
    skips and merges that made it so. Made only by `listing_checked`."""

    records: tuple[ResourceRecord, ...]
    skips: tuple[Skip, ...] = ()
    merged: tuple[str, ...] = ()  # ids listed more than once, each now one record


def record_problem(record: Any) -> str | None:
    """What makes `record` unfit for the inventory, or None. The rules are the columns'."""
    if not isinstance(record, ResourceRecord):
        return "not a resource record"
    checks: tuple[tuple[str, bool], ...] = (
        ("invalid id", _fits(record.resource_id, MAX_ID) and bool(record.resource_id.strip())),
        ("invalid name", _fits(record.name, MAX_NAME) and bool(record.name)),
        ("invalid type", isinstance(record.type, str) and record.type in TYPES),
        ("invalid region", _fits(record.region, MAX_REGION) and bool(record.region)),
        ("invalid status", isinstance(record.status, str) and record.status in STATUSES),
        ("invalid creation time", record.created_at is None or _aware(record.created_at)),
        ("invalid tags", _valid_tags(record.tags)),
        ("invalid metadata", _valid_metadata(record.metadata)),
    )
    return next((problem for problem, ok in checks if not ok), None)


def listing_checked(listed: Listing | Iterable[Any]) -> CheckedListing:
    """The one validation step between adapters and the ingest (see the module docstring).

    A record that fails a rule becomes a skip naming the rule; a later record with the id of
    an earlier one is merged into it (the first one's fields, the later one's tags and
    metadata where the first has none) and its id counted once per extra listing."""
    skips = list(listed.skips) if isinstance(listed, Listing) else []
    kept: dict[str, ResourceRecord] = {}
    merged: list[str] = []
    for record in listed.records if isinstance(listed, Listing) else listed:
        problem = record_problem(record)
        if problem is not None:
            rid = getattr(record, "resource_id", None)
            skips.append(Skip(problem, clean_text(rid, 200) or repr(type(record).__name__)))
            continue
        first = kept.get(record.resource_id)
        if first is None:
            kept[record.resource_id] = record
            continue
        merged.append(record.resource_id)
        kept[record.resource_id] = _merge(first, record)
    return CheckedListing(tuple(kept.values()), tuple(skips), tuple(merged))


def _merge(first: ResourceRecord, later: ResourceRecord) -> ResourceRecord:
    """`first`, with the tags and metadata keys only `later` has (if the union still fits)."""
    union = ResourceRecord(
        **{**vars(first), "tags": {**later.tags, **first.tags},
           "metadata": {**later.metadata, **first.metadata}}
    )  # fmt: skip
    return first if record_problem(union) else union


def _fits(value: Any, limit: int) -> bool:
    """Text of at most `limit` characters that PostgreSQL and UTF-8 accept."""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _valid_tags(tags: Any) -> bool:
    return (
        isinstance(tags, dict)
        and len(tags) <= MAX_ITEMS
        and all(_fits(k, MAX_TEXT) and k and _fits(v, MAX_TEXT) for k, v in tags.items())
    )


def _valid_metadata(metadata: Any) -> bool:
    if not isinstance(metadata, dict):
        return False
    try:
        encoded = json.dumps(metadata, allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return False
    return len(encoded) <= MAX_METADATA and "\\u0000" not in encoded
