"""Azure Resource Manager: subscriptions, and the VMs, disks, storage accounts and virtual
networks of each, listed in pages as ARM lists them."""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from emulators.azure.state import (
    AzurePart,
    _arm,
    _decode_token,
    _encode_token,
    _resource_id,
    _timestamp,
)
from emulators.base import Request, Response

POWER_STATES = ("running", "stopped", "deallocated", "starting", "stopping", "deallocating")
_PAIRED_REGIONS = {
    "westeurope": "northeurope",
    "northeurope": "westeurope",
    "eastus": "westus",
    "westus": "eastus",
    "eastus2": "centralus",
    "centralus": "eastus2",
    "uksouth": "ukwest",
    "ukwest": "uksouth",
}


class ArmMixin(AzurePart):
    # Sent instead of every real nextLink when set (tests of links a client must not follow).
    next_link_override: str | None = None

    # --- state: subscriptions and resources --------------------------------------------
    def add_subscription(
        self, subscription_id: str, display_name: str, tenant_id: str, *, state: str = "Enabled"
    ) -> None:
        """A subscription of the tenant; `state` as ARM says it (Enabled, Warned, PastDue,
        Disabled, Deleted)."""
        with self._lock:
            self._state.tenants.add(tenant_id.lower())
            self._state.subscriptions[subscription_id.lower()] = {
                "id": subscription_id,
                "name": display_name,
                "tenant": tenant_id,
                "state": state,
            }

    def set_subscription_state(self, subscription_id: str, state: str) -> None:
        with self._lock:
            self._state.subscriptions[subscription_id.lower()]["state"] = state

    def add_vm(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        size: str = "Standard_B2s",
        power_state: str = "running",
        tags: dict[str, str] | None = None,
        os_type: str = "Linux",
        created: dt.datetime | None = None,
        zones: list[str] | None = None,
    ) -> dict[str, Any]:
        if power_state not in POWER_STATES:
            raise ValueError(f"power_state must be one of {POWER_STATES}")
        rid = _resource_id(
            subscription_id, resource_group, "Microsoft.Compute/virtualMachines", name
        )
        disk_name = f"{name}_OsDisk_1_{uuid.uuid5(uuid.NAMESPACE_URL, rid).hex}"
        # Real ARM spells the resource group of nested references in upper case.
        disk_id = _resource_id(
            subscription_id, resource_group.upper(), "Microsoft.Compute/disks", disk_name
        )
        linux = os_type.lower() == "linux"
        properties = {
            "vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid)),
            "hardwareProfile": {"vmSize": size},
            "storageProfile": {
                "imageReference": {
                    "publisher": "Canonical" if linux else "MicrosoftWindowsServer",
                    "offer": "ubuntu-24_04-lts" if linux else "WindowsServer",
                    "sku": "server" if linux else "2022-datacenter-azure-edition",
                    "version": "latest",
                },
                "osDisk": {
                    "osType": os_type,
                    "name": disk_name,
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {"storageAccountType": "Premium_LRS", "id": disk_id},
                    "deleteOption": "Delete",
                    "diskSizeGB": 30 if linux else 127,
                },
                "dataDisks": [],
            },
            "osProfile": {"computerName": name, "adminUsername": "azureuser"},
            "networkProfile": {
                "networkInterfaces": [
                    {
                        "id": _resource_id(
                            subscription_id,
                            resource_group,
                            "Microsoft.Network/networkInterfaces",
                            f"{name}-nic",
                        ),
                        "properties": {"deleteOption": "Delete"},
                    }
                ]
            },
            "provisioningState": "Succeeded",
            "timeCreated": _timestamp(created, "+00:00"),
        }
        vm = _tracked(rid, name, "Microsoft.Compute/virtualMachines", location, tags, properties)
        if zones:
            vm["zones"] = list(zones)
        with self._lock:
            self._state.resources[rid.lower()] = vm
            self._state.power[rid.lower()] = power_state
        return copy.deepcopy(vm)

    def add_disk(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        size_gb: int = 128,
        sku: str = "Premium_LRS",
        state: str | None = None,
        managed_by: str | None = None,
        tags: dict[str, str] | None = None,
        created: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """`state` defaults to "Attached" when `managed_by` names a VM, else "Unattached"."""
        rid = _resource_id(subscription_id, resource_group, "Microsoft.Compute/disks", name)
        properties = {
            "creationData": {"createOption": "Empty"},
            "diskSizeGB": size_gb,
            "diskSizeBytes": size_gb * 2**30,
            "diskIOPSReadWrite": 500,
            "diskMBpsReadWrite": 100,
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled",
            "timeCreated": _timestamp(created, "+00:00"),
            "provisioningState": "Succeeded",
            "diskState": state or ("Attached" if managed_by else "Unattached"),
            "uniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid)),
        }
        disk = _tracked(rid, name, "Microsoft.Compute/disks", location, tags, properties)
        disk["sku"] = {"name": sku, "tier": _sku_tier(sku)}
        if managed_by:
            disk["managedBy"] = managed_by
        with self._lock:
            self._state.resources[rid.lower()] = disk
        return copy.deepcopy(disk)

    def add_storage_account(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        sku: str = "Standard_LRS",
        kind: str = "StorageV2",
        tags: dict[str, str] | None = None,
        created: dt.datetime | None = None,
    ) -> dict[str, Any]:
        if not re.fullmatch(r"[a-z0-9]{3,24}", name):
            raise ValueError("storage account names are 3-24 lower-case letters and digits")
        rid = _resource_id(
            subscription_id, resource_group, "Microsoft.Storage/storageAccounts", name
        )
        when = _timestamp(created, "Z")
        properties: dict[str, Any] = {
            "keyCreationTime": {"key1": when, "key2": when},
            "privateEndpointConnections": [],
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": False,
            "networkAcls": {
                "bypass": "AzureServices",
                "virtualNetworkRules": [],
                "ipRules": [],
                "defaultAction": "Allow",
            },
            "supportsHttpsTrafficOnly": True,
            "encryption": {
                "services": {
                    "file": {"keyType": "Account", "enabled": True, "lastEnabledTime": when},
                    "blob": {"keyType": "Account", "enabled": True, "lastEnabledTime": when},
                },
                "keySource": "Microsoft.Storage",
            },
            "provisioningState": "Succeeded",
            "creationTime": when,
            "primaryEndpoints": {
                service: f"https://{name}.{service}.core.windows.net/"
                for service in ("dfs", "web", "blob", "queue", "table", "file")
            },
            "primaryLocation": location,
            "statusOfPrimary": "available",
        }
        if kind in ("StorageV2", "BlobStorage"):
            properties["accessTier"] = "Hot"
        if "GRS" in sku.upper() and location in _PAIRED_REGIONS:
            properties["secondaryLocation"] = _PAIRED_REGIONS[location]
            properties["statusOfSecondary"] = "available"
        account = _tracked(
            rid, name, "Microsoft.Storage/storageAccounts", location, tags, properties
        )
        account["sku"] = {"name": sku, "tier": _sku_tier(sku)}
        account["kind"] = kind
        with self._lock:
            self._state.resources[rid.lower()] = account
        return copy.deepcopy(account)

    def add_virtual_network(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        address_prefixes: Iterable[str] = ("10.0.0.0/16",),
        subnets: Iterable[tuple[str, str]] = (("default", "10.0.0.0/24"),),
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        rid = _resource_id(
            subscription_id, resource_group, "Microsoft.Network/virtualNetworks", name
        )
        etag = f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, rid)}"'
        properties = {
            "provisioningState": "Succeeded",
            "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, rid)),
            "addressSpace": {"addressPrefixes": list(address_prefixes)},
            "subnets": [
                {
                    "name": subnet,
                    "id": f"{rid}/subnets/{subnet}",
                    "etag": etag,
                    "type": "Microsoft.Network/virtualNetworks/subnets",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "addressPrefix": prefix,
                        "delegations": [],
                        "privateEndpointNetworkPolicies": "Disabled",
                        "privateLinkServiceNetworkPolicies": "Enabled",
                    },
                }
                for subnet, prefix in subnets
            ],
            "virtualNetworkPeerings": [],
            "enableDdosProtection": False,
        }
        vnet = _tracked(rid, name, "Microsoft.Network/virtualNetworks", location, tags, properties)
        vnet["etag"] = etag
        with self._lock:
            self._state.resources[rid.lower()] = vnet
        return copy.deepcopy(vnet)

    def remove_subscription(self, subscription_id: str) -> None:
        """Delete a subscription and everything in it (it is no longer listed to anyone)."""
        prefix = f"/subscriptions/{subscription_id}/".lower()
        with self._lock:
            del self._state.subscriptions[subscription_id.lower()]
            for rid in [r for r in self._state.resources if r.startswith(prefix)]:
                del self._state.resources[rid]
                self._state.power.pop(rid, None)

    def add_raw(self, subscription_id: str, resource_type: str, item: Any) -> None:
        """Send `item` as it is, after the stored resources, in the subscription's list of
        `resource_type` ("Microsoft.Compute/virtualMachines"): for answers ARM's documents
        allow but the add_* helpers never make (no name, no id, an id listed twice)."""
        with self._lock:
            key = (subscription_id.lower(), resource_type.lower())
            self._state.raw.setdefault(key, []).append(copy.deepcopy(item))

    def remove(self, resource_id: str) -> None:
        """Delete a resource (any id casing); KeyError if there is none."""
        with self._lock:
            del self._state.resources[resource_id.lower()]
            self._state.power.pop(resource_id.lower(), None)

    def resources(
        self, subscription_id: str, resource_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Copies of a subscription's resources (only those of `resource_type`, such as
        "Microsoft.Compute/virtualMachines", when given), sorted by id."""
        prefix = f"/subscriptions/{subscription_id}/".lower()
        with self._lock:
            return [
                copy.deepcopy(resource)
                for rid, resource in sorted(self._state.resources.items())
                if rid.startswith(prefix)
                and (resource_type is None or resource["type"].lower() == resource_type.lower())
            ]

    def power_state(self, resource_id: str) -> str | None:
        """A VM's power state (running, deallocated...); None for anything else."""
        with self._lock:
            return self._state.power.get(resource_id.lower())

    def set_power_state(self, resource_id: str, state: str) -> None:
        if state not in POWER_STATES:
            raise ValueError(f"state must be one of {POWER_STATES}")
        with self._lock:
            if resource_id.lower() not in self._state.power:
                raise KeyError(f"no virtual machine {resource_id}")
            self._state.power[resource_id.lower()] = state

    # --- wire: ARM ----------------------------------------------------------------------
    def _subscription_json(self, sub_id: str) -> dict[str, Any]:
        subscription = self._state.subscriptions[sub_id.lower()]
        return {
            "id": f"/subscriptions/{subscription['id']}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": subscription["id"],
            "tenantId": subscription["tenant"],
            "displayName": subscription["name"],
            "state": subscription.get("state", "Enabled"),
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }

    def _get_subscription(self, request: Request) -> Response:
        sub = request.params["sub"]
        caller = self._authorize(request, sub, "Microsoft.Resources/subscriptions/read")
        if isinstance(caller, Response):
            return caller
        with self._lock:
            return _arm(self._subscription_json(sub))

    def _list_subscriptions(self, request: Request) -> Response:
        """Subscriptions - List: the caller's subscriptions of its tenant, in pages of
        `page_size` (ordered by id) with an absolute `nextLink` while more follow."""
        caller = self._authorize(request, None, "Microsoft.Resources/subscriptions/read")
        if isinstance(caller, Response):
            return caller
        try:
            after = _decode_token(request.arg("$skiptoken"))
        except ValueError as exc:
            return self.error(400, "InvalidSkipToken", str(exc))
        with self._lock:
            visible = [
                sub
                for sub, subscription in sorted(self._state.subscriptions.items())
                if sub in caller.subscriptions
                and subscription["tenant"].lower() == caller.tenant_id
            ]
            page = [sub for sub in visible if after is None or sub > after][: self.page_size]
            value = [self._subscription_json(sub) for sub in page]
        body: dict[str, Any] = {"value": value, "count": {"type": "Total", "value": len(value)}}
        if page and page[-1] != visible[-1]:
            body["nextLink"] = self.next_link_override or self._next_link(request, page[-1])
        return _arm(body)

    def _list(self, request: Request) -> Response:
        """A provider's list, in pages of `page_size` keyed by the last id sent."""
        sub, rg = request.params["sub"], request.params.get("rg")
        rtype = f"{request.params['ns']}/{request.params['type']}"
        caller = self._authorize(request, sub, f"{rtype}/read")
        if isinstance(caller, Response):
            return caller
        try:
            after = _decode_token(request.arg("$skiptoken"))
        except ValueError as exc:
            return self.error(400, "InvalidSkipToken", str(exc))
        prefix = f"/subscriptions/{sub}/resourcegroups/{rg}/" if rg else f"/subscriptions/{sub}/"
        status_only = (request.arg("statusOnly") or "").lower() == "true"
        with self._lock:
            ids = sorted(
                rid
                for rid, resource in self._state.resources.items()
                if rid.startswith(prefix.lower()) and resource["type"].lower() == rtype.lower()
            )
            if rg and not any(r.startswith(prefix.lower()) for r in self._state.resources):
                return self.error(
                    404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found."
                )
            page = [rid for rid in ids if after is None or rid > after][: self.page_size]
            value = [self._resource_json(rid, instance_view=status_only) for rid in page]
            last = not page or page[-1] == ids[-1]
            if last and not rg:
                value += copy.deepcopy(self._state.raw.get((sub.lower(), rtype.lower()), []))
        body: dict[str, Any] = {"value": value}
        if not last:
            body["nextLink"] = self.next_link_override or self._next_link(request, page[-1])
        return _arm(body)

    def _get_resource(self, request: Request) -> Response:
        sub, rg, name = request.params["sub"], request.params.get("rg"), request.params["name"]
        rtype = f"{request.params['ns']}/{request.params['type']}"
        caller = self._authorize(request, sub, f"{rtype}/read")
        if isinstance(caller, Response):
            return caller
        rid = _resource_id(sub, rg or "", rtype, name).lower()
        with self._lock:
            if rg is None:
                return self.error(404, "NotFound", f"No route for {request.path}")
            if rid not in self._state.resources:
                return self.error(
                    404,
                    "ResourceNotFound",
                    f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                )
            expand = (request.arg("$expand") or "").lower() == "instanceview"
            return _arm(self._resource_json(rid, instance_view=expand))

    def _resource_json(self, rid: str, *, instance_view: bool) -> dict[str, Any]:
        resource = copy.deepcopy(self._state.resources[rid])
        if instance_view and rid in self._state.power:
            state = self._state.power[rid]
            settled = state in ("running", "stopped", "deallocated")
            provisioning = "succeeded" if settled else "updating"
            resource["properties"]["provisioningState"] = provisioning.capitalize()
            resource["properties"]["instanceView"] = {
                "computerName": resource["name"],
                "statuses": [
                    {
                        "code": f"ProvisioningState/{provisioning}",
                        "level": "Info",
                        "displayStatus": "Provisioning succeeded" if settled else "Updating",
                        "time": _timestamp(None, "+00:00"),
                    },
                    {
                        "code": f"PowerState/{state}",
                        "level": "Info",
                        "displayStatus": f"VM {state}",
                    },
                ],
            }
        return resource

    def _next_link(self, request: Request, after: str) -> str:
        """Absolute, with every query parameter of this request, as real ARM writes it."""
        query = [(k, v) for k, values in request.query.items() for v in values if k != "$skiptoken"]
        query.append(("$skiptoken", _encode_token(after)))
        encoded = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in query)
        return f"{self.url}{request.path}?{encoded}"


def _tracked(
    rid: str,
    name: str,
    rtype: str,
    location: str,
    tags: dict[str, str] | None,
    properties: dict[str, Any],
) -> dict[str, Any]:
    """A tracked resource's envelope; ARM leaves `tags` out when a resource has none."""
    resource: dict[str, Any] = {"id": rid, "name": name, "type": rtype, "location": location}
    if tags is not None:
        resource["tags"] = dict(tags)
    resource["properties"] = properties
    return resource


def _sku_tier(sku: str) -> str:
    return "Premium" if sku.startswith("Premium") else "Ultra" if "Ultra" in sku else "Standard"
