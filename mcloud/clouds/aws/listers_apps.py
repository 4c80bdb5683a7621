"""Listing a region's application services: EKS clusters and their node groups, Lambda
functions, SQS queues and SNS topics.

Each lister pages its listing to the end and makes every item a record or a skip
(`records_apps`). These listings give names or ARNs only: descriptions, attributes and tags
are asked per item, side by side (a cluster's node groups with it). An item deleted between
its listing and those calls is a skip; any other refusal raises (see `inventory`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mcloud.clouds.aws.errors import is_gone
from mcloud.clouds.aws.normalize import Built, get, made, tag_map, tags_of, text_or_none
from mcloud.clouds.aws.records_apps import (
    eks_cluster_record,
    function_record,
    node_group_record,
    queue_record,
    subscriber,
    topic_record,
)
from mcloud.clouds.aws.scope import ScopeContext
from mcloud.clouds.base import Skip
from mcloud.clouds.records import clean_text

_GONE_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def _deleted(kind: str, name: Any) -> Skip:
    return Skip("deleted while listed", f"{kind} {clean_text(name, 200)}")


def list_kubernetes(ctx: ScopeContext) -> list[Built]:
    """EKS clusters, each followed by its managed node groups."""
    eks = ctx.client("eks")
    names = [n for n in ctx.pages(eks, "list_clusters", "clusters") if isinstance(n, str)]

    def cluster(name: str) -> list[Built]:
        try:
            described = eks.describe_cluster(name=name).get("cluster")
            found: list[Built] = [made("EKS cluster", described, eks_cluster_record, ctx.region)]
            for group in ctx.pages(eks, "list_nodegroups", "nodegroups", clusterName=name):
                if not isinstance(group, str):
                    continue
                try:
                    node_group = eks.describe_nodegroup(clusterName=name, nodegroupName=group)
                except ClientError as exc:
                    if not is_gone(exc, "ResourceNotFoundException"):
                        raise
                    found.append(_deleted("EKS node group", f"{name}/{group}"))
                    continue
                found.append(made("EKS node group", node_group.get("nodegroup"),
                                  node_group_record, ctx.region))  # fmt: skip
        except ClientError as exc:
            if not is_gone(exc, "ResourceNotFoundException"):
                raise
            return [_deleted("EKS cluster", name)]
        return found

    return [built for found in ctx.each(cluster, names) for built in found]


def list_functions(ctx: ScopeContext) -> list[Built]:
    """Lambda functions (their latest versions), with their tags."""
    functions = ctx.client("lambda")
    listed = list(ctx.pages(functions, "list_functions", "Functions"))

    def function(item: Any) -> Built:
        arn = text_or_none(get(item, "FunctionArn"))
        tags: dict[str, str] = {}
        if arn:
            try:
                tags = tag_map(functions.list_tags(Resource=arn).get("Tags"))
            except ClientError as exc:
                if not is_gone(exc, "ResourceNotFoundException"):
                    raise
                return _deleted("function", arn)
        return made("function", item, function_record, ctx.region, tags)

    return ctx.each(function, listed)


def list_queues(ctx: ScopeContext) -> list[Built]:
    """SQS queues, from their attributes and tags (ListQueues gives only their URLs)."""
    sqs = ctx.client("sqs")
    urls = [u for u in ctx.pages(sqs, "list_queues", "QueueUrls") if isinstance(u, str)]

    def queue(url: str) -> Built:
        try:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            tags = tag_map(sqs.list_queue_tags(QueueUrl=url).get("Tags"))
        except ClientError as exc:
            if not is_gone(exc, *_GONE_QUEUE):
                raise
            return _deleted("queue", url)
        return made("queue", attributes.get("Attributes"), queue_record, ctx.region, url, tags)

    return ctx.each(queue, urls)


def list_topics(ctx: ScopeContext) -> list[Built]:
    """SNS topics, from their attributes and tags, each attached to the resources subscribed
    to it (one listing of the region's subscriptions)."""
    sns = ctx.client("sns")
    arns = [
        a
        for t in ctx.pages(sns, "list_topics", "Topics")
        if isinstance(a := get(t, "TopicArn"), str)
    ]
    if not arns:
        return []
    subscribers: dict[str, list[str]] = {}
    for subscription in ctx.pages(sns, "list_subscriptions", "Subscriptions"):
        arn, target = get(subscription, "TopicArn"), subscriber(get(subscription, "Endpoint"))
        if isinstance(arn, str) and target:
            subscribers.setdefault(arn, []).append(target)

    def topic(arn: str) -> Built:
        try:
            attributes = sns.get_topic_attributes(TopicArn=arn).get("Attributes")
            tags = tags_of(sns.list_tags_for_resource(ResourceArn=arn).get("Tags"))
        except ClientError as exc:
            if not is_gone(exc, "NotFound", "NotFoundException", "ResourceNotFound"):
                raise
            return _deleted("topic", arn)
        return made("topic", attributes, topic_record, ctx.region, tags, subscribers.get(arn, []))

    return ctx.each(topic, arns)
