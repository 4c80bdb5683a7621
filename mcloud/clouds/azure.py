"""Azure through azure-identity and the azure-mgmt-* clients.

Lists are read page by page through the SDK's pagers; each item becomes a record through a
function of its own (`vm_record`, ...) that never raises (see mcloud.clouds.base), and each
`nextLink` is checked before it is followed: one that leaves Resource Manager or repeats
itself fails the listing with a message that says so."""

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
    DeserializationError,
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
    Listing,
    ResourceRecord,
    ResourceType,
    ScopeListing,
    Skip,
    Status,
)
from mcloud.clouds.prices import AZURE_HOURLY_USD, hourly_price
from mcloud.clouds.records import clean_datetime, clean_text, record_or_skip

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
    def scope_listing(self) -> ScopeListing:
        """The account's subscriptions that the application can still read; one it can no
        longer see (removed, or its access taken away) is named as gone."""
        with translate_errors("list the subscriptions the application can read"):
            visible = {
                clean_text(s.subscription_id).lower()
                for s in self.client(SubscriptionClient).subscriptions.list()
            }
        chosen = list(self.credentials.subscription_ids)
        return ScopeListing(
            [s for s in chosen if s.lower() in visible],
            gone={
                s: "no longer visible to the application"
                for s in chosen
                if s.lower() not in visible
            },
        )

    def scopes(self) -> list[str]:
        """One scope per subscription the account covers and the application can read."""
        return self.scope_listing().scopes

    def list_scope(self, scope: str) -> Listing:
        """Every VM, managed disk, storage account and virtual network of one subscription,
        paged to the end. Raises CloudError when any listing of the subscription fails."""
        compute = self.client(ComputeManagementClient, subscription_id=scope)
        storage = self.client(StorageManagementClient, subscription_id=scope)
        network = self.client(NetworkManagementClient, subscription_id=scope)
        lists: list[tuple[str, str, Callable[[], Any], Callable[[Any], Any]]] = [
            # statusOnly adds each VM's instance view (its power state) to the list.
            ("virtual machine", "virtual machines",
             lambda: compute.virtual_machines.list_all(status_only="true"), vm_record),
            ("disk", "managed disks", lambda: compute.disks.list(), disk_record),
            ("storage account", "storage accounts",
             lambda: storage.storage_accounts.list(), storage_account_record),
            ("virtual network", "virtual networks",
             lambda: network.virtual_networks.list_all(), virtual_network_record),
        ]  # fmt: skip
        listing = Listing()
        for kind, plural, pager, build in lists:
            doing = f"list the {plural} of subscription {scope}"
            with translate_errors(doing):
                for item in self._items(pager(), doing):
                    listing.add(made(kind, item, build))
        return listing

    def _items(self, paged: Any, doing: str) -> Iterator[Any]:
        """Every item of an SDK pager, checking each `nextLink` before the pager follows it:
        a link must stay on Resource Manager's endpoint and never repeat."""
        pages = paged.by_page()
        home = urlsplit(self.endpoints.azure_arm_url)
        seen: set[str] = set()
        for page in pages:
            yield from page
            link = pages.continuation_token
            if not link:
                continue
            parts = urlsplit(str(link))
            if (parts.scheme, parts.netloc) != (home.scheme, home.netloc) or link in seen:
                raise CloudError(
                    f"Azure gave an unusable link to the next page while trying to {doing}",
                    code="Paging",
                )
            seen.add(link)

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
        code = _attr(status, "code")
        if isinstance(code, str) and code.startswith("PowerState/"):
            return code.removeprefix("PowerState/").lower()
    return None


def _arm_record(
    what: str,
    resource: Any,
    resource_type: str,
    status: str,
    created_at: Any = None,
    **metadata: Any,
) -> ResourceRecord | Skip:
    """A record of an ARM resource: its id, name, location, tags and resource group are
    read the same way for every type."""
    rid = _attr(resource, "id")
    return record_or_skip(
        kind=what,
        resource_id=rid,
        name=_attr(resource, "name"),
        type=resource_type,
        region=_attr(resource, "location"),
        status=status,
        created_at=created_at,
        tags=_attr(resource, "tags"),
        metadata={**metadata, "resource_group": _resource_group(rid)},
    )


