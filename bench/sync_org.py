"""An AWS organization synced by a q2 cluster, against the bare listing of the same calls.

    python bench/sync_org.py [--members 20] [--regions 4] [--per-region 175] [--workers 2]
    python bench/sync_org.py --members 2 --regions 2 --per-region 10   # a smoke run

moto's server (in its own process, mended as the emulators mend it) holds an organization:
the management account and `--members` member accounts (some in an organizational unit), each
with the reader role `mcloud-reader`. In every member and each of `--regions` regions: the
sandbox's application estate (`emulators.estate_aws.region_estate`: every AWS type the sync
lists, attached as a team would build it) plus `--per-region` more instances (each with its
volume) in its subnets; in each member's global scope, S3 buckets and two Route 53 zones. At
the defaults that is 20 x 4 regions and over 30,000 resources. Seeding is timed apart and
not counted.

Then, in the same run:
1. the bare listing: a plain boto3 script making the same calls as our sync (the
   organization's accounts and their places, then in each account its assumed role, its
   regions, and per scope the same paginators with the same page sizes and the same detail
   calls; a session per account, as plain boto3 makes it, where our workers share parsed
   service models between syncs), with the same concurrency: `--workers` processes, each
   listing one account at a time, its scopes SYNC_CONCURRENCY at a time, each scope's
   listings and detail calls on pools of the sizes the adapter uses
   (`mcloud.clouds.aws.inventory`);
2. our sync: `manage.py qcluster` with `--workers` workers (PostgreSQL, the Redis broker) is
   asked for one sync of the organization's connection, which discovers the member accounts
   and queues each one's own sync (then their connection checks, which run after the last
   sync: the cluster is stopped 2 s after it); timed from the request to the end of the last
   member's sync, as the runs record it;
3. the bare listing again: the figure is the sync against the mean of the two.

The peak resident memory of each worker (VmHWM, read while the cluster runs) is printed;
the load average is printed before and after each leg, as the machine may be shared.

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379; uses its own database
(mcloud_sync_org) and Redis database (BENCH_REDIS_URL, default db 11, flushed first). Target:
sync at most 1.2x the bare listing, peak worker memory under 500 MB. The last line is JSON:
{"sync_vs_bare_listing", "resources", "peak_rss_mb", ...}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, database_url, postgres_available, table
from bench.sync_aws import start_moto

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
ALL_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
# moto without authentication: an unknown key is the management account (moto's default),
# and keys from an assumed role act in the role's account.
MANAGEMENT_KEY = ("AKIABENCHMANAGEMENT0", "bench-management-secret")
READER_ROLE = "mcloud-reader"
BUCKETS_PER_MEMBER = 5
# As in production; the bench measures throughput, and moto answers slowly under this load.
CLOUD_TIMEOUT, CLOUD_RETRIES = 120.0, 4
ENV = {
    "DJANGO_SETTINGS_MODULE": "mcloud.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
    "FIELD_ENCRYPTION_KEYS": "JoSLCvFRg3bVmLKdHV2TJhkkD8vD4V9E5ZQUWRTVZQY=",
    "Q_SYNC": "false",
    "REDIS_URL": REDIS_URL,
    "STATIC_MANIFEST": "false",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SANDBOX_ENABLED": "false",
    "TASK_TIMEOUT": "3600",
    "CLOUD_TIMEOUT": str(CLOUD_TIMEOUT),
    "CLOUD_RETRIES": str(CLOUD_RETRIES),
}
EVERY_TYPE = {
    "vm", "vm_group", "disk", "snapshot", "storage", "network", "subnet", "firewall",
    "load_balancer", "ip_address", "nat_gateway", "database", "nosql", "kubernetes",
    "function", "queue", "topic", "dns_zone",
}  # fmt: skip


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def kill_group(proc: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# --- seeding -----------------------------------------------------------------------------
class MemberClients:
    """Clients acting in one member account, through the role AWS Organizations makes in
    every account it creates; shaped as `emulators.estate_aws` takes an emulator."""

    def __init__(self, url: str, member_id: str) -> None:
        import boto3

        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id=MANAGEMENT_KEY[0],
                           aws_secret_access_key=MANAGEMENT_KEY[1])  # fmt: skip
        assumed = sts.assume_role(
            RoleArn=f"arn:aws:iam::{member_id}:role/OrganizationAccountAccessRole",
            RoleSessionName="seed",
        )["Credentials"]
        self.session = boto3.Session(
            aws_access_key_id=assumed["AccessKeyId"],
            aws_secret_access_key=assumed["SecretAccessKey"],
            aws_session_token=assumed["SessionToken"],
        )
        self.url = url
        self._lock = threading.Lock()

    def client(self, service: str, region: str = "us-east-1") -> Any:
        with self._lock:
            return self.session.client(service, region_name=region, endpoint_url=self.url)


def seed_organization(url: str, members: int) -> tuple[list[str], str]:
    """The organization: its member accounts (every third in a unit), their ids."""
    import boto3

    org = boto3.client("organizations", region_name="us-east-1", endpoint_url=url,
                       aws_access_key_id=MANAGEMENT_KEY[0],
                       aws_secret_access_key=MANAGEMENT_KEY[1])  # fmt: skip
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="Workloads")
    unit_id = unit["OrganizationalUnit"]["Id"]
    ids = []
    for n in range(members):
        created = org.create_account(Email=f"team-{n:02d}@example.com", AccountName=f"team-{n:02d}")
        member_id = created["CreateAccountStatus"]["AccountId"]
        if n % 3 == 0:
            org.move_account(AccountId=member_id, SourceParentId=root, DestinationParentId=unit_id)
        ids.append(member_id)
    return ids, root


def seed_member(url: str, member_id: str, n: int, regions: list[str], per_region: int) -> int:
    """One member's estate (see the module docstring): the instances it holds."""
    from emulators.estate_aws import hosted_zones, region_estate

    clients = MemberClients(url, member_id)
    iam = clients.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}  # fmt: skip
    iam.create_role(RoleName=READER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    instances = 0
    first_vpc = ""
    for index, region in enumerate(regions):
        made = region_estate(clients, region, index=index)  # type: ignore[arg-type]
        first_vpc = first_vpc or made["vpc"]
        instances += len(made["instances"])
        ec2 = clients.client("ec2", region)
        image = ec2.describe_instances(InstanceIds=made["instances"][:1])["Reservations"][0][
            "Instances"][0]["ImageId"]  # fmt: skip
        left, batch_no = per_region, 0
        while left > 0:
            batch = min(left, 250)
            ec2.run_instances(
                ImageId=image, MinCount=batch, MaxCount=batch, InstanceType="t3.micro",
                SubnetId=made["subnets"][batch_no % 2], SecurityGroupIds=[made["web_sg"]],
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": "Name", "Value": f"worker-{region}"},
                    {"Key": "team", "Value": f"team-{n:02d}"},
                    {"Key": "env", "Value": "prod" if batch_no % 2 == 0 else "staging"}]}],
            )  # fmt: skip
            left -= batch
            batch_no += 1
            instances += batch
    hosted_zones(clients, f"team-{n:02d}.example", private_vpc=(regions[0], first_vpc))  # type: ignore[arg-type]
    s3 = clients.client("s3")
    for b in range(BUCKETS_PER_MEMBER):
        name = f"bench-{member_id}-{b}"
        s3.create_bucket(Bucket=name)
        if b % 2 == 0:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [
                {"Key": "team", "Value": f"team-{n:02d}"}]})  # fmt: skip
    return instances


