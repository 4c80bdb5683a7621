"""What a sync lists in each scope, and how one scope is listed.

Scopes are the regions the account covers, plus `GLOBAL_SCOPE` for the global services (S3
buckets, which live in regions but are listed once, and Route 53 hosted zones). Each scope's
listings (`REGIONAL`, `GLOBAL`) run side by side, a few at a time, and each pages to the end.

How a failing listing fails:
- One that AWS refuses for want of a permission (an IAM policy without `eks:ListClusters`)
  is not fatal: the scope lists the rest, and says what it could not list, as a skip whose
  reason says so ("not listed: AWS denied access (AccessDenied)") and whose item names the
  listing ("EKS clusters and node groups"); the sync shows it among the run's findings. An
  account that may not use one service still gets the rest of its inventory, every time, and
  the types the denied listing makes are `unlisted`: their stored rows are kept as they were,
  not tombstoned (a permission taken away is not a cluster deleted).
- When every listing of a scope is refused, the scope fails (with the first refusal): nothing
  was listed, which is what a region disabled by policy looks like.
- Anything else (a bad key, throttling beyond the retries, a server error, a timeout) fails
  the whole scope as a CloudError: the sync keeps its previous inventory as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from mcloud.clouds.aws.errors import denial, translate_errors
from mcloud.clouds.aws.listers_apps import list_functions, list_kubernetes, list_queues, list_topics
from mcloud.clouds.aws.listers_compute import (
    list_auto_scaling_groups,
    list_instances,
    list_snapshots,
    list_volumes,
)
from mcloud.clouds.aws.listers_data import (
    list_buckets,
    list_databases,
    list_db_clusters,
    list_tables,
)
from mcloud.clouds.aws.listers_network import (
    list_addresses,
    list_classic_load_balancers,
    list_hosted_zones,
    list_load_balancers,
    list_nat_gateways,
    list_security_groups,
    list_subnets,
    list_vpcs,
)
from mcloud.clouds.aws.normalize import Built
from mcloud.clouds.aws.scope import ScopeContext
from mcloud.clouds.aws.session import DEFAULT_REGION, AwsSession
from mcloud.clouds.base import CloudError, Listing, Skip
from mcloud.clouds.base import ResourceType as R

GLOBAL_SCOPE = "global"
LISTINGS_AT_ONCE = 4  # listings of one scope side by side (a sync lists several scopes too)
DETAILS_AT_ONCE = 8  # per-item calls of one scope side by side
DENIED = "not listed: AWS denied access"


@dataclass(frozen=True)
class Lister:
    """One listing of a scope: what it lists (as the run's findings name it), the types of
    resource it makes (kept as they were when it is denied), the IAM actions it needs, and
    the function that lists it."""

    label: str
    types: tuple[str, ...]
    actions: tuple[str, ...]
    list: Callable[[ScopeContext], list[Built]]


REGIONAL: tuple[Lister, ...] = (
    Lister("EC2 instances", (R.VM,), ("ec2:DescribeInstances",), list_instances),
    Lister("Auto Scaling groups", (R.VM_GROUP,), ("autoscaling:DescribeAutoScalingGroups",),
           list_auto_scaling_groups),
    Lister("EBS volumes", (R.DISK,), ("ec2:DescribeVolumes",), list_volumes),
    Lister("EBS snapshots", (R.SNAPSHOT,), ("ec2:DescribeSnapshots",), list_snapshots),
    Lister("VPCs", (R.NETWORK,), ("ec2:DescribeVpcs",), list_vpcs),
    Lister("subnets", (R.SUBNET,), ("ec2:DescribeSubnets",), list_subnets),
    Lister("security groups", (R.FIREWALL,), ("ec2:DescribeSecurityGroups",),
           list_security_groups),
    Lister("load balancers", (R.LOAD_BALANCER,),
           ("elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags"),
           list_load_balancers),
    Lister("classic load balancers", (R.LOAD_BALANCER,),
           ("elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"),
           list_classic_load_balancers),
    Lister("Elastic IPs", (R.IP_ADDRESS,), ("ec2:DescribeAddresses",), list_addresses),
    Lister("NAT gateways", (R.NAT_GATEWAY,), ("ec2:DescribeNatGateways",), list_nat_gateways),
    Lister("RDS instances", (R.DATABASE,), ("rds:DescribeDBInstances",), list_databases),
    Lister("RDS clusters", (R.DATABASE,), ("rds:DescribeDBClusters",), list_db_clusters),
    Lister("DynamoDB tables", (R.NOSQL,),
           ("dynamodb:ListTables", "dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"),
           list_tables),
    Lister("EKS clusters and node groups", (R.KUBERNETES, R.VM_GROUP),
           ("eks:ListClusters", "eks:DescribeCluster", "eks:ListNodegroups",
            "eks:DescribeNodegroup"),
           list_kubernetes),
    Lister("Lambda functions", (R.FUNCTION,), ("lambda:ListFunctions", "lambda:ListTags"),
           list_functions),
    Lister("SQS queues", (R.QUEUE,),
           ("sqs:ListQueues", "sqs:GetQueueAttributes", "sqs:ListQueueTags"),
           list_queues),
    Lister("SNS topics", (R.TOPIC,),
           ("sns:ListTopics", "sns:GetTopicAttributes", "sns:ListTagsForResource",
            "sns:ListSubscriptions"),
           list_topics),
)  # fmt: skip
GLOBAL: tuple[Lister, ...] = (
    Lister("S3 buckets", (R.STORAGE,),
           ("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketTagging"),
           list_buckets),
    Lister("Route 53 hosted zones", (R.DNS_ZONE,),
           ("route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResources"),
           list_hosted_zones),
)  # fmt: skip
# Every IAM action a sync uses (besides sts:GetCallerIdentity, which needs none): a policy
# allowing these (or AWS's ReadOnlyAccess) lists everything.
READ_ACTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(
        ["ec2:DescribeRegions", *(a for lister in REGIONAL + GLOBAL for a in lister.actions)]
    )
)


def list_scope(session: AwsSession, scope: str, page_size: int | None = None) -> Listing:
    """Every resource of one region (or of the global services, for GLOBAL_SCOPE), paged
    to the end. Raises CloudError as the module docstring says."""
    listers = GLOBAL if scope == GLOBAL_SCOPE else REGIONAL
    region = DEFAULT_REGION if scope == GLOBAL_SCOPE else scope
    listing = Listing()
    denied: list[tuple[Lister, str]] = []
    # The listings' pool closes first (waiting for them), then the one they submit to.
    with (
        ThreadPoolExecutor(DETAILS_AT_ONCE, thread_name_prefix=f"aws-{scope}-item") as details,
        ThreadPoolExecutor(LISTINGS_AT_ONCE, thread_name_prefix=f"aws-{scope}") as pool,
    ):
        ctx = ScopeContext(session, region, details, page_size)
        running: list[tuple[Lister, Future[list[Built]]]] = [
            (lister, pool.submit(lister.list, ctx)) for lister in listers
        ]
        try:
            for lister, future in running:
                try:
                    for built in future.result():
                        listing.add(built)
                except ClientError as error:
                    code = denial(error)
                    if code is None:
                        with translate_errors(f"list the {lister.label} of {scope}"):
                            raise
                    denied.append((lister, code))
                except BotoCoreError:
                    with translate_errors(f"list the {lister.label} of {scope}"):
                        raise
        finally:
            for _, future in running:  # a failed scope stops what has not started
                future.cancel()
    if denied and len(denied) == len(listers):
        code = denied[0][1]
        raise CloudError(
            f"AWS denied the request to list the resources of {scope} ({code})",
            permanent=True,
            code=code,
        )
    for lister, code in denied:
        listing.add(Skip(f"{DENIED} ({code})", lister.label))
        listing.unlisted.update(lister.types)
    return listing