def _resource_group(resource_id: Any) -> str | None:
    found = _RESOURCE_GROUP.search(resource_id if isinstance(resource_id, str) else "")
    return found.group(1) if found else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _gone_or(state: str | None, status: str) -> str:
    """Status.DELETING while Resource Manager deletes the resource, else `status`."""
    return Status.DELETING if (state or "").lower() == "deleting" else status


def made(kind: str, item: Any, build: Callable[[Any], ResourceRecord | Skip]) -> Any:
    """build(item), or a Skip when the build fails on something unforeseen: one item never
    fails its listing."""
    try:
        return build(item)
    except Exception as error:  # noqa: BLE001 - an unforeseen item is a skip, never a failure
        ref = _attr(item, "id")
        return Skip(
            f"unreadable ({error.__class__.__name__})",
            f"{kind} {clean_text(ref if isinstance(ref, str) else '', 200)}",
        )


def vm_record(vm: Any) -> ResourceRecord | Skip:
    p = _attr(vm, "properties")
    statuses = _attr(p, "instance_view", "statuses")
    power = _power_state(statuses if isinstance(statuses, list) else [])
    provisioning = _text(_attr(p, "provisioning_state"))
    size = _text(_attr(p, "hardware_profile", "vm_size"))
    os_disk = _attr(p, "storage_profile", "os_disk")
    created = clean_datetime(_attr(p, "time_created"))
    zones = _attr(vm, "zones")
    return _arm_record(
        "virtual machine",
        vm,
        ResourceType.VM,
        _gone_or(provisioning, _POWER_STATES.get(power or "", Status.UNKNOWN)),
        created_at=created,
        vm_size=size,
        os_type=_text(_attr(os_disk, "os_type")),
        vm_id=_attr(p, "vm_id"),
        os_disk=_attr(os_disk, "name"),
        os_disk_id=_attr(os_disk, "managed_disk", "id"),
        zones=[_text(z) for z in zones] if isinstance(zones, list) else [],
        provider_status=power or provisioning,
        cost_per_hour=hourly_price(AZURE_HOURLY_USD, size),
        created=_iso(created),
    )


def disk_record(disk: Any) -> ResourceRecord | Skip:
    p = _attr(disk, "properties")
    state = _text(_attr(p, "disk_state"))
    provisioning = _text(_attr(p, "provisioning_state"))
    zones = _attr(disk, "zones")
    return _arm_record(
        "disk",
        disk,
        ResourceType.DISK,
        _gone_or(provisioning, _DISK_STATES.get((state or "").lower(), Status.UNKNOWN)),
        created_at=_attr(p, "time_created"),
        size_gb=_attr(p, "disk_size_gb"),
        sku=_text(_attr(disk, "sku", "name")),
        disk_state=state,
        managed_by=_attr(disk, "managed_by"),
        **({"zones": [_text(z) for z in zones]} if isinstance(zones, list) and zones else {}),
        provider_status=state,
    )


def storage_account_record(account: Any) -> ResourceRecord | Skip:
    p = _attr(account, "properties")
    state = _text(_attr(p, "provisioning_state"))
    return _arm_record(
        "storage account",
        account,
        ResourceType.STORAGE,
        _PROVISIONING_STATES.get((state or "").lower(), Status.UNKNOWN),
        created_at=_attr(p, "creation_time"),
        sku=_text(_attr(account, "sku", "name")),
        kind=_text(_attr(account, "kind")),
        primary_location=_attr(p, "primary_location"),
        provider_status=state,
    )


def virtual_network_record(vnet: Any) -> ResourceRecord | Skip:
    state = _text(_attr(vnet, "provisioning_state"))
    prefixes = _attr(vnet, "address_space", "address_prefixes")
    subnets = _attr(vnet, "subnets")
    return _arm_record(
        "virtual network",
        vnet,
        ResourceType.NETWORK,
        _PROVISIONING_STATES.get((state or "").lower(), Status.UNKNOWN),
        address_prefixes=list(prefixes) if isinstance(prefixes, list) else [],
        subnets=[_attr(s, "name") for s in subnets] if isinstance(subnets, list) else [],
        provider_status=state,
    )


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
    except DeserializationError:
        raise CloudError(
            f"Azure sent an answer that could not be read while trying to {doing}",
            code="Unreadable",
        ) from None
    except ServiceRequestError:
        raise CloudError("Azure could not be reached", code="ConnectionError") from None
    except AzureError as exc:
        name = exc.__class__.__name__
        raise CloudError(f"Azure could not {doing} ({name})", code=name) from None