def seed(url: str, members: int, regions: list[str], per_region: int) -> list[str]:
    ids, _ = seed_organization(url, members)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(seed_member, url, member_id, n, regions, per_region)
                   for n, member_id in enumerate(ids)]  # fmt: skip
        for future in futures:
            future.result()
    return ids


# --- the bare listing ----------------------------------------------------------------------
class BareScope:
    """One scope of one account: its clients, paging as the adapter pages, a detail pool."""

    def __init__(self, session: Any, lock: threading.Lock, url: str, region: str,
                 details: ThreadPoolExecutor) -> None:  # fmt: skip
        self.session, self.lock, self.url, self.region = session, lock, url, region
        self.details = details
        self.clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._clients_lock:
            if service not in self.clients:
                with self.lock:  # a boto3 session is not thread-safe
                    self.clients[service] = self.session.client(
                        service, region_name=self.region, endpoint_url=self.url, config=config()
                    )
            return self.clients[service]

    def pages(self, client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
        from mcloud.clouds.aws.scope import PAGE_LIMITS  # the page sizes the sync asks for

        paging = {"PageSize": PAGE_LIMITS[operation][1]} if operation in PAGE_LIMITS else {}
        out: list[Any] = []
        for page in client.get_paginator(operation).paginate(PaginationConfig=paging, **kwargs):
            out.extend(page.get(key) or [])
        return out

    def each(self, call: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        return list(self.details.map(call, items))


def config() -> Any:
    from botocore.config import Config

    return Config(connect_timeout=CLOUD_TIMEOUT, read_timeout=CLOUD_TIMEOUT,
                  retries={"mode": "adaptive", "max_attempts": CLOUD_RETRIES + 1},
                  max_pool_connections=10)  # fmt: skip


def _simple(service: str, operation: str, key: str, **kwargs: Any) -> Callable[..., int]:
    def listing(scope: BareScope, identity: Callable[[], Any]) -> int:
        return len(scope.pages(scope.client(service), operation, key, **kwargs))

    return listing


def _instances(scope: BareScope, identity: Callable[[], Any]) -> int:
    reservations = scope.pages(scope.client("ec2"), "describe_instances", "Reservations")
    return sum(len(r.get("Instances") or []) for r in reservations)


def _load_balancers(scope: BareScope, identity: Callable[[], Any]) -> int:
    elbv2 = scope.client("elbv2")
    balancers = scope.pages(elbv2, "describe_load_balancers", "LoadBalancers")
    if not balancers:
        return 0
    groups = scope.pages(elbv2, "describe_target_groups", "TargetGroups")
    scope.each(lambda g: g.get("TargetType") != "ip" and elbv2.describe_target_health(
        TargetGroupArn=g["TargetGroupArn"]), groups)  # fmt: skip
    arns = [b["LoadBalancerArn"] for b in balancers]
    for start in range(0, len(arns), 20):
        elbv2.describe_tags(ResourceArns=arns[start : start + 20])
    return len(balancers)


def _classic_load_balancers(scope: BareScope, identity: Callable[[], Any]) -> int:
    elb = scope.client("elb")
    balancers = scope.pages(elb, "describe_load_balancers", "LoadBalancerDescriptions")
    if not balancers:
        return 0
    identity()
    names = [b["LoadBalancerName"] for b in balancers]
    for start in range(0, len(names), 20):
        elb.describe_tags(LoadBalancerNames=names[start : start + 20])
    return len(balancers)


def _addresses(scope: BareScope, identity: Callable[[], Any]) -> int:
    return len(scope.client("ec2").describe_addresses().get("Addresses") or [])


def _tables(scope: BareScope, identity: Callable[[], Any]) -> int:
    dynamodb = scope.client("dynamodb")

    def table_(name: str) -> None:
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        for _ in dynamodb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn):
            pass

    return len(scope.each(table_, scope.pages(dynamodb, "list_tables", "TableNames")))


def _kubernetes(scope: BareScope, identity: Callable[[], Any]) -> int:
    eks = scope.client("eks")

    def cluster(name: str) -> int:
        eks.describe_cluster(name=name)
        groups = scope.pages(eks, "list_nodegroups", "nodegroups", clusterName=name)
        for group in groups:
            eks.describe_nodegroup(clusterName=name, nodegroupName=group)
        return 1 + len(groups)

    return sum(scope.each(cluster, scope.pages(eks, "list_clusters", "clusters")))


def _functions(scope: BareScope, identity: Callable[[], Any]) -> int:
    functions = scope.client("lambda")
    listed = scope.pages(functions, "list_functions", "Functions")
    return len(scope.each(lambda f: functions.list_tags(Resource=f["FunctionArn"]), listed))


def _queues(scope: BareScope, identity: Callable[[], Any]) -> int:
    sqs = scope.client("sqs")

    def queue(url: str) -> None:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        sqs.list_queue_tags(QueueUrl=url)

    return len(scope.each(queue, scope.pages(sqs, "list_queues", "QueueUrls")))


def _topics(scope: BareScope, identity: Callable[[], Any]) -> int:
    sns = scope.client("sns")
    arns = [t["TopicArn"] for t in scope.pages(sns, "list_topics", "Topics")]
    if not arns:
        return 0
    scope.pages(sns, "list_subscriptions", "Subscriptions")

    def topic(arn: str) -> None:
        sns.get_topic_attributes(TopicArn=arn)
        sns.list_tags_for_resource(ResourceArn=arn)

    return len(scope.each(topic, arns))


def _buckets(scope: BareScope, identity: Callable[[], Any]) -> int:
    s3 = scope.client("s3")

    def bucket(item: dict[str, Any]) -> None:
        s3.get_bucket_location(Bucket=item["Name"])
        with suppress(s3.exceptions.ClientError):  # NoSuchTagSet
            s3.get_bucket_tagging(Bucket=item["Name"])

    return len(scope.each(bucket, scope.pages(s3, "list_buckets", "Buckets")))


def _hosted_zones(scope: BareScope, identity: Callable[[], Any]) -> int:
    route53 = scope.client("route53")
    zones = scope.pages(route53, "list_hosted_zones", "HostedZones")
    if not zones:
        return 0
    ids = [z["Id"].rsplit("/", 1)[-1] for z in zones]
    for start in range(0, len(ids), 10):
        route53.list_tags_for_resources(
            ResourceType="hostedzone", ResourceIds=ids[start : start + 10]
        )
    scope.each(lambda z: z.get("Config", {}).get("PrivateZone") and route53.get_hosted_zone(
        Id=z["Id"].rsplit("/", 1)[-1]), zones)  # fmt: skip
    return len(zones)


# The adapter's listings, in its order (mcloud.clouds.aws.inventory.REGIONAL and GLOBAL).
BARE_REGIONAL: tuple[Callable[..., int], ...] = (
    _instances,
    _simple("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups"),
    _simple("ec2", "describe_volumes", "Volumes"),
    _simple("ec2", "describe_snapshots", "Snapshots", OwnerIds=["self"]),
    _simple("ec2", "describe_vpcs", "Vpcs"),
    _simple("ec2", "describe_subnets", "Subnets"),
    _simple("ec2", "describe_security_groups", "SecurityGroups"),
    _load_balancers,
    _classic_load_balancers,
    _addresses,
    _simple("ec2", "describe_nat_gateways", "NatGateways"),
    _simple("rds", "describe_db_instances", "DBInstances"),
    _simple("rds", "describe_db_clusters", "DBClusters"),
    _tables,
    _kubernetes,
    _functions,
    _queues,
    _topics,
)
BARE_GLOBAL: tuple[Callable[..., int], ...] = (_buckets, _hosted_zones)


def bare_scope(session: Any, lock: threading.Lock, url: str, scope: str,
               identity: Callable[[], Any]) -> int:  # fmt: skip
    from mcloud.clouds.aws.inventory import DETAILS_AT_ONCE, LISTINGS_AT_ONCE

    listers = BARE_GLOBAL if scope == "global" else BARE_REGIONAL
    region = "us-east-1" if scope == "global" else scope
    with (
        ThreadPoolExecutor(DETAILS_AT_ONCE) as details,
        ThreadPoolExecutor(LISTINGS_AT_ONCE) as pool,
    ):
        ctx = BareScope(session, lock, url, region, details)
        return sum(f.result() for f in [pool.submit(lister, ctx, identity) for lister in listers])


def bare_account(job: tuple[str, str | None, list[str], int]) -> int:
    """Everything one account's sync lists, with plain boto3: (its items, as listed)."""
    import boto3

    url, member_id, regions, scopes_at_once = job
    session = boto3.Session(aws_access_key_id=MANAGEMENT_KEY[0],
                            aws_secret_access_key=MANAGEMENT_KEY[1])  # fmt: skip
    if member_id:
        sts = session.client("sts", region_name="us-east-1", endpoint_url=url, config=config())
        role = f"arn:aws:iam::{member_id}:role/{READER_ROLE}"
        assumed = sts.assume_role(RoleArn=role, RoleSessionName="mcloud", ExternalId="bench")[
            "Credentials"
        ]
        session = boto3.Session(
            aws_access_key_id=assumed["AccessKeyId"],
            aws_secret_access_key=assumed["SecretAccessKey"],
            aws_session_token=assumed["SessionToken"],
        )
    lock = threading.Lock()
    with lock:
        ec2 = session.client("ec2", region_name="us-east-1", endpoint_url=url, config=config())
    enabled = {r["RegionName"] for r in ec2.describe_regions(AllRegions=False)["Regions"]}
    scopes = [*(r for r in regions if r in enabled), "global"]
    asked: list[Any] = []

    def identity() -> Any:  # STS GetCallerIdentity, once per account, as the sync asks it
        with lock:
            if not asked:
                sts = session.client("sts", region_name="us-east-1", endpoint_url=url,
                                     config=config())  # fmt: skip
                asked.append(sts.get_caller_identity())
            return asked[0]

    with ThreadPoolExecutor(max(1, min(scopes_at_once, len(scopes)))) as pool:
        return sum(pool.map(lambda s: bare_scope(session, lock, url, s, identity), scopes))


def bare_organization(url: str) -> list[str]:
    """Discovery's calls: who we are, the organization's accounts and each one's place."""
    import boto3

    kwargs = {"region_name": "us-east-1", "endpoint_url": url, "config": config(),
              "aws_access_key_id": MANAGEMENT_KEY[0],
              "aws_secret_access_key": MANAGEMENT_KEY[1]}  # fmt: skip
    own = boto3.client("sts", **kwargs).get_caller_identity()["Account"]
    org = boto3.client("organizations", **kwargs)
    units: set[str] = set()
    members = []
    for page in org.get_paginator("list_accounts").paginate():
        for item in page["Accounts"]:
            if item["Id"] == own:
                continue
            members.append(item["Id"])
            child = item["Id"]
            for _ in range(6):
                parents = org.list_parents(ChildId=child)["Parents"]
                if not parents or parents[0]["Type"] == "ROOT":
                    break
                child = parents[0]["Id"]
                if child not in units:
                    org.describe_organizational_unit(OrganizationalUnitId=child)
                    units.add(child)
    return members


def _warm() -> None:
    import boto3  # noqa: F401 - what a warm worker has imported

    from mcloud.clouds.aws import inventory  # noqa: F401


def bare_listing(pool: Any, url: str, regions: list[str], scopes_at_once: int) -> tuple[float, int]:
    """The organization's listing, then its accounts `workers` at a time (one per process)."""
    started = time.perf_counter()
    members = bare_organization(url)
    jobs = [(url, member_id, regions, scopes_at_once) for member_id in [None, *members]]
    listed = sum(pool.imap_unordered(bare_account, jobs, chunksize=1))
    return time.perf_counter() - started, listed


# --- our sync, through the cluster ---------------------------------------------------------
class WorkerMemory:
    """The peak resident memory (VmHWM) of every worker the cluster reports, read every half
    second while it runs (a worker's high-water mark survives between readings)."""

    def __init__(self, cluster: subprocess.Popen) -> None:
        self.cluster = cluster
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def workers(self) -> list[int]:
        from django_q.status import Stat

        with suppress(Exception):  # the broker answers from the cluster's start
            return [pid for stat in Stat.get_all() for pid in stat.workers]
        return []

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self.workers():
                with suppress(OSError):
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            kb = int(line.split()[1])
                            self.peaks[pid] = max(self.peaks.get(pid, 0), kb)

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return max(self.peaks.values(), default=0) / 1024


def sync_through_cluster(args: argparse.Namespace, url: str, regions: list[str],
                         expected: int, log: Path) -> dict[str, Any]:  # fmt: skip
    from django.db.models import Max

    from accounts.models import Organization
    from inventory.models import CloudAccount, SyncRun
    from inventory.services.sync import sync_run_request

    org = Organization.objects.create(name="Bench", slug="bench")
    connection = CloudAccount.objects.create(
        organization=org, name="aws-org", provider="aws",
        config={"auth_method": "keys", "access_key_id": MANAGEMENT_KEY[0],
                "regions": regions, "discover_members": True,
                "member_role_name": READER_ROLE},
        secrets={"secret_access_key": MANAGEMENT_KEY[1]},
    )  # fmt: skip
    with ExitStack() as stack:
        output = stack.enter_context(log.open("wb"))
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=dict(os.environ),
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        stack.callback(kill_group, cluster)
        memory = stack.enter_context(WorkerMemory(cluster))
        deadline = time.monotonic() + 120
        while len(memory.workers()) < args.workers:  # the workers are up, Django loaded
            if cluster.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the cluster did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        time.sleep(1)
        print(f"load average before our sync: {load()}", flush=True)
        began = time.time()
        run, _ = sync_run_request(account=connection, trigger=SyncRun.Trigger.SCHEDULED)
        runs = SyncRun.objects.filter(organization=org)
        last = ""
        while True:
            members = CloudAccount.objects.filter(parent=connection).count()
            final = runs.filter(status__in=SyncRun.FINAL)
            done = final.exclude(lease_token="").filter(account__parent=connection).count()
            line = (f"  {time.time() - began:6.0f} s: {members} members found, "
                    f"{done} synced, {final.filter(status='failed').count()} failed")  # fmt: skip
            if line != last:
                print(line, flush=True)
                last = line
            if (
                final.filter(pk=run.pk).exists()
                and members == expected
                and (
                    final.filter(account__parent=connection).values("account").distinct().count()
                    == expected
                )
            ):
                break
            if cluster.poll() is not None:
                raise SystemExit(f"the cluster died:\n{log.read_text()[-3000:]}")
            if time.time() - began > args.timeout:
                raise SystemExit(f"not finished after {args.timeout} s")
            time.sleep(1)
        ended = runs.aggregate(end=Max("finished_at"))["end"].timestamp()
        time.sleep(2)  # the last worker's completions (drift) end; its memory is read
        print(f"load average after our sync: {load()}", flush=True)
    failed = list(runs.filter(status="failed").values_list("account__name", "error")[:5])
    partial = list(runs.filter(status="partial").values_list("account__name", "scope_errors")[:5])
    return {"seconds": ended - began, "org": org, "connection": connection,
            "failed": failed, "partial": partial, "peak_rss_mb": memory.peak_mb,
            "workers_seen": len(memory.peaks)}  # fmt: skip


def setup(url: str, workers: int, moto_url: str) -> None:
    os.environ.update({**ENV, "DATABASE_URL": url, "Q_WORKERS": str(workers),
                       "AWS_ENDPOINT_URL": moto_url})  # fmt: skip
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--regions", type=int, default=4, choices=range(1, len(ALL_REGIONS) + 1))
    parser.add_argument("--per-region", type=int, default=175,
                        help="instances per member and region beyond the estate")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not postgres_available():
        raise SystemExit("bench/sync_org.py needs PostgreSQL on 127.0.0.1:5432")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as error:
        raise SystemExit(f"bench/sync_org.py needs Redis ({REDIS_URL}): {error}") from error
    regions = list(ALL_REGIONS[: args.regions])
    print(f"load average at the start: {load()}", flush=True)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        moto, url = start_moto()
        stack.callback(moto.kill)
        setup(database_url("postgresql", "mcloud_sync_org"), args.workers, url)
        from django.conf import settings

        from inventory.models import Resource

        scopes_at_once = settings.SYNC_CONCURRENCY
        started = time.perf_counter()
        print(f"Seeding {args.members} member accounts x {len(regions)} regions "
              f"(+{args.per_region} instances each)…", flush=True)  # fmt: skip
        seed(url, args.members, regions, args.per_region)
        seeded = time.perf_counter() - started
        print(f"seeded in {seeded:.0f} s (not counted)", flush=True)

        context = multiprocessing.get_context("spawn")
        pool = stack.enter_context(context.Pool(args.workers, initializer=_warm))
        pool.map(int, range(args.workers))  # the processes are up
        print(f"load average before the bare listing: {load()}", flush=True)
        bare_1, listed = bare_listing(pool, url, regions, scopes_at_once)
        print(f"bare listing: {bare_1:.1f} s, {listed:,} items; load average {load()}",
              flush=True)  # fmt: skip
        ours = sync_through_cluster(args, url, regions, args.members, Path(tmp) / "qcluster.log")
        print(f"our sync: {ours['seconds']:.1f} s", flush=True)
        print(f"load average before the second bare listing: {load()}", flush=True)
        bare_2, _ = bare_listing(pool, url, regions, scopes_at_once)
        print(f"bare listing again: {bare_2:.1f} s; load average {load()}", flush=True)
        org = ours["org"]
        live = Resource.objects.filter(organization=org, deleted_at__isnull=True)
        rows = live.count()
        by_member: dict[int, set[str]] = {}
        for account_id, kind in (
            live.filter(account__parent__isnull=False).values_list("account_id", "type").distinct()
        ):
            by_member.setdefault(account_id, set()).add(kind)
        lacking = {a: sorted(EVERY_TYPE - kinds) for a, kinds in by_member.items()
                   if EVERY_TYPE - kinds}  # fmt: skip
    baseline = (bare_1 + bare_2) / 2
    ratio = ours["seconds"] / baseline
    print(f"\nAn organization of {args.members} member accounts x {len(regions)} regions: "
          f"{rows:,} resources in the inventory ({listed:,} items listed by the bare calls); "
          f"PostgreSQL, Redis, {args.workers} workers\n")  # fmt: skip
    print(table([
        ("bare boto3 listing (mean of 2)", f"{baseline:.1f}", "1.00x"),
        ("our sync (q2 cluster)", f"{ours['seconds']:.1f}", f"{ratio:.2f}x"),
    ], ("run", "seconds", "vs bare")))  # fmt: skip
    print(
        f"\nseeding {seeded:.0f} s (not counted); bare runs {bare_1:.1f} s and {bare_2:.1f} s; "
        f"peak worker memory {ours['peak_rss_mb']:.0f} MB over {ours['workers_seen']} workers"
    )
    if len(by_member) != args.members or lacking:
        print(f"members with resources: {len(by_member)}; lacking types: {lacking}")
    if ours["failed"] or ours["partial"]:
        print(f"failed runs: {ours['failed']}; partial runs: {ours['partial']}")
    print("Target: sync <= 1.2x the bare listing; peak worker memory < 500 MB.")
    print(json.dumps({
        "sync_vs_bare_listing": round(ratio, 2), "resources": rows,
        "peak_rss_mb": round(ours["peak_rss_mb"]), "sync_s": round(ours["seconds"], 1),
        "bare_s": round(baseline, 1), "seed_s": round(seeded), "members": args.members,
        "regions": len(regions), "workers": args.workers, "load_average": load(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
