"""The sandbox estate: a plausible company's clouds, built into the emulators.

Several AWS regions, two Azure subscriptions and two GCP projects, with a few hundred
resources of every type, tags, and a mix of running and stopped machines. The same seed
builds the same estate (names, shapes, states; moto picks its own instance ids). `drift()`
changes it a little, as real estates change, so that syncs have something to report.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from emulators.aws import AwsEmulator
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


@dataclass
class SandboxCredentials:
    """What the app needs to reach the sandbox: endpoints and credentials per provider."""

    aws: dict[str, Any] = field(default_factory=dict)
    azure: dict[str, Any] = field(default_factory=dict)
    gcp: dict[str, Any] = field(default_factory=dict)


def build(aws: AwsEmulator, azure: AzureFake, gcp: GcpFake, seed: int = 2026) -> SandboxCredentials:
    rng = random.Random(seed)
    return SandboxCredentials(
        aws=build_aws(aws, rng), azure=build_azure(azure, rng), gcp=build_gcp(gcp, rng)
    )


# --- AWS ---------------------------------------------------------------------------------
def build_aws(aws: AwsEmulator, rng: random.Random) -> dict[str, Any]:
    for region in AWS_REGIONS:
        ec2 = aws.client("ec2", region)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
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
    key = gcp.add_service_account(
        GCP_PROJECTS[0],
        email="mcloud-sandbox@acme-web-prod.iam.gserviceaccount.com",
        projects=list(GCP_PROJECTS),
    )
    return {"endpoint": gcp.url, "key": key, "project_ids": list(GCP_PROJECTS)}


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
