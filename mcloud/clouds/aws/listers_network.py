"""Listing a region's network (VPCs, subnets, security groups, load balancers, Elastic IPs,
NAT gateways) and the account's Route 53 hosted zones (global).

Each lister pages its listing to the end and makes every item a record or a skip
(`records_network`). What no listing carries is asked beside it: load balancers' tags (20 per
call) and targets (one call per target group), hosted zones' tags (10 per call) and private
zones' VPCs. An item deleted between its listing and those calls is a skip, or has no tags;
any other refusal raises (see `inventory`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from mcloud.clouds.aws.errors import is_gone
from mcloud.clouds.aws.normalize import Built, as_list, get, ids, made, tags_of, text_or_none
from mcloud.clouds.aws.records_network import (
    address_record,
    classic_load_balancer_record,
    hosted_zone_record,
    load_balancer_record,
    nat_gateway_record,
    security_group_record,
    subnet_record,
    vpc_record,
)
from mcloud.clouds.aws.scope import ScopeContext
from mcloud.clouds.base import MAX_ID, Skip
from mcloud.clouds.records import clean_text


def list_vpcs(ctx: ScopeContext) -> list[Built]:
    ec2 = ctx.client("ec2")
    return [made("VPC", v, vpc_record, ctx.region) for v in ctx.pages(ec2, "describe_vpcs", "Vpcs")]


def list_subnets(ctx: ScopeContext) -> list[Built]:
    ec2 = ctx.client("ec2")
    return [
        made("subnet", s, subnet_record, ctx.region)
        for s in ctx.pages(ec2, "describe_subnets", "Subnets")
    ]


def list_security_groups(ctx: ScopeContext) -> list[Built]:
    ec2 = ctx.client("ec2")
    return [
        made("security group", g, security_group_record, ctx.region)
        for g in ctx.pages(ec2, "describe_security_groups", "SecurityGroups")
    ]


def list_addresses(ctx: ScopeContext) -> list[Built]:
    """Elastic IPs: DescribeAddresses is not paged (an account holds a few dozen at most)."""
    answer = ctx.client("ec2").describe_addresses()
    return [
        made("Elastic IP", a, address_record, ctx.region) for a in as_list(answer.get("Addresses"))
    ]


def list_nat_gateways(ctx: ScopeContext) -> list[Built]:
    ec2 = ctx.client("ec2")
    return [
        made("NAT gateway", n, nat_gateway_record, ctx.region)
        for n in ctx.pages(ec2, "describe_nat_gateways", "NatGateways")
    ]


def _tags_in_batches(
    keys: list[str], size: int, ask: Callable[[list[str]], dict[str, dict[str, str]]]
) -> dict[str, dict[str, str]]:
    """Tags of many resources, `size` per call. A batch naming a resource deleted meanwhile
    is refused whole: its resources are then asked one by one, and the deleted one has none."""
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(keys), size):
        batch = keys[start : start + size]
        try:
            tags.update(ask(batch))
        except ClientError as exc:
            if not is_gone(exc, *_GONE_LOAD_BALANCER, "NoSuchHostedZone"):
                raise
            for key in batch:
                try:
                    tags.update(ask([key]))
                except ClientError as single:
                    if not is_gone(single, *_GONE_LOAD_BALANCER, "NoSuchHostedZone"):
                        raise
    return tags


_GONE_LOAD_BALANCER = ("LoadBalancerNotFound", "AccessPointNotFound", "TargetGroupNotFound")


def list_load_balancers(ctx: ScopeContext) -> list[Built]:
    """Application, Network and Gateway Load Balancers, each with its tags and the ids of the
    targets registered in the target groups it forwards to (IP targets are no resource)."""
    elbv2 = ctx.client("elbv2")
    balancers = list(ctx.pages(elbv2, "describe_load_balancers", "LoadBalancers"))
    if not balancers:
        return []
    arns = [a for b in balancers if isinstance(a := get(b, "LoadBalancerArn"), str)]
    groups = [
        g
        for g in ctx.pages(elbv2, "describe_target_groups", "TargetGroups")
        if isinstance(g, dict) and isinstance(g.get("TargetGroupArn"), str)
    ]

    def targets_of(group: dict[str, Any]) -> list[str]:
        if group.get("TargetType") == "ip":
            return []
        try:
            answer = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        except ClientError as exc:
            if is_gone(exc, *_GONE_LOAD_BALANCER):
                return []
            raise
        return ids(
            [get(d, "Target") for d in as_list(answer.get("TargetHealthDescriptions"))], "Id"
        )

    targets: dict[str, list[str]] = {}
    for group, found in zip(groups, ctx.each(targets_of, groups), strict=True):
        for arn in ids(group.get("LoadBalancerArns")):
            targets.setdefault(arn, []).extend(found)

    def ask(batch: list[str]) -> dict[str, dict[str, str]]:
        answer = elbv2.describe_tags(ResourceArns=batch)
        return {
            d["ResourceArn"]: tags_of(d.get("Tags"))
            for d in as_list(answer.get("TagDescriptions"))
            if isinstance(d, dict) and isinstance(d.get("ResourceArn"), str)
        }

    tags = _tags_in_batches(arns, 20, ask)
    out: list[Built] = []
    for balancer in balancers:
        arn = text_or_none(get(balancer, "LoadBalancerArn")) or ""
        out.append(made("load balancer", balancer, load_balancer_record, ctx.region,
                        tags.get(arn, {}), targets.get(arn, [])))  # fmt: skip
    return out


def list_classic_load_balancers(ctx: ScopeContext) -> list[Built]:
    """Classic load balancers, with their tags. Their descriptions carry no ARN: it is made
    from the account's id (STS, asked once per sync and only when there is one)."""
    elb = ctx.client("elb")
    balancers = list(ctx.pages(elb, "describe_load_balancers", "LoadBalancerDescriptions"))
    if not balancers:
        return []
    account = ctx.session.identity().account_id
    partition = ctx.session.partition(ctx.region)
    names = [n for b in balancers if isinstance(n := get(b, "LoadBalancerName"), str) and n]

    def ask(batch: list[str]) -> dict[str, dict[str, str]]:
        answer = elb.describe_tags(LoadBalancerNames=batch)
        return {
            d["LoadBalancerName"]: tags_of(d.get("Tags"))
            for d in as_list(answer.get("TagDescriptions"))
            if isinstance(d, dict) and isinstance(d.get("LoadBalancerName"), str)
        }

    tags = _tags_in_batches(names, 20, ask)

    def arn(name: str) -> str | None:
        name = clean_text(name, MAX_ID + 1)
        if not name or not account:
            return None
        return f"arn:{partition}:elasticloadbalancing:{ctx.region}:{account}:loadbalancer/{name}"

    out: list[Built] = []
    for balancer in balancers:
        name = text_or_none(get(balancer, "LoadBalancerName")) or ""
        out.append(made("classic load balancer", balancer, classic_load_balancer_record,
                        ctx.region, arn(name), tags.get(name, {})))  # fmt: skip
    return out


