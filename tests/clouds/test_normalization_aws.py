"""The AWS record builders of every resource type beyond the first five (those are in
test_normalization.py), against items generated from botocore's service models
(tests/clouds/schemas.py): each operation's output shape, down to the listed item, and the
shapes of what a lister reads beside it (tags, attributes). No network, no database.

Properties, for any list of such items, as in test_normalization.py: normalization never
raises; an item with an id becomes a record (or a skip saying its id is too long), one without
becomes a "no id" skip; every record passes the boundary check, attachments included; after
it, each id is exactly one record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcloud.clouds import aws
from mcloud.clouds.aws.normalize import arn_parts, tag_map, tags_of
from mcloud.clouds.aws.records_apps import subscriber
from mcloud.clouds.base import ResourceRecord
from tests.clouds import schemas
from tests.clouds.test_normalization import _check, _usable

REGION = "eu-west-1"


def items(service: str, operation: str, *path: str) -> st.SearchStrategy[Any]:
    return schemas.from_botocore(schemas.aws_item_shape(service, operation, path))


def tag_lists(service: str, operation: str, *path: str) -> st.SearchStrategy[dict[str, str]]:
    """[{"Key", "Value"}] lists as the operation answers them, read as a lister reads them."""
    return st.lists(items(service, operation, *path), max_size=3).map(tags_of)


@cache
def _attribute_names(service: str, operation: str) -> tuple[str, ...]:
    """The attribute names of a String-to-String attribute map: the key shape's enum (SQS),
    or else the names its documentation gives in <code> (SNS)."""
    shape = schemas.aws_item_shape(service, operation, ("Attributes",))
    names = shape.key.enum or re.findall(r"<code>([A-Z]\w+)</code>", shape.documentation)
    return tuple(dict.fromkeys(names))


def attributes(service: str, operation: str, **special: st.SearchStrategy[str]) -> Any:
    """An attribute map with any of the documented names, each any text (or `special`)."""
    names = _attribute_names(service, operation)
    return st.fixed_dictionaries({}, optional={n: special.get(n, schemas.text()) for n in names})


def _made(build: Callable[..., Any], label: str, batch: list[Any], *extra: Any) -> list[Any]:
    return [aws.made(label, item, build, *extra) for item in batch]


# --- builders that take an item and its region ------------------------------------------
SIMPLE: list[tuple[str, str, tuple[str, ...], Callable[..., Any], str]] = [
    ("autoscaling", "DescribeAutoScalingGroups", ("AutoScalingGroups",),
     aws.auto_scaling_group_record, "AutoScalingGroupARN"),
    ("ec2", "DescribeSnapshots", ("Snapshots",), aws.snapshot_record, "SnapshotId"),
    ("ec2", "DescribeSubnets", ("Subnets",), aws.subnet_record, "SubnetId"),
    ("ec2", "DescribeSecurityGroups", ("SecurityGroups",), aws.security_group_record, "GroupId"),
    ("ec2", "DescribeAddresses", ("Addresses",), aws.address_record, "AllocationId"),
    ("ec2", "DescribeNatGateways", ("NatGateways",), aws.nat_gateway_record, "NatGatewayId"),
    ("rds", "DescribeDBClusters", ("DBClusters",), aws.db_cluster_record, "DBClusterArn"),
    ("eks", "DescribeCluster", ("cluster",), aws.eks_cluster_record, "arn"),
    ("eks", "DescribeNodegroup", ("nodegroup",), aws.node_group_record, "nodegroupArn"),
]  # fmt: skip


@pytest.mark.parametrize(("service", "operation", "path", "build", "key"), SIMPLE,
                         ids=[op for _, op, *_ in SIMPLE])  # fmt: skip
def test_items_normalize(service, operation, path, build, key):
    @given(batch=st.lists(items(service, operation, *path), max_size=4), duplicate=st.booleans())
    def check(batch: list[dict[str, Any]], duplicate: bool) -> None:
        batch = batch + batch[:1] if duplicate else batch
        _check(_made(build, operation, batch, REGION), [_usable(i.get(key)) for i in batch])

    check()


# --- builders that take what their lister reads beside the item -------------------------
def test_load_balancers_normalize():
    @given(
        batch=st.lists(items("elbv2", "DescribeLoadBalancers", "LoadBalancers"), max_size=3),
        tags=tag_lists("elbv2", "DescribeTags", "TagDescriptions", "Tags"),
        targets=st.lists(schemas.text(), max_size=3),
    )
    def check(batch: list[dict[str, Any]], tags: dict[str, str], targets: list[str]) -> None:
        made = _made(aws.load_balancer_record, "load balancer", batch, REGION, tags, targets)
        _check(made, [_usable(i.get("LoadBalancerArn")) for i in batch])

    check()


def test_classic_load_balancers_normalize():
    shape = ("elb", "DescribeLoadBalancers", "LoadBalancerDescriptions")

    @given(
        pairs=st.lists(st.tuples(items(*shape), st.one_of(st.none(), schemas.text())), max_size=3),
        tags=tag_lists("elb", "DescribeTags", "TagDescriptions", "Tags"),
    )
    def check(pairs: list[tuple[dict[str, Any], str | None]], tags: dict[str, str]) -> None:
        made = [
            aws.made("classic", item, aws.classic_load_balancer_record, REGION, arn, tags)
            for item, arn in pairs
        ]
        _check(made, [_usable(arn) for _, arn in pairs])

    check()


def test_hosted_zones_normalize():
    @given(
        batch=st.lists(items("route53", "ListHostedZones", "HostedZones"), max_size=3),
        tags=tag_lists("route53", "ListTagsForResources", "ResourceTagSets", "Tags"),
        vpcs=st.lists(schemas.text(), max_size=2),
    )
    def check(batch: list[dict[str, Any]], tags: dict[str, str], vpcs: list[str]) -> None:
        made = _made(aws.hosted_zone_record, "hosted zone", batch, "aws", tags, vpcs)
        _check(made, [_usable(i.get("Id", "").rsplit("/", 1)[-1]) for i in batch])
        for record in made:
            if isinstance(record, ResourceRecord):
                assert record.resource_id.startswith("arn:aws:route53:::hostedzone/")
                assert record.region == "global"

    check()


def test_tables_normalize():
    @given(
        batch=st.lists(items("dynamodb", "DescribeTable", "Table"), max_size=3),
        tags=tag_lists("dynamodb", "ListTagsOfResource", "Tags"),
    )
    def check(batch: list[dict[str, Any]], tags: dict[str, str]) -> None:
        made = _made(aws.table_record, "table", batch, REGION, tags)
        _check(made, [_usable(i.get("TableArn")) for i in batch])

    check()


def test_functions_normalize():
    tags = schemas.from_botocore(schemas.aws_item_shape("lambda", "ListTags", ("Tags",)))

    @given(
        batch=st.lists(items("lambda", "ListFunctions", "Functions"), max_size=3),
        tags=tags.map(tag_map),
    )
    def check(batch: list[dict[str, Any]], tags: dict[str, str]) -> None:
        made = _made(aws.function_record, "function", batch, REGION, tags)
        _check(made, [_usable(i.get("FunctionArn")) for i in batch])

    check()


def test_queues_normalize():
    redrive = st.one_of(
        schemas.text(),
        st.builds(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3}),
                  schemas.text()),
    )  # fmt: skip
    created = st.one_of(schemas.text(), st.floats().map(str))
    queue = attributes("sqs", "GetQueueAttributes", RedrivePolicy=redrive, CreatedTimestamp=created)

    @given(
        batch=st.lists(st.tuples(queue, schemas.text()), max_size=3),
        tags=st.dictionaries(schemas.text(), schemas.text(), max_size=3).map(tag_map),
    )
    def check(batch: list[tuple[dict[str, str], str]], tags: dict[str, str]) -> None:
        made = [aws.made("queue", a, aws.queue_record, REGION, url, tags) for a, url in batch]
        _check(made, [_usable(a.get("QueueArn")) for a, _ in batch])

    check()


def test_topics_normalize():
    topic = attributes("sns", "GetTopicAttributes")
    assert "TopicArn" in _attribute_names("sns", "GetTopicAttributes")

    @given(
        batch=st.lists(topic, max_size=3),
        tags=tag_lists("sns", "ListTagsForResource", "Tags"),
        subscribers=st.lists(schemas.text(), max_size=3),
    )
    def check(batch: list[dict[str, str]], tags: dict[str, str], subscribers: list[str]) -> None:
        made = _made(aws.topic_record, "topic", batch, REGION, tags, subscribers)
        _check(made, [_usable(a.get("TopicArn")) for a in batch])

    check()


# --- the ids one record gives another -------------------------------------------------
@given(endpoint=st.one_of(schemas.text(), st.none(), st.integers()))
def test_a_subscriber_is_an_arn_or_nothing(endpoint):
    found = subscriber(endpoint)
    assert found is None or arn_parts(found) is not None


def test_a_function_subscribed_by_alias_is_the_function():
    function = "arn:aws:lambda:eu-west-1:123456789012:function:send-receipts"
    assert subscriber(f"{function}:live") == function
    assert subscriber(function) == function
    assert subscriber("arn:aws:sqs:eu-west-1:123456789012:jobs") == (
        "arn:aws:sqs:eu-west-1:123456789012:jobs"
    )
    assert subscriber("ops@example.com") is None


def test_records_name_the_ids_of_the_records_they_are_attached_to():
    """A node group names its cluster, an RDS instance its cluster and an Auto Scaling group
    its classic load balancers by the ARNs those records have (made from their own ARNs)."""
    account, region = "123456789012", REGION
    cluster = aws.eks_cluster_record(
        {"arn": f"arn:aws:eks:{region}:{account}:cluster/platform", "name": "platform"}, region
    )
    group = aws.node_group_record(
        {"nodegroupArn": f"arn:aws:eks:{region}:{account}:nodegroup/platform/general/ab-12",
         "clusterName": "platform", "nodegroupName": "general"}, region,
    )  # fmt: skip
    rds_cluster = aws.db_cluster_record(
        {"DBClusterArn": f"arn:aws:rds:{region}:{account}:cluster:orders"}, region
    )
    instance = aws.database_record(
        {"DBInstanceArn": f"arn:aws:rds:{region}:{account}:db:orders-1",
         "DBClusterIdentifier": "orders"}, region,
    )  # fmt: skip
    classic = aws.classic_load_balancer_record(
        {"LoadBalancerName": "legacy"},
        region,
        f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/legacy",
        {},
    )
    scaling = aws.auto_scaling_group_record(
        {"AutoScalingGroupARN": f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:"
                                "0f1e:autoScalingGroupName/workers",
         "LoadBalancerNames": ["legacy"], "VPCZoneIdentifier": "subnet-1, subnet-2"}, region,
    )  # fmt: skip
    records = [cluster, group, rds_cluster, instance, classic, scaling]
    assert all(isinstance(r, ResourceRecord) for r in records)
    assert cluster.resource_id in group.attached_to
    assert rds_cluster.resource_id in instance.attached_to
    assert scaling.attached_to == ["subnet-1", "subnet-2", classic.resource_id]
