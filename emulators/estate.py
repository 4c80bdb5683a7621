"""The sandbox estate: a plausible company's clouds, built into the emulators.

Several AWS regions, two Azure subscriptions and two GCP projects, with a few hundred
resources of every type, tags, and a mix of running and stopped machines. The same seed
builds the same estate (names, shapes, states; moto picks its own instance ids). `drift()`
changes it a little, as real estates change, so that syncs have something to report.

The waste finder (billing.waste) has examples on each provider: spare disks and addresses,
and in one scope each an idle load balancer and an old snapshot of a deleted disk
(`idle_load_balancer`, `orphan_snapshot` in estate_aws, estate_azure and estate_gcp). AWS
and GCP say when a VM stopped, so one already-stopped VM each is dated two months back
(`long_stopped_vm`); Azure does not, so its stopped VMs count only after a week from when
a sync first saw them stopped.

Three months of daily costs (COST_DAYS, up to yesterday) follow the estate: what runs where,
at list prices, quieter at weekends, growing slowly, with some noise, and one spike for the
anomaly check to find (SPIKE_DAYS_AGO: AWS data transfer in us-east-1). AWS's go to the Cost
Explorer proxy (moto cannot answer arbitrary periods; it answers resource-level queries too),
Azure's to the fake's Cost Management, GCP's to a detailed (resource-level) billing export
table in BigQuery (GCP_BILLING_TABLE). Machines, disks, databases and buckets are billed by
resource id in all three; data transfer and monitoring name none. Costs carry the
allocation tags (ALLOCATION_TAGS: team, env) of what they are for; network, disk and
monitoring costs carry none, so each account has an untagged share.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from emulators import estate_aws, estate_azure, estate_gcp
from emulators.aws import AwsEmulator
from emulators.aws_costs import CostExplorerProxy
from emulators.azure import AzureFake
from emulators.gcp import GcpFake

AWS_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
AZURE_TENANT = "5a9b2c4d-1e3f-4a5b-8c7d-0e1f2a3b4c5d"
AZURE_CLIENT = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
AZURE_SUBSCRIPTIONS = {
    "3f2e1d0c-aaaa-4bbb-8ccc-000000000001": "Production",
    "3f2e1d0c-aaaa-4bbb-8ccc-000000000002": "Staging",
}
AZURE_LOCATIONS = ("westeurope", "northeurope", "eastus")
GCP_PROJECTS = ("acme-web-prod", "acme-data-lake")
GCP_ZONES = ("us-central1-a", "us-central1-b", "europe-west1-b", "asia-east1-a")
ENVS = ("prod", "staging", "dev")
TEAMS = ("web", "data", "platform", "payments")
AWS_TYPES = ("t3.micro", "t3.small", "t3.medium", "m5.large", "c5.large")
AZURE_SIZES = ("Standard_B1s", "Standard_B2s", "Standard_D2s_v3", "Standard_D4s_v3")
GCP_TYPES = ("e2-small", "e2-medium", "e2-standard-2", "n2-standard-4")
COST_DAYS = 92  # about three months, up to yesterday
# A detailed (resource-level) export: its rows name their resources.
GCP_BILLING_TABLE = "acme-web-prod.billing.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"


@dataclass
class SandboxCredentials:
    """What the app needs to reach the sandbox: endpoints and credentials per provider."""

    aws: dict[str, Any] = field(default_factory=dict)
    azure: dict[str, Any] = field(default_factory=dict)
    gcp: dict[str, Any] = field(default_factory=dict)


def build(
    aws: AwsEmulator,
    azure: AzureFake,
    gcp: GcpFake,
    seed: int = 2026,
    *,
    aws_costs: CostExplorerProxy | None = None,
    today: dt.date | None = None,
) -> SandboxCredentials:
    """The estate, and its costs up to the day before `today` (UTC). AWS costs need the Cost
    Explorer proxy that fronts moto; without one there are none."""
    rng = random.Random(seed)
    credentials = SandboxCredentials(
        aws=build_aws(aws, rng), azure=build_azure(azure, rng), gcp=build_gcp(gcp, rng)
    )
    days = cost_days(today)
    # A generator of its own, so that costs leave the estate's names and shapes as they were.
    cost_rng = random.Random(f"costs-{seed}")
    if aws_costs is not None:
        aws_costs.add_costs(aws_cost_rows(aws, cost_rng, days))
    for subscription_id, rows in azure_cost_rows(azure, cost_rng, days).items():
        azure.add_costs(subscription_id, rows)
    gcp.add_billing_rows(GCP_BILLING_TABLE, gcp_billing_rows(gcp, cost_rng, days))
    return credentials


# --- AWS ---------------------------------------------------------------------------------
def build_aws(aws: AwsEmulator, rng: random.Random) -> dict[str, Any]:
    for region in AWS_REGIONS:
        ec2 = aws.client("ec2", region)
        image = estate_aws.amazon_linux_image(ec2)
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc], Tags=_aws_tags(Name=f"main-{region}", env="prod"))
        for n in range(12):
            env, team = ENVS[n % 3], TEAMS[n % 4]
            count = rng.randint(3, 6)
            ids = [i["InstanceId"] for i in ec2.run_instances(
                ImageId=image, MinCount=count, MaxCount=count,
                InstanceType=rng.choice(AWS_TYPES),
                TagSpecifications=[{"ResourceType": "instance", "Tags": _aws_tags(
                    Name=f"{team}-{env}-{n}", env=env, team=team)}],
            )["Instances"]]  # fmt: skip
            if env == "dev":
                ec2.stop_instances(InstanceIds=ids[: count // 2])
        for n in range(8):
            volume = ec2.create_volume(
                Size=rng.choice((20, 50, 100, 500)), AvailabilityZone=f"{region}a", VolumeType="gp3"
            )
            ec2.create_tags(
                Resources=[volume["VolumeId"]],
                Tags=_aws_tags(Name=f"backup-{n}", team=rng.choice(TEAMS)),
            )
        rds = aws.client("rds", region)
        for engine in ("postgres", "mysql"):
            rds.create_db_instance(
                DBInstanceIdentifier=f"{engine}-{region}", DBInstanceClass="db.t3.micro",
                Engine=engine, MasterUsername="sandbox_admin",
                MasterUserPassword="sandbox-not-a-real-password", AllocatedStorage=20,
                Tags=_aws_tags(env="prod", team="data"),
            )  # fmt: skip
    for n, (name, region) in enumerate(
        [("acme-logs", "us-east-1"), ("acme-backups", "eu-west-1"), ("acme-assets", "us-east-1"),
         ("acme-ml-data", "ap-southeast-2"), ("acme-terraform-state", "eu-west-1"),
         ("acme-exports", "eu-west-1")]
    ):  # fmt: skip
        _bucket(aws, name, region, team=TEAMS[n % 4])
    estate_aws.build(aws, AWS_REGIONS)  # networks, load balancers, ... (emulators/estate_aws.py)
    key_id, secret = aws.create_user_key("sandbox-reader")
    return {"endpoint": aws.url, "access_key_id": key_id, "secret_access_key": secret,
            "regions": list(AWS_REGIONS)}  # fmt: skip


def _aws_tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _bucket(aws: AwsEmulator, name: str, region: str, **tags: str) -> None:
    s3 = aws.client("s3", region)
    extra = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}  # fmt: skip
    s3.create_bucket(Bucket=name, **extra)
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _aws_tags(**tags)})


# --- Azure -------------------------------------------------------------------------------
def build_azure(azure: AzureFake, rng: random.Random) -> dict[str, Any]:
    for index, (sub, display) in enumerate(AZURE_SUBSCRIPTIONS.items()):
        azure.add_subscription(sub, display, AZURE_TENANT)
        env = "prod" if index == 0 else "staging"
        for n in range(22):
            team, location = TEAMS[n % 4], AZURE_LOCATIONS[n % 3]
            group = f"rg-{team}-{env}"
            vm = azure.add_vm(sub, name=f"{team}-{env}-vm{n:02d}", resource_group=group,
                              location=location, size=rng.choice(AZURE_SIZES),
                              power_state="deallocated" if n % 7 == 3 else "running",
                              tags={"env": env, "team": team})  # fmt: skip
            azure.add_disk(sub, name=f"{team}-{env}-vm{n:02d}-osdisk", resource_group=group,
                           location=location, size_gb=128, managed_by=vm["id"],
                           tags={"env": env})  # fmt: skip
        for n in range(4):
            azure.add_disk(
                sub,
                name=f"spare-disk-{n}",
                resource_group="rg-platform-" + env,
                location="westeurope",
                size_gb=rng.choice((64, 256, 1024)),
            )
            azure.add_storage_account(
                sub,
                name=f"acme{env}store{n}",
                resource_group="rg-data-" + env,
                location=AZURE_LOCATIONS[n % 3],
                tags={"team": "data"},
            )
        for n, location in enumerate(AZURE_LOCATIONS):
            azure.add_virtual_network(
                sub,
                name=f"vnet-{env}-{location}",
                resource_group="rg-platform-" + env,
                location=location,
                address_prefixes=(f"10.{index * 10 + n}.0.0/16",),
                subnets=(("default", f"10.{index * 10 + n}.0.0/24"),),
            )
        made = estate_azure.build_types(azure, sub, env, index)
        if env == "staging":  # the waste finder's examples
            estate_azure.idle_load_balancer(azure, sub, env, made["subnets"]["app"])
            estate_azure.orphan_snapshot(azure, sub, env)
    secret = f"sandbox-{rng.getrandbits(64):016x}"
    azure.add_app(AZURE_TENANT, AZURE_CLIENT, secret, list(AZURE_SUBSCRIPTIONS))
    return {"arm_endpoint": azure.base_url, "authority": azure.authority,
            "ca_bundle": azure.ca_bundle, "tenant_id": AZURE_TENANT, "client_id": AZURE_CLIENT,
            "client_secret": secret, "subscription_ids": list(AZURE_SUBSCRIPTIONS)}  # fmt: skip


# --- GCP ---------------------------------------------------------------------------------
def build_gcp(gcp: GcpFake, rng: random.Random) -> dict[str, Any]:
    for p_index, project in enumerate(GCP_PROJECTS):
        gcp.add_project(project)
        env = "prod" if p_index == 0 else "data"
        for n in range(26):
            zone, team = GCP_ZONES[n % 4], TEAMS[n % 4]
            name = f"{team}-{env}-{n:02d}"
            gcp.add_instance(
                project,
                zone=zone,
                name=name,
                machine_type=rng.choice(GCP_TYPES),
                status="TERMINATED" if n % 6 == 5 else "RUNNING",
                labels={"env": env, "team": team},
                external_ip=f"34.{p_index}.{n}.10" if n % 5 == 0 else None,
                boot_disk=f"{name}-boot",
            )
            gcp.add_disk(project, zone=zone, name=f"{name}-boot", size_gb=20, users=(name,))
        for n in range(4):
            gcp.add_disk(
                project,
                zone=GCP_ZONES[n],
                name=f"scratch-{n}",
                size_gb=375,
                disk_type="pd-ssd",
                labels={"team": "data"},
            )
            gcp.add_bucket(
                project,
                name=f"{project}-bucket-{n}",
                location=("US", "EU", "US-CENTRAL1", "ASIA")[n],
                labels={"team": TEAMS[n]},
            )
        for name in ("default", f"{env}-vpc"):
            gcp.add_network(project, name=name, auto_create_subnetworks=name == "default")
        estate_gcp.build_project(gcp, project, env, TEAMS)
        if p_index == 0:  # the waste finder's examples
            estate_gcp.idle_load_balancer(gcp, project, env)
            estate_gcp.orphan_snapshot(gcp, project, env)
            estate_gcp.long_stopped_vm(gcp, project)
    key = gcp.add_service_account(
        GCP_PROJECTS[0],
        email="mcloud-sandbox@acme-web-prod.iam.gserviceaccount.com",
        projects=list(GCP_PROJECTS),
    )
    return {"endpoint": gcp.url, "key": key, "project_ids": list(GCP_PROJECTS),
            "billing_table": GCP_BILLING_TABLE}  # fmt: skip


# --- costs -------------------------------------------------------------------------------
# List prices (USD): per hour for machines, per GB-month for storage. Enough for plausible sums.
AWS_HOURLY = {"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "m5.large": 0.096,
              "c5.large": 0.085, "db.t3.micro": 0.017}  # fmt: skip
AWS_REGION_PRICE = {"us-east-1": 1.0, "eu-west-1": 1.1, "ap-southeast-2": 1.26}
AZURE_HOURLY = {"Standard_B1s": 0.0104, "Standard_B2s": 0.0416, "Standard_D2s_v3": 0.096,
                "Standard_D4s_v3": 0.192}  # fmt: skip
AZURE_PREMIUM_DISK_MONTHLY = {64: 10.21, 128: 19.71, 256: 38.01, 512: 73.22, 1024: 135.17}
GCP_HOURLY = {"e2-small": 0.0168, "e2-medium": 0.0335, "e2-standard-2": 0.067,
              "n2-standard-4": 0.1942}  # fmt: skip
GCP_DISK_MONTHLY_GB = {"pd-balanced": 0.10, "pd-ssd": 0.17, "pd-standard": 0.04}
EC2_COMPUTE = "Amazon Elastic Compute Cloud - Compute"  # Cost Explorer's SERVICE values
EC2_OTHER = "EC2 - Other"  # EBS volumes, snapshots, NAT, data transfer
MONTH_DAYS = 30.4
# The costs' one anomaly: a data transfer surge in us-east-1, this many days before today.
SPIKE_DAYS_AGO, SPIKE_REGION, SPIKE_USD = 3, "us-east-1", 240.0


def cost_days(today: dt.date | None = None) -> list[dt.date]:
    """The COST_DAYS days before `today` (UTC), oldest first."""
    today = today or dt.datetime.now(dt.UTC).date()
    return [today - dt.timedelta(days=n) for n in range(COST_DAYS, 0, -1)]


def _busy(day: dt.date, index: int, rng: random.Random, weekend: float) -> float:
    """How much of the estate runs on a day: `weekend` of it on Saturdays and Sundays, 12%
    more at the end of the three months than at the start, give or take 4%."""
    growth = 1 + 0.12 * index / COST_DAYS
    return (weekend if day.weekday() >= 5 else 1.0) * growth * rng.uniform(0.96, 1.04)


def _money(amount: float) -> Decimal:
    return Decimal(f"{amount:.6f}")


def aws_cost_rows(aws: AwsEmulator, rng: random.Random, days: list[dt.date]) -> list[dict]:
    """Per day and region: EC2 compute for each running instance (by its id, under its team
    and env tags), EC2 - Other for each EBS volume (by its id) and for data transfer, and
    CloudWatch (all untagged, as in many real bills; data transfer and CloudWatch name no
    resource), RDS for each database (by its ARN, tagged as the databases are); S3 for each
    bucket (by its name, as Cost Explorer names buckets) in its region, under its team tag."""
    rows: list[dict[str, Any]] = []
    for region in AWS_REGIONS:
        ec2, rds = aws.client("ec2", region), aws.client("rds", region)
        price = AWS_REGION_PRICE.get(region, 1.1)
        # (instance id, allocation tags, USD/hour) of the running instances
        running: list[tuple[str, tuple[tuple[str, str], ...], float]] = []
        for reservation in ec2.describe_instances()["Reservations"]:
            for instance in reservation["Instances"]:
                if instance["State"]["Name"] == "running":
                    running.append((instance["InstanceId"], _allocation_tags(instance.get("Tags")),
                                    AWS_HOURLY.get(instance["InstanceType"], 0.05)))  # fmt: skip
        total_hourly = sum(hourly for *_, hourly in running)
        compute = total_hourly * 24 * price
        volumes = [(v["VolumeId"], v["Size"] * 0.08 / MONTH_DAYS * price)
                   for v in ec2.describe_volumes()["Volumes"]]  # fmt: skip
        databases = [(d["DBInstanceArn"], dict(_allocation_tags(d.get("TagList"))),
                      (AWS_HOURLY.get(d["DBInstanceClass"], 0.02) * 24 + d["AllocatedStorage"]
                       * 0.115 / MONTH_DAYS) * price)
                     for d in rds.describe_db_instances()["DBInstances"]]  # fmt: skip
        for index, day in enumerate(days):
            spike = (region, len(days) - index) == (SPIKE_REGION, SPIKE_DAYS_AGO)
            surge = SPIKE_USD if spike else 0.0
            busy_compute = compute * _busy(day, index, rng, weekend=0.78)
            for instance_id, tags, hourly in sorted(running):
                rows.append({"date": day, "service": EC2_COMPUTE, "region": region,
                             "cost": _money(busy_compute * hourly / total_hourly),
                             "tags": dict(tags), "resource_id": instance_id})  # fmt: skip
            transfer = rng.uniform(0.2, 1.5) + surge
            rows.append({"date": day, "service": EC2_OTHER, "region": region,
                         "cost": _money(transfer), "tags": {}})  # fmt: skip
            for volume_id, daily in volumes:
                rows.append({"date": day, "service": EC2_OTHER, "region": region,
                             "cost": _money(daily), "tags": {},
                             "resource_id": volume_id})  # fmt: skip
            steady = rng.uniform(0.99, 1.01)
            for arn, tags_of_db, daily in databases:
                rows.append({"date": day, "service": "Amazon Relational Database Service",
                             "region": region, "cost": _money(daily * steady),
                             "tags": tags_of_db, "resource_id": arn})  # fmt: skip
            rows.append({"date": day, "service": "AmazonCloudWatch", "region": region,
                         "cost": _money(rng.uniform(0.3, 0.9)), "tags": {}})  # fmt: skip
    s3 = aws.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        location = s3.get_bucket_location(Bucket=bucket["Name"])["LocationConstraint"]
        try:
            tag_set = s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
        except s3.exceptions.ClientError:  # NoSuchTagSet: a bucket without tags
            tag_set = []
        bucket_tags = dict(_allocation_tags(tag_set))
        stored_gb = rng.uniform(50, 6000)
        for index, day in enumerate(days):
            amount = stored_gb * (1 + index / 400) * 0.023 / MONTH_DAYS + rng.uniform(0.01, 0.3)
            rows.append({"date": day, "service": "Amazon Simple Storage Service",
                         "region": location or "us-east-1", "cost": _money(amount),
                         "tags": bucket_tags, "resource_id": bucket["Name"]})  # fmt: skip
    return rows


# The tag keys the sandbox's costs are allocated by (AWS cost allocation tags, Azure tags,
# GCP labels); everything else is left out of the cost rows, as a bill's tag columns are.
ALLOCATION_TAGS = ("team", "env")


def _allocation_labels(tags: dict[str, str] | None) -> dict[str, str]:
    """An Azure resource's tags or a GCP resource's labels, allocation keys only."""
    return {k: v for k, v in (tags or {}).items() if k in ALLOCATION_TAGS}


def _allocation_tags(tags: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    """An AWS tag list's allocation tags, as a sorted tuple of (key, value)."""
    found = {t["Key"]: t["Value"] for t in tags or [] if t["Key"] in ALLOCATION_TAGS}
    return tuple(sorted(found.items()))


