"""Network items as records: VPCs, subnets, security groups, load balancers (ALB/NLB/GWLB
and classic), Elastic IPs, NAT gateways and Route 53 hosted zones.

Each builder takes one item as botocore parsed it (and what its lister read beside it: tags,
targets, an ARN) and returns a record or a `Skip`; none raises whatever the item holds. EC2
ids are the provider's own (`vpc-...`, `subnet-...`, `sg-...`, `eipalloc-...`, `nat-...`);
load balancers and hosted zones are ARNs. `attached_to`: a subnet or security group its VPC;
a load balancer its targets (instances, functions, other load balancers), subnets, security
groups and VPC; an Elastic IP its instance; a NAT gateway its subnet, VPC and Elastic IPs; a
private hosted zone its VPCs.
"""

from __future__ import annotations

from typing import Any

from mcloud.clouds.aws.normalize import (
    Built,
    as_list,
    get,
    ids,
    joined,
    tags_of,
    text_or_none,
    word,
)
from mcloud.clouds.base import MAX_ID, ResourceType, Status
from mcloud.clouds.records import clean_text, record_or_skip

GLOBAL_REGION = "global"  # Route 53 has no region
_VPC_STATES = {"available": Status.AVAILABLE, "pending": Status.PENDING}
_SUBNET_STATES = {
    "available": Status.AVAILABLE,
    "pending": Status.PENDING,
    "unavailable": Status.ERROR,
    "failed": Status.ERROR,
    "failed-insufficient-capacity": Status.ERROR,
}
_LOAD_BALANCER_STATES = {
    "active": Status.AVAILABLE,
    "active_impaired": Status.AVAILABLE,  # serving, but cannot scale
    "provisioning": Status.PENDING,
    "failed": Status.ERROR,
}
_NAT_STATES = {
    "pending": Status.PENDING,
    "available": Status.AVAILABLE,
    "deleting": Status.DELETING,
    "deleted": Status.TERMINATED,
    "failed": Status.ERROR,
}
MAX_RULES = 50  # security group rules summarized in metadata


def vpc_record(v: dict[str, Any], region: str) -> Built:
    tags = tags_of(v.get("Tags"))
    state = word(v.get("State"))
    return record_or_skip(
        kind="VPC",
        resource_id=v.get("VpcId"),
        name=tags.get("Name"),
        type=ResourceType.NETWORK,
        region=region,
        status=_VPC_STATES.get(state, Status.UNKNOWN),
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::VPC",
            "cidr_block": v.get("CidrBlock"),
            "is_default": bool(v.get("IsDefault", False)),
            "provider_status": state or None,
        },
    )


def subnet_record(s: dict[str, Any], region: str) -> Built:
    tags = tags_of(s.get("Tags"))
    state = word(s.get("State"))
    return record_or_skip(
        kind="subnet",
        resource_id=s.get("SubnetId"),
        name=tags.get("Name"),
        type=ResourceType.SUBNET,
        region=region,
        status=_SUBNET_STATES.get(state, Status.UNKNOWN),
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::Subnet",
            "cidr_block": s.get("CidrBlock"),
            "ipv6_cidr_blocks": ids(s.get("Ipv6CidrBlockAssociationSet"), "Ipv6CidrBlock"),
            "availability_zone": s.get("AvailabilityZone"),
            "available_ips": s.get("AvailableIpAddressCount"),
            "default_for_az": s.get("DefaultForAz"),
            "public_ip_on_launch": s.get("MapPublicIpOnLaunch"),
            "vpc_id": s.get("VpcId"),
            "provider_status": state or None,
        },
        attached_to=joined(text_or_none(s.get("VpcId"))),
    )


def _rules(permissions: Any) -> list[str]:
    """Each rule as "tcp 443 from 0.0.0.0/0" (ports "all" for every protocol, "-1")."""
    rules: list[str] = []
    for p in as_list(permissions):
        if not isinstance(p, dict):
            continue
        protocol = clean_text(p.get("IpProtocol"), 16)
        low, high = p.get("FromPort"), p.get("ToPort")
        ports = "" if low is None or low == -1 else f" {low}" if low == high else f" {low}-{high}"
        what = "all" if protocol == "-1" else f"{protocol}{ports}"
        sources = joined(ids(p.get("IpRanges"), "CidrIp"), ids(p.get("Ipv6Ranges"), "CidrIpv6"),
                         ids(p.get("UserIdGroupPairs"), "GroupId"),
                         ids(p.get("PrefixListIds"), "PrefixListId"))  # fmt: skip
        rules.extend(f"{what} {clean_text(source, 100)}" for source in sources or ["(none)"])
        if len(rules) >= MAX_RULES:
            break
    return rules[:MAX_RULES]


def security_group_record(g: dict[str, Any], region: str) -> Built:
    tags = tags_of(g.get("Tags"))
    return record_or_skip(
        kind="security group",
        resource_id=g.get("GroupId"),
        name=g.get("GroupName") or tags.get("Name"),
        type=ResourceType.FIREWALL,
        region=region,
        status=Status.AVAILABLE,  # a security group has no state
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::SecurityGroup",
            "description": g.get("Description"),
            "vpc_id": g.get("VpcId"),
            "inbound": _rules(g.get("IpPermissions")),
            "outbound": _rules(g.get("IpPermissionsEgress")),
        },
        attached_to=joined(text_or_none(g.get("VpcId"))),
    )


