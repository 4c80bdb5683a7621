"""Data stores as records: RDS instances and clusters (Aurora and the other engines that
come in clusters), DynamoDB tables and S3 buckets.

Each builder takes one item as botocore parsed it (and what its lister read beside it) and
returns a record or a `Skip`; none raises whatever the item holds. Ids are ARNs. An RDS
instance is attached to its cluster (the ARN made from its own, as AWS writes it), subnets and
security groups; a cluster to its security groups.
"""

from __future__ import annotations

from typing import Any

from mcloud.clouds.aws.normalize import (
    Built,
    arn_parts,
    as_list,
    get,
    ids,
    joined,
    tags_of,
    word,
)
from mcloud.clouds.base import ResourceType, Status
from mcloud.clouds.records import clean_text, record_or_skip

_RDS_STATES = {
    "available": Status.RUNNING,
    "creating": Status.PENDING,
    "starting": Status.PENDING,
    "backing-up": Status.RUNNING,
    "modifying": Status.RUNNING,
    "rebooting": Status.RUNNING,
    "upgrading": Status.RUNNING,
    "maintenance": Status.RUNNING,
    "storage-optimization": Status.RUNNING,
    "stopping": Status.STOPPING,
    "stopped": Status.STOPPED,
    "deleting": Status.DELETING,
    "failed": Status.ERROR,
    "inaccessible-encryption-credentials": Status.ERROR,
}
_TABLE_STATES = {
    "ACTIVE": Status.AVAILABLE,
    "CREATING": Status.PENDING,
    "UPDATING": Status.AVAILABLE,
    "DELETING": Status.DELETING,
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS": Status.ERROR,
    "ARCHIVING": Status.STOPPING,
    "ARCHIVED": Status.STOPPED,
}


def database_record(d: dict[str, Any], region: str) -> Built:
    state = word(d.get("DBInstanceStatus"))
    instance_class = word(d.get("DBInstanceClass"))
    arn = arn_parts(d.get("DBInstanceArn"))
    cluster = d.get("DBClusterIdentifier")
    cluster_arn = (
        f"arn:{arn[1]}:rds:{arn[3]}:{arn[4]}:cluster:{cluster}"
        if arn and isinstance(cluster, str) and cluster
        else None
    )
    return record_or_skip(
        kind="database",
        resource_id=d.get("DBInstanceArn"),
        name=d.get("DBInstanceIdentifier"),
        type=ResourceType.DATABASE,
        region=region,
        status=_RDS_STATES.get(state, Status.UNKNOWN),
        created_at=d.get("InstanceCreateTime"),
        tags=tags_of(d.get("TagList")),
        metadata={
            "provider_type": "AWS::RDS::DBInstance",
            "instance_class": instance_class or None,
            "engine": d.get("Engine"),
            "engine_version": d.get("EngineVersion"),
            "storage_gb": d.get("AllocatedStorage"),
            "endpoint": get(d, "Endpoint", "Address"),
            "multi_az": d.get("MultiAZ"),
            "vpc_id": get(d, "DBSubnetGroup", "VpcId"),
            "cluster": cluster if isinstance(cluster, str) and cluster else None,
            "provider_status": state or None,
        },
        attached_to=joined(
            cluster_arn,
            ids(get(d, "DBSubnetGroup", "Subnets"), "SubnetIdentifier"),
            ids(d.get("VpcSecurityGroups"), "VpcSecurityGroupId"),
        ),
    )


def db_cluster_record(c: dict[str, Any], region: str) -> Built:
    state = word(c.get("Status"))
    serverless = c.get("ServerlessV2ScalingConfiguration")
    return record_or_skip(
        kind="database cluster",
        resource_id=c.get("DBClusterArn"),
        name=c.get("DBClusterIdentifier"),
        type=ResourceType.DATABASE,
        region=region,
        status=_RDS_STATES.get(state, Status.UNKNOWN),
        created_at=c.get("ClusterCreateTime"),
        tags=tags_of(c.get("TagList")),
        metadata={
            "provider_type": "AWS::RDS::DBCluster",
            "engine": c.get("Engine"),
            "engine_version": c.get("EngineVersion"),
            "engine_mode": c.get("EngineMode"),
            "endpoint": c.get("Endpoint"),
            "reader_endpoint": c.get("ReaderEndpoint"),
            "port": c.get("Port"),
            "multi_az": c.get("MultiAZ"),
            "members": len(as_list(c.get("DBClusterMembers"))),
            "storage_encrypted": c.get("StorageEncrypted"),
            "db_subnet_group": c.get("DBSubnetGroup"),
            "serverless_capacity": [get(serverless, "MinCapacity"), get(serverless, "MaxCapacity")]
            if isinstance(serverless, dict)
            else None,
            "provider_status": state or None,
        },
        attached_to=ids(c.get("VpcSecurityGroups"), "VpcSecurityGroupId"),
    )


def table_record(t: dict[str, Any], region: str, tags: dict[str, str]) -> Built:
    """A DynamoDB table as DescribeTable tells it (ListTables gives only names)."""
    state = word(t.get("TableStatus"))
    keys = [
        f"{clean_text(get(k, 'AttributeName'), 255)} {clean_text(get(k, 'KeyType'), 16)}"
        for k in as_list(t.get("KeySchema"))
    ]
    return record_or_skip(
        kind="table",
        resource_id=t.get("TableArn"),
        name=t.get("TableName"),
        type=ResourceType.NOSQL,
        region=region,
        status=_TABLE_STATES.get(state, Status.UNKNOWN),
        created_at=t.get("CreationDateTime"),
        tags=tags,
        metadata={
            "provider_type": "AWS::DynamoDB::Table",
            "billing_mode": get(t, "BillingModeSummary", "BillingMode") or "PROVISIONED",
            "read_capacity": get(t, "ProvisionedThroughput", "ReadCapacityUnits"),
            "write_capacity": get(t, "ProvisionedThroughput", "WriteCapacityUnits"),
            "item_count": t.get("ItemCount"),
            "size_bytes": t.get("TableSizeBytes"),
            "key_schema": keys,
            "global_indexes": len(as_list(t.get("GlobalSecondaryIndexes"))),
            "table_class": get(t, "TableClassSummary", "TableClass"),
            "stream": get(t, "StreamSpecification", "StreamViewType")
            if get(t, "StreamSpecification", "StreamEnabled")
            else None,
            "replicas": ids(t.get("Replicas"), "RegionName"),
            "deletion_protection": t.get("DeletionProtectionEnabled"),
            "provider_status": state or None,
        },
    )


def bucket_record(b: dict[str, Any], region: str, tags: dict[str, str]) -> Built:
    name = clean_text(b.get("Name"))
    return record_or_skip(
        kind="bucket",
        resource_id=f"arn:aws:s3:::{name}" if name else None,
        name=name,
        type=ResourceType.STORAGE,
        region=region,
        status=Status.AVAILABLE,
        created_at=b.get("CreationDate"),
        tags=tags,
        metadata={"provider_type": "AWS::S3::Bucket", "provider_status": "available"},
    )