def list_hosted_zones(ctx: ScopeContext) -> list[Built]:
    """Route 53's hosted zones (global), with their tags and, for private zones, their VPCs."""
    route53 = ctx.client("route53")
    zones = list(ctx.pages(route53, "list_hosted_zones", "HostedZones"))
    if not zones:
        return []
    partition = ctx.session.partition(ctx.region)

    def zone_id(zone: Any) -> str:
        value = get(zone, "Id")
        return value.rsplit("/", 1)[-1] if isinstance(value, str) else ""

    def ask(batch: list[str]) -> dict[str, dict[str, str]]:
        answer = route53.list_tags_for_resources(ResourceType="hostedzone", ResourceIds=batch)
        return {
            d["ResourceId"]: tags_of(d.get("Tags"))
            for d in as_list(answer.get("ResourceTagSets"))
            if isinstance(d, dict) and isinstance(d.get("ResourceId"), str)
        }

    tags = _tags_in_batches([z for z in map(zone_id, zones) if z], 10, ask)

    def vpcs_of(zone: Any) -> list[str] | Skip:
        if not get(zone, "Config", "PrivateZone") or not zone_id(zone):
            return []
        try:
            answer = route53.get_hosted_zone(Id=zone_id(zone))
        except ClientError as exc:
            if is_gone(exc, "NoSuchHostedZone"):
                return Skip("deleted while listed", f"hosted zone {clean_text(zone_id(zone), 200)}")
            raise
        return ids(answer.get("VPCs"), "VPCId")

    out: list[Built] = []
    for zone, vpcs in zip(zones, ctx.each(vpcs_of, zones), strict=True):
        if isinstance(vpcs, Skip):
            out.append(vpcs)
        else:
            out.append(made("hosted zone", zone, hosted_zone_record, partition,
                            tags.get(zone_id(zone), {}), vpcs))  # fmt: skip
    return out