def load_balancer_record(
    lb: dict[str, Any], region: str, tags: dict[str, str], targets: list[str]
) -> Built:
    """An Application, Network or Gateway Load Balancer (elbv2), with the ids of the targets
    registered in its target groups."""
    state = word(get(lb, "State", "Code"))
    subnets = ids(lb.get("AvailabilityZones"), "SubnetId")
    groups = ids(lb.get("SecurityGroups"))
    return record_or_skip(
        kind="load balancer",
        resource_id=lb.get("LoadBalancerArn"),
        name=lb.get("LoadBalancerName"),
        type=ResourceType.LOAD_BALANCER,
        region=region,
        status=_LOAD_BALANCER_STATES.get(state, Status.UNKNOWN),
        created_at=lb.get("CreatedTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "load_balancer_type": lb.get("Type"),
            "scheme": lb.get("Scheme"),
            "dns_name": lb.get("DNSName"),
            "ip_address_type": lb.get("IpAddressType"),
            "vpc_id": lb.get("VpcId"),
            "availability_zones": ids(lb.get("AvailabilityZones"), "ZoneName"),
            "security_groups": groups,
            "targets": len(targets),
            "provider_status": state or None,
        },
        attached_to=joined(targets, subnets, groups, text_or_none(lb.get("VpcId"))),
    )


def classic_load_balancer_record(
    lb: dict[str, Any], region: str, arn: str | None, tags: dict[str, str]
) -> Built:
    """A classic load balancer. It has no ARN in its description: its lister makes it from
    the account and region (`arn`), as AWS writes it, so that tags and links can find it."""
    subnets, groups = ids(lb.get("Subnets")), ids(lb.get("SecurityGroups"))
    instances = ids(lb.get("Instances"), "InstanceId")
    return record_or_skip(
        kind="classic load balancer",
        resource_id=arn,
        name=lb.get("LoadBalancerName"),
        type=ResourceType.LOAD_BALANCER,
        region=region,
        status=Status.AVAILABLE,  # a classic load balancer has no state
        created_at=lb.get("CreatedTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::ElasticLoadBalancing::LoadBalancer",
            "load_balancer_type": "classic",
            "scheme": lb.get("Scheme"),
            "dns_name": lb.get("DNSName"),
            "vpc_id": lb.get("VPCId"),
            "availability_zones": ids(lb.get("AvailabilityZones")),
            "security_groups": groups,
            "listeners": len(as_list(lb.get("ListenerDescriptions"))),
            "targets": len(instances),
        },
        attached_to=joined(instances, subnets, groups, text_or_none(lb.get("VPCId"))),
    )


def address_record(a: dict[str, Any], region: str) -> Built:
    tags = tags_of(a.get("Tags"))
    associated = bool(a.get("AssociationId") or a.get("InstanceId"))
    return record_or_skip(
        kind="Elastic IP",
        resource_id=a.get("AllocationId"),
        name=tags.get("Name") or a.get("PublicIp"),
        type=ResourceType.IP_ADDRESS,
        region=region,
        status=Status.IN_USE if associated else Status.AVAILABLE,
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::EIP",
            "public_ip": a.get("PublicIp"),
            "private_ip": a.get("PrivateIpAddress"),
            "domain": a.get("Domain"),
            "instance_id": a.get("InstanceId") or None,
            "network_interface_id": a.get("NetworkInterfaceId"),
            "network_border_group": a.get("NetworkBorderGroup"),
            "public_ipv4_pool": a.get("PublicIpv4Pool"),
        },
        attached_to=joined(text_or_none(a.get("InstanceId"))),
    )


def nat_gateway_record(n: dict[str, Any], region: str) -> Built:
    tags = tags_of(n.get("Tags"))
    state = word(n.get("State"))
    addresses = n.get("NatGatewayAddresses")
    return record_or_skip(
        kind="NAT gateway",
        resource_id=n.get("NatGatewayId"),
        name=tags.get("Name"),
        type=ResourceType.NAT_GATEWAY,
        region=region,
        status=_NAT_STATES.get(state, Status.UNKNOWN),
        created_at=n.get("CreateTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::EC2::NatGateway",
            "connectivity_type": n.get("ConnectivityType"),
            "public_ips": ids(addresses, "PublicIp"),
            "private_ips": ids(addresses, "PrivateIp"),
            "subnet_id": n.get("SubnetId"),
            "vpc_id": n.get("VpcId"),
            "failure": n.get("FailureMessage"),
            "provider_status": state or None,
        },
        attached_to=joined(
            text_or_none(n.get("SubnetId")),
            text_or_none(n.get("VpcId")),
            ids(addresses, "AllocationId"),
        ),
    )


def hosted_zone_record(
    z: dict[str, Any], partition: str, tags: dict[str, str], vpcs: list[str]
) -> Built:
    """A Route 53 hosted zone, by its ARN; a private zone is attached to its VPCs."""
    raw = z.get("Id")  # "/hostedzone/Z0123..."
    zone_id = clean_text(raw.rsplit("/", 1)[-1], MAX_ID + 1) if isinstance(raw, str) else ""
    name = z.get("Name")
    return record_or_skip(
        kind="hosted zone",
        resource_id=f"arn:{partition}:route53:::hostedzone/{zone_id}" if zone_id else None,
        name=name.rstrip(".") if isinstance(name, str) else None,
        type=ResourceType.DNS_ZONE,
        region=GLOBAL_REGION,
        status=Status.AVAILABLE,  # a hosted zone has no state
        tags=tags,
        metadata={
            "provider_type": "AWS::Route53::HostedZone",
            "zone_id": zone_id,
            "private": bool(get(z, "Config", "PrivateZone")),
            "comment": get(z, "Config", "Comment"),
            "record_sets": z.get("ResourceRecordSetCount"),
        },
        attached_to=vpcs,
    )
