"""Records of network rows: virtual networks and their subnets, network security groups, load
balancers, application gateways, public IP addresses, NAT gateways and DNS zones.

Subnets are not rows of their own in Resource Graph: each is read from its virtual network's
`properties.subnets` (with the network's location), as Resource Manager embeds them."""

from __future__ import annotations

from typing import Any

from mcloud.clouds.azure.fields import (
    PROVISIONING_STATES,
    arm_record,
    get,
    gone_or,
    ids,
    items,
    number,
    provisioned,
    state,
    text,
)
from mcloud.clouds.azure.related import Related, network_of, top_level
from mcloud.clouds.base import ResourceRecord, ResourceType, Skip, Status
from mcloud.clouds.records import record_or_skip

GATEWAY_STATES = {  # an application gateway's operationalState
    "running": Status.RUNNING,
    "starting": Status.PENDING,
    "stopping": Status.STOPPING,
    "stopped": Status.STOPPED,
}


def _provider_status(row: Any) -> str | None:
    return text(get(row, "properties", "provisioningState"))


def virtual_network_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    return arm_record(
        "virtual network",
        row,
        ResourceType.NETWORK,
        provisioned(row),
        address_prefixes=[a for a in items(get(p, "addressSpace", "addressPrefixes")) if text(a)],
        subnets=[n for n in (get(s, "name") for s in items(get(p, "subnets"))) if text(n)],
        provider_status=_provider_status(row),
    )


def subnets_of(row: Any) -> list[Any]:
    """The subnets a virtual network's row embeds."""
    return items(get(row, "properties", "subnets"))


def subnet_record(subnet: Any, network: Any, related: Related) -> ResourceRecord | Skip:
    """A subnet, in its network's region, attached to its network and firewall."""
    p = get(subnet, "properties")
    rid = text(get(subnet, "id"))
    prefixes = [a for a in items(get(p, "addressPrefixes")) if text(a)]
    provisioning = text(get(p, "provisioningState"))
    return record_or_skip(
        kind="subnet",
        resource_id=rid,
        name=get(subnet, "name"),
        type=ResourceType.SUBNET,
        region=get(network, "location"),
        status=PROVISIONING_STATES.get(state(provisioning), Status.UNKNOWN),
        tags=None,
        metadata={
            "address_prefix": text(get(p, "addressPrefix")) or (prefixes[0] if prefixes else None),
            "network": text(get(network, "name")),
            "delegations": [
                d
                for d in (get(x, "properties", "serviceName") for x in items(get(p, "delegations")))
                if text(d)
            ],
            "nat_gateway": text(get(p, "natGateway", "id")),
            "ip_configurations": len(items(get(p, "ipConfigurations"))),
            "resource_group": text(get(network, "resourceGroup")),
            "provider_type": "microsoft.network/virtualnetworks/subnets",
            "provider_status": provisioning,
        },
        attached_to=related.ids(
            [network_of(rid) if rid else None, get(p, "networkSecurityGroup", "id")]
        ),
    )


def security_group_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    rules = items(get(p, "securityRules"))
    inbound = [
        f"{get(r, 'properties', 'destinationPortRange')} from "
        f"{get(r, 'properties', 'sourceAddressPrefix')}"
        for r in rules
        if state(get(r, "properties", "direction")) == "inbound"
        and state(get(r, "properties", "access")) == "allow"
    ]
    return arm_record(
        "network security group",
        row,
        ResourceType.FIREWALL,
        provisioned(row),
        rules=len(rules),
        inbound_allowed=inbound[:20],
        network_interfaces=len(items(get(p, "networkInterfaces"))),
        subnets=len(items(get(p, "subnets"))),
        provider_status=_provider_status(row),
    )


def _targets(pools: list[Any], related: Related) -> list[str]:
    """What a load balancer's or gateway's backend pools send to: VMs (or scale sets)."""
    members = [
        related.owner(m)
        for pool in pools
        for m in ids(get(pool, "properties", "backendIPConfigurations"))
    ]
    return list(dict.fromkeys(m for m in members if m))


