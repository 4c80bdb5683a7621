"""Records of a project's networking, from the asset inventory: VPC networks and subnetworks,
firewall rules, addresses, Cloud NAT (a Cloud Router's NATs, one record per router that has
any) and load balancers (forwarding rules, the front ends, and backend services).

Each builder takes one item and the project's `Links`, and returns a record or a Skip; it never
raises whatever the item holds."""

from __future__ import annotations

from typing import Any

from mcloud.clouds.base import ResourceRecord, ResourceType, Skip, Status
from mcloud.clouds.gcp.assets import AssetItem
from mcloud.clouds.gcp.fields import (
    GLOBAL_REGION,
    compute_place,
    dig,
    last,
    listed,
    mapping,
    number,
    parent,
    strings,
    text,
    timestamp,
)
from mcloud.clouds.gcp.links import Links, nat_subnets
from mcloud.clouds.records import record_or_skip

_ADDRESS_STATUSES = {
    "IN_USE": Status.IN_USE,
    "RESERVED": Status.AVAILABLE,  # held and paid for, used by nothing
    "RESERVING": Status.PENDING,
}


def network_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A VPC network. Auto-mode networks have one subnetwork per region, each named like it."""
    data = item.data
    subnetworks = [f"{last(parent(s))}/{last(s)}" for s in strings(data.get("subnetworks"))]
    return record_or_skip(
        kind="network",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.NETWORK,
        region=GLOBAL_REGION,
        status=Status.AVAILABLE,
        created_at=timestamp(data.get("creationTimestamp")),
        metadata={
            "auto_create_subnetworks": data.get("autoCreateSubnetworks") is True,
            "subnetwork_count": len(subnetworks),
            "subnetworks": subnetworks,
            "routing_mode": text(dig(data, "routingConfig", "routingMode")) or None,
            "mtu": number(data.get("mtu")),
            "provider_status": "available",
            "provider_type": item.asset_type,
        },
    )


def subnetwork_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A subnetwork, attached to its network."""
    data = item.data
    region, _ = compute_place(data)
    network = links.paths.network(data.get("network"))
    state = text(data.get("state"))
    return record_or_skip(
        kind="subnetwork",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.SUBNET,
        region=region,
        status=Status.DELETING if state == "DRAINING" else Status.AVAILABLE,
        created_at=timestamp(data.get("creationTimestamp")),
        metadata={
            "cidr": text(data.get("ipCidrRange")) or None,
            "gateway": text(data.get("gatewayAddress")) or None,
            "network": network or None,
            "purpose": text(data.get("purpose")) or None,
            "private_google_access": data.get("privateIpGoogleAccess") is True,
            "secondary_ranges": [
                text(mapping(r).get("ipCidrRange")) for r in listed(data.get("secondaryIpRanges"))
            ],
            "stack_type": text(data.get("stackType")) or None,
            "provider_status": state or "available",
            "provider_type": item.asset_type,
        },
        attached_to=[network],
    )


def firewall_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A firewall rule, attached to its network; a disabled rule is stopped."""
    data = item.data
    network = links.paths.network(data.get("network"))
    disabled = data.get("disabled") is True
    rules = [mapping(r) for r in listed(data.get("allowed")) + listed(data.get("denied"))]
    return record_or_skip(
        kind="firewall rule",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.FIREWALL,
        region=GLOBAL_REGION,
        status=Status.STOPPED if disabled else Status.AVAILABLE,
        created_at=timestamp(data.get("creationTimestamp")),
        metadata={
            "network": network or None,
            "direction": text(data.get("direction")) or None,
            "action": "deny" if data.get("denied") else "allow",
            "priority": number(data.get("priority")),
            "protocols": [_protocol(r) for r in rules],
            "source_ranges": strings(data.get("sourceRanges")),
            "destination_ranges": strings(data.get("destinationRanges")),
            "target_tags": strings(data.get("targetTags")),
            "target_service_accounts": strings(data.get("targetServiceAccounts")),
            "provider_status": "disabled" if disabled else "enabled",
            "provider_type": item.asset_type,
        },
        attached_to=[network],
    )


def address_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A reserved IP address (regional or global), attached to what uses it; one in use by
    nothing is available (and still billed)."""
    data = item.data
    region, _ = compute_place(data)
    word = text(data.get("status"))
    users = [links.paths.of(u) for u in strings(data.get("users"))]
    return record_or_skip(
        kind="address",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.IP_ADDRESS,
        region=region,
        status=_ADDRESS_STATUSES.get(word, Status.UNKNOWN),
        created_at=timestamp(data.get("creationTimestamp")),
        tags=data.get("labels"),
        metadata={
            "address": text(data.get("address")) or None,
            "address_type": text(data.get("addressType")) or None,
            "purpose": text(data.get("purpose")) or None,
            "network_tier": text(data.get("networkTier")) or None,
            "subnetwork": links.paths.of(data.get("subnetwork")) or None,
            "users": users,
            "provider_status": word or None,
            "provider_type": item.asset_type,
        },
        attached_to=[*users, links.paths.of(data.get("subnetwork"))],
    )


