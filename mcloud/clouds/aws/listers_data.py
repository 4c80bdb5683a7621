"""Listing data stores: a region's RDS instances and clusters and DynamoDB tables, and the
account's S3 buckets (global).

Each lister pages its listing to the end and makes every item a record or a skip
(`records_data`). DynamoDB lists only table names and S3 neither a bucket's region nor its
tags: those are asked per item, side by side. An item deleted between its listing and those
calls is a skip; any other refusal raises (see `inventory`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mcloud.clouds.aws.errors import is_gone
from mcloud.clouds.aws.normalize import Built, made, tags_of
from mcloud.clouds.aws.records_data import (
    bucket_record,
    database_record,
    db_cluster_record,
    table_record,
)
from mcloud.clouds.aws.scope import ScopeContext
from mcloud.clouds.base import Skip
from mcloud.clouds.records import clean_text

# S3 reports the oldest regions with legacy names.
_LEGACY_LOCATIONS = {"EU": "eu-west-1", "US": "us-east-1"}


def list_databases(ctx: ScopeContext) -> list[Built]:
    rds = ctx.client("rds")
    return [
        made("database", d, database_record, ctx.region)
        for d in ctx.pages(rds, "describe_db_instances", "DBInstances")
    ]


def list_db_clusters(ctx: ScopeContext) -> list[Built]:
    rds = ctx.client("rds")
    return [
        made("database cluster", c, db_cluster_record, ctx.region)
        for c in ctx.pages(rds, "describe_db_clusters", "DBClusters")
    ]


def list_tables(ctx: ScopeContext) -> list[Built]:
    dynamodb = ctx.client("dynamodb")
    names = [n for n in ctx.pages(dynamodb, "list_tables", "TableNames") if isinstance(n, str)]

    def table(name: str) -> Built:
        try:
            described = dynamodb.describe_table(TableName=name).get("Table")
            arn = described.get("TableArn") if isinstance(described, dict) else None
            tags: dict[str, str] = {}
            if isinstance(arn, str) and arn:
                for tag_page in dynamodb.get_paginator("list_tags_of_resource").paginate(
                    ResourceArn=arn
                ):
                    tags.update(tags_of(tag_page.get("Tags")))
        except ClientError as exc:
            if is_gone(exc, "ResourceNotFoundException"):
                return Skip("deleted while listed", f"table {clean_text(name, 200)}")
            raise
        return made("table", described, table_record, ctx.region, tags)

    return ctx.each(table, names)


def list_buckets(ctx: ScopeContext) -> list[Built]:
    s3 = ctx.client("s3")
    buckets = list(ctx.pages(s3, "list_buckets", "Buckets"))
    out: list[Built] = []
    for bucket, detail in zip(
        buckets, ctx.each(lambda b: _bucket_details(s3, b), buckets), strict=True
    ):
        if isinstance(detail, Skip):
            out.append(detail)
        else:
            out.append(made("bucket", bucket, bucket_record, *detail))
    return out


def _bucket_details(s3: Any, bucket: Any) -> tuple[str, dict[str, str]] | Skip:
    """(region, tags) of a listed bucket; a Skip when it was deleted meanwhile."""
    name = bucket.get("Name") if isinstance(bucket, dict) else None
    if not isinstance(name, str) or not name:
        return Skip("no id", "bucket without a name")
    try:
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        region = _LEGACY_LOCATIONS.get(location, location) or "us-east-1"
        try:
            tags = tags_of(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
        except ClientError as exc:
            if not is_gone(exc, "NoSuchTagSet"):
                raise
            tags = {}
    except ClientError as exc:
        if not is_gone(exc, "NoSuchBucket"):
            raise
        return Skip("deleted while listed", f"arn:aws:s3:::{clean_text(name, 200)}")
    return region, tags
