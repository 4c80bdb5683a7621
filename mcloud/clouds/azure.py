"""Azure through azure-identity and the azure-mgmt-* clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import Any

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
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource import SubscriptionClient
from azure.mgmt.storage import StorageManagementClient

from mcloud.clouds.base import (
    AzureCredentials,
    CloudError,
    ConnectionResult,
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
                "resource_group": _resource_group(vm.id),
                "vm_id": _attr(p, "vm_id"),
                "os_disk": _attr(os_disk, "name"),
                "os_disk_id": _attr(os_disk, "managed_disk", "id"),
                "provider_status": power or _text(_attr(p, "provisioning_state")),
                "cost_per_hour": hourly_price("azure", size),
                "created": _iso(created),
            }
            records.append(
                ResourceRecord(
                    resource_id=vm.id,
                    name=vm.name,
                    type=ResourceType.VM,
                    region=vm.location,
                    status=_POWER_STATES.get(power or "", Status.UNKNOWN),
                    created_at=created,
                    tags=dict(vm.tags or {}),
                    metadata=metadata,
                )
            )
        return records

    def _disks(self, compute: Any) -> list[ResourceRecord]:
        records = []
        for disk in compute.disks.list():
            p = disk.properties
            state = _text(_attr(p, "disk_state"))
            records.append(
                ResourceRecord(
                    resource_id=disk.id,
                    name=disk.name,
                    type=ResourceType.DISK,
                    region=disk.location,
                    status=_DISK_STATES.get((state or "").lower(), Status.UNKNOWN),
                    created_at=_utc(_attr(p, "time_created")),
                    tags=dict(disk.tags or {}),
                    metadata={
                        "size_gb": _attr(p, "disk_size_gb"),
                        "sku": _text(_attr(disk, "sku", "name")),
                        "disk_state": state,
                        "managed_by": disk.managed_by,
                        "resource_group": _resource_group(disk.id),
                        "provider_status": state,
                    },
                )
            )
        return records

    def _storage_accounts(self, storage: Any) -> list[ResourceRecord]:
        records = []
        for account in storage.storage_accounts.list():
            p = account.properties
            state = _text(_attr(p, "provisioning_state"))
            records.append(
                ResourceRecord(
                    resource_id=account.id,
                    name=account.name,
                    type=ResourceType.STORAGE,
                    region=account.location,
                    status=_PROVISIONING_STATES.get((state or "").lower(), Status.UNKNOWN),
                    created_at=_utc(_attr(p, "creation_time")),
                    tags=dict(account.tags or {}),
                    metadata={
                        "sku": _text(_attr(account, "sku", "name")),
                        "kind": _text(account.kind),
                        "resource_group": _resource_group(account.id),
                        "primary_location": _attr(p, "primary_location"),
                        "provider_status": state,
                    },
                )
            )
        return records

    def _virtual_networks(self, network: Any) -> list[ResourceRecord]:
        records = []
        for vnet in network.virtual_networks.list_all():
            state = _text(_attr(vnet, "provisioning_state"))
            records.append(
                ResourceRecord(
                    resource_id=vnet.id,
                    name=vnet.name,
                    type=ResourceType.NETWORK,
                    region=vnet.location,
                    status=_PROVISIONING_STATES.get((state or "").lower(), Status.UNKNOWN),
                    tags=dict(vnet.tags or {}),
                    metadata={
                        "address_prefixes": list(
                            _attr(vnet, "address_space", "address_prefixes") or []
                        ),
                        "subnets": [s.name for s in _attr(vnet, "subnets") or []],
                        "resource_group": _resource_group(vnet.id),
                        "provider_status": state,
                    },
                )
            )
        return records


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


def _resource_group(resource_id: str | None) -> str | None:
    found = _RESOURCE_GROUP.search(resource_id or "")
    return found.group(1) if found else None


def _utc(value: datetime | None) -> datetime | None:
    """In UTC with the standard tzinfo (the SDK's own FixedOffset / isodate zones otherwise)."""
    return value.astimezone(UTC) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