def azure_cost_rows(
    azure: AzureFake, rng: random.Random, days: list[dt.date]
) -> dict[str, list[dict]]:
    """Per subscription and day: Virtual Machines for each running VM (by resource id; staging
    ones mostly off at weekends), Storage for each managed disk and storage account."""
    costs: dict[str, list[dict[str, Any]]] = {}
    for index, subscription_id in enumerate(AZURE_SUBSCRIPTIONS):
        weekend = 0.9 if index == 0 else 0.35
        # service, resource, location, cost, busy; the resource's tags are its costs' tags
        daily: list[tuple[str, dict[str, Any], str, float, float]] = []
        for vm in azure.resources(subscription_id, "Microsoft.Compute/virtualMachines"):
            if azure.power_state(vm["id"]) in ("running", "starting", "stopping"):
                size = vm["properties"]["hardwareProfile"]["vmSize"]
                cost = AZURE_HOURLY.get(size, 0.1) * 24
                daily.append(("Virtual Machines", vm, vm["location"], cost, weekend))
        for disk in azure.resources(subscription_id, "Microsoft.Compute/disks"):
            size = disk["properties"]["diskSizeGB"]
            monthly = AZURE_PREMIUM_DISK_MONTHLY.get(size, size * 0.15)
            daily.append(("Storage", disk, disk["location"], monthly / MONTH_DAYS, 1.0))
        for account in azure.resources(subscription_id, "Microsoft.Storage/storageAccounts"):
            stored = rng.uniform(100, 4000) * 0.0184 / MONTH_DAYS
            daily.append(("Storage", account, account["location"], stored, 1.0))
        rows = costs[subscription_id] = []
        for n, day in enumerate(days):
            for service, resource, location, cost, weekend_share in daily:
                amount = cost * _busy(day, n, rng, weekend_share) if weekend_share < 1 else cost
                rows.append({"date": day, "service": service, "resource_id": resource["id"],
                             "location": location, "cost": _money(amount),
                             "tags": _allocation_labels(resource.get("tags"))})  # fmt: skip
    return costs


