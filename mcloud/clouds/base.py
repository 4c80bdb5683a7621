"""What adapters take and return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


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


Credentials = AwsCredentials | AzureCredentials | GcpCredentials


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
