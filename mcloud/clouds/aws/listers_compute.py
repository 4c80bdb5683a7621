"""Listing a region's compute: EC2 instances, Auto Scaling groups, EBS volumes and the
account's own EBS snapshots. Each lister pages its listing to the end and makes every item
a record or a skip (`records_compute`); a call AWS refuses raises (see `inventory`)."""

from __future__ import annotations

from mcloud.clouds.aws.normalize import Built, as_list, made
from mcloud.clouds.aws.records_compute import (
    auto_scaling_group_record,
    instance_record,
    snapshot_record,
    volume_record,
)
from mcloud.clouds.aws.scope import ScopeContext


def list_instances(ctx: ScopeContext) -> list[Built]:
    out: list[Built] = []
    ec2 = ctx.client("ec2")
    for reservation in ctx.pages(ec2, "describe_instances", "Reservations"):
        if isinstance(reservation, dict):
            for item in as_list(reservation.get("Instances")):
                out.append(made("instance", item, instance_record, ctx.region))
    return out


def list_auto_scaling_groups(ctx: ScopeContext) -> list[Built]:
    autoscaling = ctx.client("autoscaling")
    return [
        made("Auto Scaling group", item, auto_scaling_group_record, ctx.region)
        for item in ctx.pages(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups")
    ]


def list_volumes(ctx: ScopeContext) -> list[Built]:
    ec2 = ctx.client("ec2")
    return [
        made("volume", item, volume_record, ctx.region)
        for item in ctx.pages(ec2, "describe_volumes", "Volumes")
    ]


def list_snapshots(ctx: ScopeContext) -> list[Built]:
    """The account's own snapshots: without OwnerIds, EC2 lists every public one too."""
    ec2 = ctx.client("ec2")
    return [
        made("snapshot", item, snapshot_record, ctx.region)
        for item in ctx.pages(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"])
    ]