def gcp_billing_rows(gcp: GcpFake, rng: random.Random, days: list[dt.date]) -> list[dict]:
    """Rows of a detailed (resource-level) billing export: per project, region and day,
    Compute Engine for each running instance (four six-hour rows; n2 machines earn a
    sustained use discount as a credit) and each persistent disk, and Cloud Storage per bucket
    (multi-region buckets have no region), each naming its resource as the export's
    `resource.name` does (projects/p/zones/z/instances/name, projects/_/buckets/name)."""
    rows: list[dict[str, Any]] = []
    for project in GCP_PROJECTS:
        # (region, allocation labels, resource path, cost per hour, n2 share of it)
        machines: list[tuple[str, tuple[tuple[str, str], ...], str, float, float]] = []
        for instance in gcp.resources(project, "instance"):
            if instance["status"] != "RUNNING":
                continue
            zone = instance["zone"].rsplit("/", 1)[1]
            machine = instance["machineType"].rsplit("/", 1)[1]
            price = GCP_HOURLY.get(machine, 0.05)
            labels = tuple(sorted(_allocation_labels(instance.get("labels")).items()))
            path = f"projects/{project}/zones/{zone}/instances/{instance['name']}"
            n2 = price if machine.startswith("n2-") else 0.0
            machines.append((zone.rsplit("-", 1)[0], labels, path, price, n2))
        disks: list[tuple[str, str, float]] = []  # region, resource path, cost per day
        for disk in gcp.resources(project, "disk"):
            zone = disk["zone"].rsplit("/", 1)[1]
            kind = disk["type"].rsplit("/", 1)[1]
            monthly = int(disk["sizeGb"]) * GCP_DISK_MONTHLY_GB.get(kind, 0.1)
            path = f"projects/{project}/zones/{zone}/disks/{disk['name']}"
            disks.append((zone.rsplit("-", 1)[0], path, monthly / MONTH_DAYS))
        buckets = [
            (b["location"], rng.uniform(100, 9000), _allocation_labels(b.get("labels")),
             f"projects/_/buckets/{b['name']}")
            for b in gcp.resources(project, "bucket")
        ]  # fmt: skip
        for index, day in enumerate(days):
            start = dt.datetime.combine(day, dt.time(), dt.UTC)
            busy = _busy(day, index, rng, weekend=0.85)
            for region, labels, path, hourly, n2 in sorted(machines):
                for quarter in range(4):
                    rows.append({"usage_start_time": start + dt.timedelta(hours=6 * quarter),
                                 "service": "Compute Engine", "region": region, "project": project,
                                 "cost": round(hourly * 6 * busy, 6),
                                 "credits": round(-0.2 * n2 * 6 * busy, 6),
                                 "labels": dict(labels), "resource": path})  # fmt: skip
            for region, path, daily in sorted(disks):
                rows.append({"usage_start_time": start, "service": "Compute Engine",
                             "region": region, "project": project,
                             "cost": round(daily, 6), "resource": path})  # fmt: skip
            for location, stored_gb, bucket_labels, path in buckets:
                regional = location.lower() if "-" in location else ""
                cost = stored_gb * (1 + index / 300) * 0.02 / MONTH_DAYS + rng.uniform(0, 0.05)
                rows.append({"usage_start_time": start + dt.timedelta(hours=1),
                             "service": "Cloud Storage", "region": regional, "project": project,
                             "cost": round(cost, 6), "credits": -0.01,
                             "labels": bucket_labels, "resource": path})  # fmt: skip
    return rows