def nat_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Cloud Router that runs Cloud NAT: attached to the subnetworks its NATs serve, its
    network and the addresses they translate to. A router without NATs is no record."""
    data = item.data
    nats = [mapping(n) for n in listed(data.get("nats"))]
    if not nats:
        return Skip("a router without Cloud NAT", f"router {text(data.get('name'))[:80]}")
    region, _ = compute_place(data)
    network = links.paths.network(data.get("network"))
    subnets = [s for nat in nats for s in nat_subnets(links, item, nat)]
    addresses = [links.paths.of(ip) for nat in nats for ip in strings(nat.get("natIps"))]
    return record_or_skip(
        kind="router",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.NAT_GATEWAY,
        region=region,
        status=Status.AVAILABLE,
        created_at=timestamp(data.get("creationTimestamp")),
        metadata={
            "nats": [text(n.get("name")) for n in nats],
            "network": network or None,
            "source_ranges": [text(n.get("sourceSubnetworkIpRangesToNat")) for n in nats],
            "ip_allocation": [text(n.get("natIpAllocateOption")) for n in nats],
            "nat_ips": addresses,
            "provider_status": "available",
            "provider_type": item.asset_type,
        },
        attached_to=[*subnets, network, *addresses],
    )


def forwarding_rule_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A load balancer's front end: attached to its address, the backend services it reaches
    (through target proxies and URL maps) and their VMs, and for an internal one its network."""
    data = item.data
    region, _ = compute_place(data)
    return record_or_skip(
        kind="forwarding rule",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.LOAD_BALANCER,
        region=region,
        status=Status.AVAILABLE,
        created_at=timestamp(data.get("creationTimestamp")),
        tags=data.get("labels"),
        metadata={
            "ip_address": text(data.get("IPAddress")) or None,
            "protocol": text(data.get("IPProtocol")) or None,
            "ports": text(data.get("portRange")) or ",".join(strings(data.get("ports"))) or None,
            "scheme": text(data.get("loadBalancingScheme")) or None,
            "target": links.paths.of(data.get("target")) or None,
            "backend_service": links.paths.of(data.get("backendService")) or None,
            "network_tier": text(data.get("networkTier")) or None,
            "provider_status": "available",
            "provider_type": item.asset_type,
        },
        attached_to=[
            *links.users.get(item.path, []),
            *links.reaches.get(item.path, []),
            links.paths.network(data.get("network")),
            links.paths.subnetwork(data.get("subnetwork"), region),
        ],
    )


def backend_service_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A load balancer's backend service: attached to its instance groups and their VMs."""
    data = item.data
    region, _ = compute_place(data)
    groups = [links.paths.of(mapping(b).get("group")) for b in listed(data.get("backends"))]
    return record_or_skip(
        kind="backend service",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.LOAD_BALANCER,
        region=region,
        status=Status.AVAILABLE,
        created_at=timestamp(data.get("creationTimestamp")),
        metadata={
            "protocol": text(data.get("protocol")) or None,
            "scheme": text(data.get("loadBalancingScheme")) or None,
            "port": number(data.get("port")),
            "backends": [g for g in groups if g],
            "health_checks": [links.paths.of(h) for h in strings(data.get("healthChecks"))],
            "cdn": data.get("enableCDN") is True,
            "provider_status": "available",
            "provider_type": item.asset_type,
        },
        attached_to=links.reaches.get(item.path, []),
    )


def _protocol(rule: dict[str, Any]) -> str:
    """tcp:80,443 (or tcp, all its ports)."""
    ports = ",".join(strings(rule.get("ports")))
    return text(rule.get("IPProtocol")) + (f":{ports}" if ports else "")
