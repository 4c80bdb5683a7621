"""Azure through azure-identity and the azure-mgmt-* clients."""

from __future__ import annotations

import re
import time as time_module
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.costmanagement import CostManagementClient
from azure.mgmt.costmanagement import models as cost_models
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource import SubscriptionClient
from azure.mgmt.storage import StorageManagementClient

from mcloud.clouds.base import (
    AzureCredentials,
    CloudError,
    ConnectionResult,
    CostRecord,
    Endpoints,
    ResourceRecord,
    ResourceType,
    Status,
)
from mcloud.clouds.prices import hourly_price

# The token audience is Resource Manager's, wherever its endpoint answers.
ARM_SCOPE = "https://management.azure.com/.default"
PUBLIC_AUTHORITY = "login.microsoftonline.com"
_AADSTS = re.compile(r"(AADSTS\d+): ([^.\r\n]*\.)")
_RESOURCE_GROUP = re.compile(r"/resourceGroups/([^/]+)", re.IGNORECASE)
COST_QUERY_MAX_DAYS = 365  # Cost Management refuses a custom period longer than a year


class AzureAdapter:
    def __init__(self, credentials: AzureCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._credential: ClientSecretCredential | None = None

    def credential(self) -> ClientSecretCredential:
        if self._credential is None:
            c, e = self.credentials, self.endpoints
            kwargs: dict[str, Any] = {
                "authority": e.azure_authority,
                "connection_timeout": e.timeout,
                "read_timeout": e.timeout,
            }
            if e.azure_authority != PUBLIC_AUTHORITY:
                kwargs["disable_instance_discovery"] = True  # a private or emulated authority
            if e.azure_ca_bundle:
                kwargs["connection_verify"] = e.azure_ca_bundle
            self._credential = ClientSecretCredential(
                c.tenant_id, c.client_id, c.client_secret, **kwargs
            )
        return self._credential

    def client_kwargs(self) -> dict[str, Any]:
        e = self.endpoints
        kwargs: dict[str, Any] = {
            "base_url": e.azure_arm_url,
            "credential_scopes": [ARM_SCOPE],
            "retry_total": e.retries,
            "retry_backoff_factor": 0.5,
            "connection_timeout": e.timeout,
            "read_timeout": e.timeout,
        }
        if e.azure_ca_bundle:
            kwargs["connection_verify"] = e.azure_ca_bundle
        return kwargs

    def client(self, client_class: type, **extra: Any) -> Any:
        return client_class(self.credential(), **extra, **self.client_kwargs())

    def terraform_env(self) -> dict[str, str]:
        """The service principal as Terraform's azurerm provider reads it, on the account's
        first subscription."""
        c = self.credentials
        return {
            "ARM_CLIENT_ID": c.client_id,
            "ARM_CLIENT_SECRET": c.client_secret,
            "ARM_TENANT_ID": c.tenant_id,
            "ARM_SUBSCRIPTION_ID": c.subscription_ids[0] if c.subscription_ids else "",
        }

    def test_connection(self) -> ConnectionResult:
        """Read each subscription the account covers."""
        subscriptions = self.client(SubscriptionClient).subscriptions
        names = []
        for subscription_id in self.credentials.subscription_ids:
            with translate_errors(f"read subscription {subscription_id}"):
                names.append(subscriptions.get(subscription_id).display_name)
        plural = "s" if len(names) != 1 else ""
        return ConnectionResult(
            message=f"Connected as application {self.credentials.client_id} to "
            f"subscription{plural} {', '.join(names)}",
            identity=self.credentials.client_id,
        )

    # --- inventory ---------------------------------------------------------------------
    def scopes(self) -> list[str]:
        """One scope per subscription the account covers."""
        return list(self.credentials.subscription_ids)

    def list_scope(self, scope: str) -> list[ResourceRecord]:
        """Every VM, managed disk, storage account and virtual network of one subscription,
        paged to the end. Raises CloudError when any listing of the subscription fails."""
        compute = self.client(ComputeManagementClient, subscription_id=scope)
        records: list[ResourceRecord] = []
        with translate_errors(f"list the virtual machines of subscription {scope}"):
            records += self._vms(compute)
        with translate_errors(f"list the managed disks of subscription {scope}"):
            records += self._disks(compute)
        with translate_errors(f"list the storage accounts of subscription {scope}"):
            records += self._storage_accounts(
                self.client(StorageManagementClient, subscription_id=scope)
            )
        with translate_errors(f"list the virtual networks of subscription {scope}"):
            records += self._virtual_networks(
                self.client(NetworkManagementClient, subscription_id=scope)
            )
        return records

    def _vms(self, compute: Any) -> list[ResourceRecord]:
        records = []
        # statusOnly adds each VM's instance view (its power state) to the list.
        for vm in compute.virtual_machines.list_all(status_only="true"):
            p = vm.properties
            power = _power_state(_attr(p, "instance_view", "statuses") or [])
            size = _text(_attr(p, "hardware_profile", "vm_size"))
            os_disk = _attr(p, "storage_profile", "os_disk")
            created = _utc(_attr(p, "time_created"))
            metadata = {
                "vm_size": size,
                "os_type": _text(_attr(os_disk, "os_type")),
                "vm_id": _attr(p, "vm_id"),
                "os_disk": _attr(os_disk, "name"),
                "os_disk_id": _attr(os_disk, "managed_disk", "id"),
                "provider_status": power or _text(_attr(p, "provisioning_state")),
                "cost_per_hour": hourly_price("azure", size),
                "created": _iso(created),
            }
            records.append(
                _arm_record(
                    vm,
                    ResourceType.VM,
                    _POWER_STATES.get(power or "", Status.UNKNOWN),
                    created_at=created,
                    **metadata,
                )
            )
        return records

    def _disks(self, compute: Any) -> list[ResourceRecord]:
        records = []
        for disk in compute.disks.list():
            p = disk.properties
            state = _text(_attr(p, "disk_state"))
            records.append(
                _arm_record(
                    disk,
                    ResourceType.DISK,
                    _DISK_STATES.get((state or "").lower(), Status.UNKNOWN),
                    created_at=_utc(_attr(p, "time_created")),
                    size_gb=_attr(p, "disk_size_gb"),
                    sku=_text(_attr(disk, "sku", "name")),
                    disk_state=state,
                    managed_by=disk.managed_by,
                    provider_status=state,
                )
            )
        return records

    def _storage_accounts(self, storage: Any) -> list[ResourceRecord]:
        records = []
        for account in storage.storage_accounts.list():
            p = account.properties
            state = _text(_attr(p, "provisioning_state"))
            records.append(
                _arm_record(
                    account,
                    ResourceType.STORAGE,
                    _PROVISIONING_STATES.get((state or "").lower(), Status.UNKNOWN),
                    created_at=_utc(_attr(p, "creation_time")),
                    sku=_text(_attr(account, "sku", "name")),
                    kind=_text(account.kind),
                    primary_location=_attr(p, "primary_location"),
                    provider_status=state,
                )
            )
        return records

    def _virtual_networks(self, network: Any) -> list[ResourceRecord]:
        records = []
        for vnet in network.virtual_networks.list_all():
            state = _text(_attr(vnet, "provisioning_state"))
            records.append(
                _arm_record(
                    vnet,
                    ResourceType.NETWORK,
                    _PROVISIONING_STATES.get((state or "").lower(), Status.UNKNOWN),
                    address_prefixes=list(_attr(vnet, "address_space", "address_prefixes") or []),
                    subnets=[s.name for s in _attr(vnet, "subnets") or []],
                    provider_status=state,
                )
            )
        return records

    # --- costs -------------------------------------------------------------------------
    def costs(self, start: date, end: date) -> list[CostRecord]:
        """Daily pre-tax actual costs from `start` to `end` (exclusive) per service and
        resource, for each subscription of the account, from the Cost Management query API,
        paged to the end.

        A query takes at most two groupings, and service and resource use both, so records
        carry no region (a second query by ResourceLocation could add it). Cost Management
        spells resource ids in lower case; they are kept as given, with the subscription in
        metadata. Longer periods than a year are read a year at a time."""
        client = self.client(CostManagementClient)
        records: list[CostRecord] = []
        for subscription_id in self.credentials.subscription_ids:
            with translate_errors(f"read the costs of subscription {subscription_id}"):
                for first, last in _windows(start, end, COST_QUERY_MAX_DAYS):
                    records += self._subscription_costs(client, subscription_id, first, last)
        return records

    def _subscription_costs(
        self, client: Any, subscription_id: str, first: date, last: date
    ) -> list[CostRecord]:
        """One subscription's costs from `first` to `last`, both included (as Azure counts)."""
        scope = f"/subscriptions/{subscription_id}"
        query = cost_models.QueryDefinition(
            type="ActualCost",
            timeframe="Custom",
            time_period=cost_models.QueryTimePeriod(
                from_property=datetime.combine(first, time.min, UTC),
                to=datetime.combine(last, time(23, 59, 59), UTC),
            ),
            dataset=cost_models.QueryDataset(
                granularity="Daily",
                aggregation={
                    "totalCost": cost_models.QueryAggregation(name="PreTaxCost", function="Sum")
                },
                grouping=[
                    cost_models.QueryGrouping(type="Dimension", name="ServiceName"),
                    cost_models.QueryGrouping(type="Dimension", name="ResourceId"),
                ],
            ),
        )
        records: list[CostRecord] = []
        result = self._idempotent(lambda: client.query.usage(scope, query))
        seen: set[str] = set()
        while True:
            columns = {(c.name or "").lower(): i for i, c in enumerate(result.columns or [])}
            amount = columns.get("pretaxcost", columns.get("totalcost"))
            if amount is None or "usagedate" not in columns:
                raise CloudError(
                    "Azure answered the cost query without cost or date columns",
                    code="UnexpectedAnswer",
                )
            for row in result.rows or []:
                records.append(
                    CostRecord(
                        date=_usage_date(row[columns["usagedate"]]),
                        service=_cell(row, columns.get("servicename")),
                        amount=Decimal(str(row[amount])),
                        currency=_cell(row, columns.get("currency")),
                        resource_id=_cell(row, columns.get("resourceid")),
                        metadata={"subscription_id": subscription_id},
                    )
                )
            if not result.next_link:
                return records
            # The next page: the same query POSTed again with the link's $skiptoken.
            token = parse_qs(urlsplit(result.next_link).query).get("$skiptoken", [""])[0]
            if not token or token in seen:
                raise CloudError(
                    f"Azure gave an unusable next page for the costs of {subscription_id}",
                    code="Paging",
                )
            seen.add(token)
            result = self._idempotent(
                lambda token=token: client.query.usage(scope, query, params={"$skiptoken": token})
            )

    def _idempotent(self, call: Callable[[], Any]) -> Any:
        """Call a read that is sent as a POST (the cost query), retrying what azure-core
        retries only for GET: dropped connections, throttling and server errors."""
        for attempt in range(self.endpoints.retries + 1):
            try:
                return call()
            except (ServiceRequestError, ServiceResponseError):
                if attempt == self.endpoints.retries:
                    raise
            except HttpResponseError as error:
                if (
                    error.status_code not in (429, 500, 502, 503, 504)
                    or attempt == self.endpoints.retries
                ):
                    raise
            time_module.sleep(min(0.5 * 2**attempt, 8))
        raise AssertionError("unreachable")


# Power states (the x of an instance view's "PowerState/x"); the word itself stays in metadata.
_POWER_STATES = {
    "running": Status.RUNNING,
    "starting": Status.PENDING,
    "stopping": Status.STOPPING,
    "deallocating": Status.STOPPING,
    "stopped": Status.STOPPED,
    "deallocated": Status.STOPPED,
}
_DISK_STATES = {
    "attached": Status.IN_USE,
    "reserved": Status.IN_USE,
    "unattached": Status.AVAILABLE,
}
# provisioningState of storage accounts and virtual networks, lower-cased.
_PROVISIONING_STATES = {
    "succeeded": Status.AVAILABLE,
    "creating": Status.PENDING,
    "resolvingdns": Status.PENDING,
    "updating": Status.PENDING,
    "deleting": Status.DELETING,
    "failed": Status.ERROR,
}


def _attr(obj: Any, *path: str) -> Any:
    """obj.a.b.c, or None as soon as a step is missing (ARM leaves out what is unset)."""
    for name in path:
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj


def _text(value: Any) -> str | None:
    """An SDK enum as the plain string ARM sent (sizes, SKUs and states come back as enums
    when the SDK knows the value, as strings when it does not)."""
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


def _power_state(statuses: list[Any]) -> str | None:
    for status in statuses:
        code = _attr(status, "code") or ""
        if code.startswith("PowerState/"):
            return code.removeprefix("PowerState/").lower()
    return None


def _arm_record(
    resource: Any,
    resource_type: str,
    status: str,
    created_at: datetime | None = None,
    **metadata: Any,
) -> ResourceRecord:
    """A record of an ARM resource: its id, name, location, tags and resource group are
    read the same way for every type."""
    return ResourceRecord(
        resource_id=resource.id,
        name=resource.name,
        type=resource_type,
        region=resource.location,
        status=status,
        created_at=created_at,
        tags=dict(resource.tags or {}),
        metadata={**metadata, "resource_group": _resource_group(resource.id)},
    )


def _resource_group(resource_id: str | None) -> str | None:
    found = _RESOURCE_GROUP.search(resource_id or "")
    return found.group(1) if found else None


def _utc(value: datetime | None) -> datetime | None:
    """In UTC with the standard tzinfo (the SDK's own FixedOffset / isodate zones otherwise)."""
    return value.astimezone(UTC) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _windows(start: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    """[start, end) as inclusive (first, last) periods of at most `days` days."""
    while start < end:
        stop = min(end, start + timedelta(days=days))
        yield start, stop - timedelta(days=1)
        start = stop


def _usage_date(value: Any) -> date:
    """UsageDate comes as a number (20261001), or as text in some API versions."""
    text = str(int(value)) if isinstance(value, int | float) else str(value)
    if text.isdigit() and len(text) == 8:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return date.fromisoformat(text[:10])


def _cell(row: list[Any], index: int | None) -> str:
    return "" if index is None or row[index] is None else str(row[index])


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn azure-core exceptions into display-safe CloudErrors."""
    try:
        yield
    except ClientAuthenticationError as exc:
        found = _AADSTS.search(str(exc))
        if found:
            code, sentence = found.groups()
            what = "client secret" if code == "AADSTS7000215" else "credentials"
            raise CloudError(
                f"Azure rejected the {what} ({code}: {sentence})", permanent=True, code=code
            ) from None
        code = exc.error.code if exc.error else "AuthenticationFailed"
        raise CloudError(
            f"Azure rejected the credentials ({code})", permanent=True, code=code
        ) from None
    except ResourceNotFoundError as exc:
        code = exc.error.code if exc.error else "NotFound"
        raise CloudError(
            f"Azure could not {doing}: it does not exist ({code})", permanent=True, code=code
        ) from None
    except HttpResponseError as exc:
        code = exc.error.code if exc.error else str(exc.status_code)
        if exc.status_code in (401, 403):
            raise CloudError(
                f"Azure denied the request to {doing} ({code})", permanent=True, code=code
            ) from None
        raise CloudError(f"Azure could not {doing} ({code})", code=code) from None
    except ServiceResponseError:
        raise CloudError(
            f"Azure did not answer in time while trying to {doing}", code="Timeout"
        ) from None
    except ServiceRequestError:
        raise CloudError("Azure could not be reached", code="ConnectionError") from None
    except AzureError as exc:
        name = exc.__class__.__name__
        raise CloudError(f"Azure could not {doing} ({name})", code=name) from None
