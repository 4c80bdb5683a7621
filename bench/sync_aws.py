"""Sync speed: our whole AWS sync against the bare boto3 calls that list the same things.

    python bench/sync_aws.py

moto's server (in its own process, mended as the emulators mend it: emulators.aws.moto_as_aws)
holds 2,000 EC2 instances with their volumes, plus buckets and VPCs, across 4 regions. In the
same run we time (1) the bare listing: boto3 calls for the same listings and regions (every
service the sync lists, most of them empty here), one after another, and (2) our sync of that
account into an empty inventory (then a second, unchanged one), on PostgreSQL when one
answers on 127.0.0.1:5432 and SQLite otherwise. Target: sync <= 1.3x the bare listing.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from bench._common import database_url, postgres_available, setup_django, table
from emulators.estate_aws import amazon_linux_image

ROOT = Path(__file__).resolve().parents[1]

REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
INSTANCES = 2_000
BUCKETS = 40
KEY = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    mended = (
        "import sys; from emulators.aws import moto_as_aws; moto_as_aws(); "
        "from moto.server import main; main(sys.argv[1:])"
    )
    proc = subprocess.Popen([sys.executable, "-c", mended, "-H", "127.0.0.1", "-p", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(100):
        try:
            requests.get(f"{url}/moto-api/", timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def seed(url: str) -> None:
    import boto3

    per_region = INSTANCES // len(REGIONS)
    for region in REGIONS:
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=url, **KEY)
        image = amazon_linux_image(ec2)
        for _ in range(per_region // 250):
            ec2.run_instances(ImageId=image, MinCount=250, MaxCount=250, InstanceType="t3.micro",
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                  {"Key": "Name", "Value": "bench"},
                                  {"Key": "env", "Value": "prod"}]}])  # fmt: skip
        ec2.create_vpc(CidrBlock="10.1.0.0/16")
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url, **KEY)
    for n in range(BUCKETS):
        s3.create_bucket(Bucket=f"bench-bucket-{n}")


# Each region's listings, as the sync asks for them: (service, operation, key, arguments).
REGIONAL = [
    ("ec2", "describe_instances", "Reservations", {}),
    ("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups", {}),
    ("ec2", "describe_volumes", "Volumes", {}),
    ("ec2", "describe_snapshots", "Snapshots", {"OwnerIds": ["self"]}),
    ("ec2", "describe_vpcs", "Vpcs", {}),
    ("ec2", "describe_subnets", "Subnets", {}),
    ("ec2", "describe_security_groups", "SecurityGroups", {}),
    ("elbv2", "describe_load_balancers", "LoadBalancers", {}),
    ("elb", "describe_load_balancers", "LoadBalancerDescriptions", {}),
    ("ec2", "describe_nat_gateways", "NatGateways", {}),
    ("rds", "describe_db_instances", "DBInstances", {}),
    ("rds", "describe_db_clusters", "DBClusters", {}),
    ("dynamodb", "list_tables", "TableNames", {}),
    ("eks", "list_clusters", "clusters", {}),
    ("lambda", "list_functions", "Functions", {}),
    ("sqs", "list_queues", "QueueUrls", {}),
    ("sns", "list_topics", "Topics", {}),
]


def bare_listing(url: str) -> tuple[float, int]:
    """The same listings with plain boto3, one region after another."""
    import boto3

    started = time.perf_counter()
    count = 0
    for region in REGIONS:
        clients: dict[str, Any] = {}
        for service, op, key, kwargs in REGIONAL:
            if service not in clients:
                clients[service] = boto3.client(service, region_name=region, endpoint_url=url,
                                                **KEY)  # fmt: skip
            client = clients[service]
            for page in client.get_paginator(op).paginate(**kwargs):
                items = page.get(key) or []
                count += sum(len(r["Instances"]) for r in items) if op == "describe_instances" \
                    else len(items)  # fmt: skip
        count += len(clients["ec2"].describe_addresses()["Addresses"])
    route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=url, **KEY)
    for page in route53.get_paginator("list_hosted_zones").paginate():
        count += len(page["HostedZones"])
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url, **KEY)
    for bucket in s3.list_buckets()["Buckets"]:
        s3.get_bucket_location(Bucket=bucket["Name"])
        with contextlib.suppress(s3.exceptions.ClientError):
            s3.get_bucket_tagging(Bucket=bucket["Name"])
        count += 1
    return time.perf_counter() - started, count


def main() -> None:
    backend = "postgresql" if postgres_available() else "sqlite"
    if backend == "sqlite":
        print("PostgreSQL does not answer on 127.0.0.1:5432: the inventory is on SQLite.")
    setup_django(database_url(backend, "bench_sync_aws"))
    from django.conf import settings

    from accounts.models import Organization
    from inventory.models import CloudAccount, Resource
    from inventory.services.sync import cloud_account_sync

    proc, url = start_moto()
    try:
        print(f"Seeding moto with {INSTANCES:,} instances in {len(REGIONS)} regions…")
        seed(url)
        settings.AWS_ENDPOINT_URL = url
        # moto serves a page of 500 instances in seconds, slower with every listing of the
        # four regions asking side by side: the bench measures throughput, not time-outs.
        settings.CLOUD_TIMEOUT = 120
        org = Organization.objects.create(name="Bench", slug="bench")
        account = CloudAccount.objects.create(
            organization=org, name="aws-bench", provider="aws",
            config={"auth_method": "keys", "access_key_id": "AKIABENCHBENCHBENCH0",
                    "regions": list(REGIONS)},
            secrets={"secret_access_key": "bench"},
        )  # fmt: skip
        bare, listed = bare_listing(url)
        started = time.perf_counter()
        first = cloud_account_sync(account=account)
        t_first = time.perf_counter() - started
        started = time.perf_counter()
        second = cloud_account_sync(account=account)
        t_second = time.perf_counter() - started
        bare_again, _ = bare_listing(url)
    finally:
        proc.kill()
    assert first.status == second.status == "succeeded", (first.error, first.scope_errors)
    rows = Resource.objects.filter(account=account).count()
    baseline = (bare + bare_again) / 2
    print(f"\nAWS sync of {rows:,} resources ({listed:,} listed by the bare calls), "
          f"inventory on {backend}\n")  # fmt: skip
    print(table([
        ("bare boto3 listing (mean of 2)", f"{baseline:.2f}", "1.00x"),
        ("our sync, empty inventory", f"{t_first:.2f}", f"{t_first / baseline:.2f}x"),
        ("our sync, nothing changed", f"{t_second:.2f}", f"{t_second / baseline:.2f}x"),
    ], ("run", "seconds", "vs bare")))  # fmt: skip
    print(
        f"\nCreated {first.created:,}, then {second.unchanged:,} unchanged. "
        "Target: sync <= 1.3x the bare listing."
    )
    print(json.dumps({"sync_vs_bare_listing": round(max(t_first, t_second) / baseline, 2),
                      "backend": backend, "resources": rows}))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
