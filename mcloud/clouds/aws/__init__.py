"""AWS through boto3: sessions (access key or assumed role), the connection test, inventory
and costs, a module per job:

- `adapter`: `AwsAdapter`, what the apps call (the registry names
  "mcloud.clouds.aws.AwsAdapter").
- `session`: the account's boto3 session and clients; `errors`: botocore's exceptions as
  CloudErrors, and which refusals are a missing permission.
- `inventory`: what each scope lists (regions; `GLOBAL_SCOPE` for S3 and Route 53) and how a
  scope is listed; `scope`: paging and per-item calls; `listers_*`: the calls per service.
- `records_*`: each listed item as a record or a `Skip`, through a function of its own that
  reads the item as botocore parsed it and never raises (see mcloud.clouds.records);
  `normalize`: the helpers they share.
- `costs`: Cost Explorer; `organizations`: an AWS organization's member accounts.
- `cost_export`: the account's CUR 2.0 data export in S3 (longer history), through
  `export_files` (its periods and files, read in ranges) and `export_rows` (Parquet line
  items as cost records).
"""

from __future__ import annotations

from mcloud.clouds.aws.adapter import AwsAdapter
from mcloud.clouds.aws.costs import COST_METRIC
from mcloud.clouds.aws.errors import translate_errors
from mcloud.clouds.aws.inventory import GLOBAL, GLOBAL_SCOPE, READ_ACTIONS, REGIONAL
from mcloud.clouds.aws.normalize import made
from mcloud.clouds.aws.normalize import tags_of as _tags  # the name tests have used
from mcloud.clouds.aws.records_apps import (
    eks_cluster_record,
    function_record,
    node_group_record,
    queue_record,
    topic_record,
)
from mcloud.clouds.aws.records_compute import (
    auto_scaling_group_record,
    instance_record,
    snapshot_record,
    volume_record,
)
from mcloud.clouds.aws.records_data import (
    bucket_record,
    database_record,
    db_cluster_record,
    table_record,
)
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

__all__ = [
    "COST_METRIC",
    "GLOBAL",
    "GLOBAL_SCOPE",
    "READ_ACTIONS",
    "REGIONAL",
    "AwsAdapter",
    "_tags",
    "address_record",
    "auto_scaling_group_record",
    "bucket_record",
    "classic_load_balancer_record",
    "database_record",
    "db_cluster_record",
    "eks_cluster_record",
    "function_record",
    "hosted_zone_record",
    "instance_record",
    "load_balancer_record",
    "made",
    "nat_gateway_record",
    "node_group_record",
    "queue_record",
    "security_group_record",
    "snapshot_record",
    "subnet_record",
    "table_record",
    "topic_record",
    "translate_errors",
    "volume_record",
    "vpc_record",
]
