"""What a record builder may look up in the rest of its subscription's query results, to fill
`attached_to` with ids as the other records spell them.

Azure references are case-insensitive and are not always spelled as the resource they name
(a NIC names its subnet with the resource group in upper case): every reference is given as
the listed row spells its id when that row is in the results, else as the reference has it.
Network interfaces are not records of their own: they are read here, to lead a VM to its
subnets, network security groups, public IP addresses and load balancers, and an IP
configuration back to its VM. Building the index never raises: a row it cannot read adds
nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mcloud.clouds.azure.fields import get, ids, items, text

NIC_TYPE = "microsoft.network/networkinterfaces"
VNET_TYPE = "microsoft.network/virtualnetworks"
AKS_TYPE = "microsoft.containerservice/managedclusters"
PUBLIC_IP_TYPE = "microsoft.network/publicipaddresses"
_IP_CONFIGURATION = re.compile(r"/ipConfigurations/", re.IGNORECASE)


def top_level(resource_id: str) -> str:
    """The top-level resource an id is under: ".../loadBalancers/lb/backendAddressPools/x"
    -> ".../loadBalancers/lb"; the id itself when it names no child."""
    parts = resource_id.split("/")
    if len(parts) > 9 and parts[1].lower() == "subscriptions" and parts[5].lower() == "providers":
        return "/".join(parts[:9])
    return resource_id


def network_of(subnet_id: str) -> str | None:
    """The virtual network of a subnet id."""
    vnet, found, _ = subnet_id.rpartition("/subnets/")
    return vnet if found and vnet else None


@dataclass
class Related:
    spelled: dict[str, str] = field(default_factory=dict)  # lower id -> id as listed
    nics: dict[str, Any] = field(default_factory=dict)  # lower NIC id -> its properties
    nic_vm: dict[str, str] = field(default_factory=dict)  # lower NIC id -> its VM's id
    addresses: dict[str, str] = field(default_factory=dict)  # lower public IP id -> address
    subnet_nsg: dict[str, str] = field(default_factory=dict)  # lower subnet id -> NSG id
    node_groups: dict[str, str] = field(default_factory=dict)  # lower node group -> cluster

    @classmethod
    def of(cls, rows: Iterable[Any]) -> Related:
        related = cls()
        for row in rows:
            try:
                related._add(row)
            except Exception:  # noqa: BLE001, S112 - an unreadable row only resolves nothing
                continue
        return related

    def _add(self, row: Any) -> None:
        rid, kind = text(get(row, "id")), (text(get(row, "type")) or "").lower()
        if rid is None:
            return
        self.spelled.setdefault(rid.lower(), rid)
        properties = get(row, "properties")
        if kind == NIC_TYPE:
            self.nics[rid.lower()] = properties
            vm = text(get(properties, "virtualMachine", "id"))
            if vm:
                self.nic_vm[rid.lower()] = vm
        elif kind == PUBLIC_IP_TYPE and text(get(properties, "ipAddress")):
            self.addresses[rid.lower()] = get(properties, "ipAddress")
        elif kind == VNET_TYPE:
            for subnet in items(get(properties, "subnets")):
                subnet_id = text(get(subnet, "id"))
                if subnet_id:
                    self.spelled.setdefault(subnet_id.lower(), subnet_id)
                    nsg = text(get(subnet, "properties", "networkSecurityGroup", "id"))
                    if nsg:
                        self.subnet_nsg[subnet_id.lower()] = nsg
        elif kind == AKS_TYPE:
            group = text(get(properties, "nodeResourceGroup"))
            if group:
                self.node_groups[group.lower()] = rid

    def id(self, reference: Any) -> str | None:
        """A reference as the listed resource spells its id (None for no reference)."""
        if not text(reference):
            return None
        return self.spelled.get(reference.lower(), reference.strip())

    def ids(self, references: Iterable[Any]) -> list[str]:
        return [i for i in (self.id(r) for r in references) if i]

    def owner(self, configuration_id: Any) -> str | None:
        """What holds an IP configuration: a NIC's VM (or the NIC, without one), a scale
        set's (for its instances' NICs), else the resource it is part of (a load balancer's
        frontend, an application gateway's, a NAT gateway's)."""
        if not text(configuration_id):
            return None
        holder = _IP_CONFIGURATION.split(configuration_id)[0]
        if "/virtualmachinescalesets/" in holder.lower():
            return self.id(top_level(holder))
        vm = self.nic_vm.get(holder.lower())
        return self.id(vm or top_level(holder))

    def network_interface(self, nic_id: Any) -> dict[str, list[str]]:
        """What a NIC leads to: subnets, networks, firewalls (its own NSG and its subnets'),
        public IPs, load balancers (and application gateways), and its private and public
        addresses."""
        found: dict[str, list[str]] = {k: [] for k in (
            "subnets", "networks", "firewalls", "ip_addresses", "load_balancers",
            "private_ips", "public_ips")}  # fmt: skip
        properties = self.nics.get(nic_id.lower()) if text(nic_id) else None
        if not isinstance(properties, dict):
            return found
        nsg = self.id(get(properties, "networkSecurityGroup", "id"))
        found["firewalls"] += [nsg] if nsg else []
        for config in items(get(properties, "ipConfigurations")):
            settings = get(config, "properties")
            subnet = self.id(get(settings, "subnet", "id"))
            if subnet:
                found["subnets"].append(subnet)
                found["networks"] += self.ids([network_of(subnet)])
                found["firewalls"] += self.ids([self.subnet_nsg.get(subnet.lower())])
            public = self.id(get(settings, "publicIPAddress", "id"))
            if public:
                found["ip_addresses"].append(public)
                address = self.addresses.get(public.lower())
                found["public_ips"] += [address] if address else []
            private = text(get(settings, "privateIPAddress"))
            found["private_ips"] += [private] if private else []
            pools = ids(get(settings, "loadBalancerBackendAddressPools")) + ids(
                get(settings, "applicationGatewayBackendAddressPools")
            )
            found["load_balancers"] += self.ids(top_level(pool) for pool in pools)
        return found