def load_balancer_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    frontends = items(get(p, "frontendIPConfigurations"))
    public = related.ids(get(f, "properties", "publicIPAddress", "id") for f in frontends)
    pools = items(get(p, "backendAddressPools"))
    return arm_record(
        "load balancer",
        row,
        ResourceType.LOAD_BALANCER,
        provisioned(row),
        attached_to=_targets(pools, related),
        sku=text(get(row, "sku", "name")),
        scheme="public" if public else "internal",
        public_ips=[
            related.addresses.get(i.lower()) for i in public if i.lower() in related.addresses
        ],
        frontends=len(frontends),
        backend_pools=len(pools),
        rules=len(items(get(p, "loadBalancingRules"))),
        provider_status=_provider_status(row),
    )


def application_gateway_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    operational = text(get(p, "operationalState"))
    subnets = related.ids(
        get(c, "properties", "subnet", "id") for c in items(get(p, "gatewayIPConfigurations"))
    )
    return arm_record(
        "application gateway",
        row,
        ResourceType.LOAD_BALANCER,
        gone_or(
            get(p, "provisioningState"), GATEWAY_STATES.get(state(operational), Status.UNKNOWN)
        ),
        attached_to=_targets(items(get(p, "backendAddressPools")), related) + subnets,
        sku=text(get(p, "sku", "name")),
        tier=text(get(p, "sku", "tier")),
        capacity=number(get(p, "sku", "capacity")),
        backend_pools=len(items(get(p, "backendAddressPools"))),
        listeners=len(items(get(p, "httpListeners"))),
        provider_status=operational or text(get(p, "provisioningState")),
    )


def public_ip_record(row: Any, related: Related) -> ResourceRecord | Skip:
    """An address, attached to what holds it (a VM through its NIC, a load balancer, a
    gateway, a NAT gateway); in use while something does."""
    p = get(row, "properties")
    holders = related.ids([related.owner(get(p, "ipConfiguration", "id")),
                           get(p, "natGateway", "id")])  # fmt: skip
    available = Status.IN_USE if holders else Status.AVAILABLE
    settled = PROVISIONING_STATES.get(state(get(p, "provisioningState")))
    return arm_record(
        "public IP address",
        row,
        ResourceType.IP_ADDRESS,
        available if settled == Status.AVAILABLE else settled or Status.UNKNOWN,
        attached_to=holders,
        ip_address=text(get(p, "ipAddress")),
        version=text(get(p, "publicIPAddressVersion")),
        allocation=text(get(p, "publicIPAllocationMethod")),
        sku=text(get(row, "sku", "name")),
        fqdn=text(get(p, "dnsSettings", "fqdn")),
        provider_status=_provider_status(row),
    )


def nat_gateway_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    subnets = related.ids(ids(get(p, "subnets")))
    return arm_record(
        "NAT gateway",
        row,
        ResourceType.NAT_GATEWAY,
        provisioned(row),
        attached_to=subnets,
        sku=text(get(row, "sku", "name")),
        idle_timeout_minutes=number(get(p, "idleTimeoutInMinutes")),
        public_ips=[
            related.addresses[i.lower()]
            for i in ids(get(p, "publicIpAddresses"))
            if i.lower() in related.addresses
        ],
        subnets=len(subnets),
        provider_status=_provider_status(row),
    )


def dns_zone_record(row: Any, related: Related) -> ResourceRecord | Skip:
    """A zone has no state of its own: listed is available."""
    p = get(row, "properties")
    networks = ids(get(p, "registrationVirtualNetworks")) + ids(get(p, "resolutionVirtualNetworks"))
    return arm_record(
        "DNS zone",
        row,
        ResourceType.DNS_ZONE,
        gone_or(get(p, "provisioningState"), Status.AVAILABLE),
        attached_to=related.ids(top_level(n) for n in networks),
        zone_type=text(get(p, "zoneType")),
        record_sets=number(get(p, "numberOfRecordSets")),
        name_servers=[n for n in items(get(p, "nameServers")) if text(n)],
    )
