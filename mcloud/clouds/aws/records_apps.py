"""Application services as records: EKS clusters and their node groups, Lambda functions,
SQS queues and SNS topics.

Each builder takes one item as botocore parsed it (and what its lister read beside it) and
returns a record or a `Skip`; none raises whatever the item holds. Ids are ARNs. A cluster is
attached to its subnets, security groups and VPC; a node group (a VM group) to its cluster
(the ARN made from its own, as AWS writes it) and subnets; a function to its subnets,
security groups and VPC; a queue to its dead-letter queue; a topic to the queues, functions
and streams subscribed to it.
"""

from __future__ import annotations

import json
from typing import Any

from mcloud.clouds.aws.normalize import (
    Built,
    arn_parts,
    epoch,
    get,
    ids,
    integer,
    joined,
    tag_map,
    text_or_none,
    word,
)
from mcloud.clouds.base import ResourceType, Status
from mcloud.clouds.records import clean_text, record_or_skip

_CLUSTER_STATES = {
    "CREATING": Status.PENDING,
    "PENDING": Status.PENDING,
    "ACTIVE": Status.RUNNING,
    "UPDATING": Status.RUNNING,
    "DELETING": Status.DELETING,
    "FAILED": Status.ERROR,
}
_NODE_GROUP_STATES = {
    "CREATING": Status.PENDING,
    "ACTIVE": Status.RUNNING,
    "UPDATING": Status.RUNNING,
    "DELETING": Status.DELETING,
    "CREATE_FAILED": Status.ERROR,
    "DELETE_FAILED": Status.ERROR,
    "DEGRADED": Status.ERROR,
}
_FUNCTION_STATES = {
    "Pending": Status.PENDING,
    "Active": Status.AVAILABLE,
    "Inactive": Status.STOPPED,
    "Failed": Status.ERROR,
}


def eks_cluster_record(c: dict[str, Any], region: str) -> Built:
    state = word(c.get("status"))
    network = c.get("resourcesVpcConfig")
    subnets = ids(get(network, "subnetIds"))
    groups = joined(ids(get(network, "securityGroupIds")),
                    text_or_none(get(network, "clusterSecurityGroupId")))  # fmt: skip
    return record_or_skip(
        kind="EKS cluster",
        resource_id=c.get("arn"),
        name=c.get("name"),
        type=ResourceType.KUBERNETES,
        region=region,
        status=_CLUSTER_STATES.get(state, Status.UNKNOWN),
        created_at=c.get("createdAt"),
        tags=tag_map(c.get("tags")),
        metadata={
            "provider_type": "AWS::EKS::Cluster",
            "version": c.get("version"),
            "platform_version": c.get("platformVersion"),
            "endpoint": c.get("endpoint"),
            "vpc_id": get(network, "vpcId"),
            "public_endpoint": get(network, "endpointPublicAccess"),
            "private_endpoint": get(network, "endpointPrivateAccess"),
            "provider_status": state or None,
        },
        attached_to=joined(subnets, groups, text_or_none(get(network, "vpcId"))),
    )


def node_group_record(n: dict[str, Any], region: str) -> Built:
    state = word(n.get("status"))
    arn = arn_parts(n.get("nodegroupArn"))
    cluster = n.get("clusterName")
    cluster_arn = (
        f"arn:{arn[1]}:eks:{arn[3]}:{arn[4]}:cluster/{cluster}"
        if arn and isinstance(cluster, str) and cluster
        else None
    )
    scaling = n.get("scalingConfig")
    return record_or_skip(
        kind="EKS node group",
        resource_id=n.get("nodegroupArn"),
        name=n.get("nodegroupName"),
        type=ResourceType.VM_GROUP,
        region=region,
        status=_NODE_GROUP_STATES.get(state, Status.UNKNOWN),
        created_at=n.get("createdAt"),
        tags=tag_map(n.get("tags")),
        metadata={
            "provider_type": "AWS::EKS::Nodegroup",
            "cluster": cluster,
            "instance_types": ids(n.get("instanceTypes")),
            "capacity_type": n.get("capacityType"),
            "min_size": get(scaling, "minSize"),
            "max_size": get(scaling, "maxSize"),
            "desired_size": get(scaling, "desiredSize"),
            "ami_type": n.get("amiType"),
            "version": n.get("version"),
            "disk_size_gb": n.get("diskSize"),
            "auto_scaling_groups": ids(get(n, "resources", "autoScalingGroups"), "name"),
            "provider_status": state or None,
        },
        attached_to=joined(cluster_arn, ids(n.get("subnets"))),
    )