# --- drift -------------------------------------------------------------------------------
def drift(aws: AwsEmulator, azure: AzureFake, gcp: GcpFake, rng: random.Random) -> str:
    """Change one thing, as a team would: stop or start a machine, add a bucket. Returns
    what it did."""
    choice = rng.randrange(4)
    if choice == 0:
        region = rng.choice(AWS_REGIONS)
        ec2 = aws.client("ec2", region)
        instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
                     if i["State"]["Name"] in ("running", "stopped")]  # fmt: skip
        target = rng.choice(instances)
        if target["State"]["Name"] == "running":
            ec2.stop_instances(InstanceIds=[target["InstanceId"]])
            return f"aws: stopped {target['InstanceId']} in {region}"
        ec2.start_instances(InstanceIds=[target["InstanceId"]])
        return f"aws: started {target['InstanceId']} in {region}"
    if choice == 1:
        name = f"acme-scratch-{rng.getrandbits(24):06x}"
        _bucket(aws, name, rng.choice(AWS_REGIONS), team="data")
        return f"aws: created bucket {name}"
    if choice == 2:
        sub = rng.choice(list(AZURE_SUBSCRIPTIONS))
        env = "prod" if sub.endswith("1") else "staging"
        n = rng.randrange(22)
        name = f"{TEAMS[n % 4]}-{env}-vm{n:02d}"
        group = f"rg-{TEAMS[n % 4]}-{env}"
        vm_id = (f"/subscriptions/{sub}/resourceGroups/{group}/providers/"
                 f"Microsoft.Compute/virtualMachines/{name}")  # fmt: skip
        state = rng.choice(("running", "deallocated"))
        azure.set_power_state(vm_id, state)
        return f"azure: {name} is {state}"
    project = rng.choice(GCP_PROJECTS)
    env = "prod" if project == GCP_PROJECTS[0] else "data"
    n = rng.randrange(26)
    name = f"{TEAMS[n % 4]}-{env}-{n:02d}"
    status = rng.choice(("RUNNING", "TERMINATED"))
    gcp.set_instance_status(project, name, status)
    return f"gcp: {name} is {status}"