def function_record(f: dict[str, Any], region: str, tags: dict[str, str]) -> Built:
    """A Lambda function as ListFunctions tells it. That listing leaves out the state
    (only GetFunction has it): a function listed without one is available."""
    state = word(f.get("State"))
    network = f.get("VpcConfig")
    return record_or_skip(
        kind="function",
        resource_id=f.get("FunctionArn"),
        name=f.get("FunctionName"),
        type=ResourceType.FUNCTION,
        region=region,
        status=_FUNCTION_STATES.get(state, Status.UNKNOWN) if state else Status.AVAILABLE,
        tags=tags,
        metadata={
            "provider_type": "AWS::Lambda::Function",
            "runtime": f.get("Runtime"),
            "handler": f.get("Handler"),
            "package_type": f.get("PackageType"),
            "architectures": ids(f.get("Architectures")),
            "memory_mb": f.get("MemorySize"),
            "timeout_seconds": f.get("Timeout"),
            "code_size": f.get("CodeSize"),
            "last_modified": f.get("LastModified"),
            "vpc_id": get(network, "VpcId") or None,
            "provider_status": state or None,
        },
        attached_to=joined(
            ids(get(network, "SubnetIds")),
            ids(get(network, "SecurityGroupIds")),
            text_or_none(get(network, "VpcId")),
        ),
    )


def _json(value: Any) -> Any:
    """A JSON document sent as text (SQS's redrive policy), or None."""
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


def _name_of(arn: Any) -> str | None:
    parts = arn_parts(arn)
    return parts[5] if parts else None


def queue_record(a: dict[str, Any], region: str, url: str, tags: dict[str, str]) -> Built:
    """An SQS queue from its attributes (GetQueueAttributes, all of them)."""
    dead_letter = get(_json(a.get("RedrivePolicy")), "deadLetterTargetArn")
    return record_or_skip(
        kind="queue",
        resource_id=a.get("QueueArn"),
        name=_name_of(a.get("QueueArn")),
        type=ResourceType.QUEUE,
        region=region,
        status=Status.AVAILABLE,  # a queue has no state
        created_at=epoch(a.get("CreatedTimestamp")),
        tags=tags,
        metadata={
            "provider_type": "AWS::SQS::Queue",
            "url": clean_text(url),
            "fifo": a.get("FifoQueue") == "true",
            "messages": integer(a.get("ApproximateNumberOfMessages")),
            "messages_in_flight": integer(a.get("ApproximateNumberOfMessagesNotVisible")),
            "visibility_timeout_seconds": integer(a.get("VisibilityTimeout")),
            "retention_seconds": integer(a.get("MessageRetentionPeriod")),
            "encrypted": a.get("SqsManagedSseEnabled") == "true" or bool(a.get("KmsMasterKeyId")),
            "dead_letter_queue": text_or_none(dead_letter),
        },
        attached_to=joined(text_or_none(dead_letter)),
    )


def subscriber(endpoint: Any) -> str | None:
    """The resource a subscription delivers to, by the id its record has: an ARN (a Lambda
    function's without its version or alias), or None for e-mail, HTTP and SMS endpoints."""
    parts = arn_parts(endpoint)
    if parts is None:
        return None
    if parts[2] == "lambda" and parts[5].count(":") > 1:  # function:name:qualifier
        return ":".join([*parts[:5], parts[5].rsplit(":", 1)[0]])
    return str(endpoint)


def topic_record(
    a: dict[str, Any], region: str, tags: dict[str, str], subscribers: list[str]
) -> Built:
    """An SNS topic from its attributes (GetTopicAttributes), with its subscribers' ids."""
    return record_or_skip(
        kind="topic",
        resource_id=a.get("TopicArn"),
        name=_name_of(a.get("TopicArn")),
        type=ResourceType.TOPIC,
        region=region,
        status=Status.AVAILABLE,  # a topic has no state
        tags=tags,
        metadata={
            "provider_type": "AWS::SNS::Topic",
            "display_name": a.get("DisplayName") or None,
            "fifo": a.get("FifoTopic") == "true",
            "subscriptions": integer(a.get("SubscriptionsConfirmed")),
            "subscriptions_pending": integer(a.get("SubscriptionsPending")),
            "encrypted": bool(a.get("KmsMasterKeyId")),
        },
        attached_to=subscribers,
    )
