"""Syncing AWS accounts: the real sync code and boto3 against moto's server."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from emulators import estate_aws
from emulators.proxy import ForwardingProxy
from inventory.filters import ResourceFilters
from inventory.models import Resource, ResourceEvent, SyncRun
from inventory.pricing import hourly_usd
from inventory.selectors import resource_list
from inventory.services.sync import cloud_account_sync
from mcloud.clouds.aws import AwsAdapter
from mcloud.clouds.base import TYPES
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

REGIONS = ["eu-west-1", "us-east-1"]


@pytest.fixture
def account(aws, org):
    return aws_account(org, aws.create_user_key("reader"), regions=REGIONS)


def _rows(account, **filters):
    return Resource.objects.filter(account=account, **filters)


def test_every_type_lands_normalized(aws, account, org):
    web = aws_estate.instances(aws, "eu-west-1", 2, Name="web", env="prod")
    aws.client("ec2", "eu-west-1").stop_instances(InstanceIds=[web[1]])
    aws_estate.instances(aws, "us-east-1", 1)
    aws_estate.bucket(aws, "acme-logs", "eu-west-1")
    aws_estate.database(aws, "orders", "us-east-1")

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert (run.scopes_total, run.scopes_done) == (2, 2)  # two regions (S3's global listing
    # is listed too, but progress counts regions)
    vm = _rows(account).get(resource_id=web[0])
    assert (vm.name, vm.type, vm.region, vm.status, vm.provider) == (
        "web",
        "vm",
        "eu-west-1",
        "running",
        "aws",
    )
    assert vm.tags == {"Name": "web", "env": "prod"}
    assert vm.metadata["instance_type"] == "t3.micro"
    # The catalog's estimate (no eu-west-1 price for it: the any-region one), not the adapter's.
    assert "cost_per_hour" not in vm.metadata
    assert vm.monthly_estimate == hourly_usd("aws", "t3.micro") * 730 == Decimal("7.592")
    assert vm.metadata["private_ip"].startswith("10.")
    assert vm.metadata["vpc_id"].startswith("vpc-")
    assert isinstance(vm.metadata["security_groups"], list)
    assert vm.created_at is not None
    assert _rows(account).get(resource_id=web[1]).status == "stopped"
    assert _rows(account).get(resource_id=web[1]).metadata["provider_status"] == "stopped"
    bucket = _rows(account).get(name="acme-logs")
    assert (bucket.type, bucket.region, bucket.scope, bucket.tags) == (
        "storage",
        "eu-west-1",
        "global",
        {"team": "data"},
    )
    db = _rows(account).get(type="database")
    assert (db.name, db.region, db.status, db.metadata["engine"]) == (
        "orders",
        "us-east-1",
        "running",
        "postgres",
    )
    # A root volume per instance; each region's default VPC, its subnets (one per zone) and
    # its default security group.
    default_subnets = sum(
        len(aws.client("ec2", region).describe_subnets()["Subnets"]) for region in REGIONS
    )
    assert Counter(_rows(account).values_list("type", flat=True)) == {
        "vm": 3, "disk": 3, "network": 2, "subnet": default_subnets, "firewall": 2,
        "storage": 1, "database": 1,
    }  # fmt: skip
    assert run.created == _rows(account).count()
    assert (run.skipped, run.findings) == (0, [])
    # What each is attached to is kept: the VM names its root volume, subnet and VPC (moto
    # gives it no security group; the volume names the VM too): the filter finds them.
    near = resource_list(organization=org, filters=ResourceFilters(attached_to=vm.pk))
    assert Counter(near.values_list("type", flat=True)) == {
        "disk": 1, "subnet": 1, "network": 1,
    }  # fmt: skip
    assert not resource_list(organization=org, filters=ResourceFilters(unattached=True)).exists()
    account.refresh_from_db()
    assert account.last_synced_at == run.finished_at
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["sync.started", "sync.finished"]


def test_every_type_of_an_estate_lands_and_a_denied_service_is_a_finding(aws, org):
    """An IAM policy without EKS: the rest of the region is listed, and the run says what it
    could not list (moto answers the denial in XML to a JSON API: botocore reads "403")."""
    estate_aws.region_estate(aws, "eu-west-1")
    estate_aws.hosted_zones(aws, "acme.example")
    aws_estate.bucket(aws, "acme-logs", "eu-west-1")
    no_eks = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "eks:*", "Resource": "*"}]})  # fmt: skip
    account = aws_account(org, aws.create_user_key("no-eks", no_eks), regions=["eu-west-1"])

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    types = set(_rows(account).values_list("type", flat=True))
    assert types == set(TYPES) - {"kubernetes"}
    assert not _rows(account, name="general").exists()  # the node group came with its cluster
    assert run.skipped == 1
    assert run.notes == [
        "1 item skipped: not listed: AWS denied access (HTTP 403) "
        "(in region eu-west-1: EKS clusters and node groups)"
    ]


def test_a_service_denied_later_keeps_its_stored_resources(aws, org):
    """The policy loses EKS after a sync: the clusters and node groups stay as they were (not
    tombstoned, last seen unchanged), the run says so, and the rest syncs as usual."""
    estate_aws.region_estate(aws, "eu-west-1")
    ec2 = aws.client("ec2", "eu-west-1")
    spare = ec2.create_volume(Size=5, AvailabilityZone="eu-west-1a")["VolumeId"]
    account = aws_account(org, aws.create_user_key("full"), regions=["eu-west-1"])
    cloud_account_sync(account=account)
    kept = {r.pk: r.last_seen for r in _rows(account, type="kubernetes")}
    assert kept
    no_eks = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "eks:*", "Resource": "*"}]})  # fmt: skip
    key = aws.create_user_key("no-eks", no_eks)
    account.config["access_key_id"], account.secrets = key[0], {"secret_access_key": key[1]}
    account.save()
    groups = set(_rows(account, type="vm_group").values_list("pk", flat=True))
    volume = _rows(account).get(resource_id=spare)
    ec2.delete_volume(VolumeId=spare)

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    still = {r.pk: r.last_seen for r in _rows(account, type="kubernetes", deleted_at__isnull=True)}
    assert still == kept
    assert set(_rows(account, type="vm_group", deleted_at__isnull=True).values_list(
        "pk", flat=True)) == groups  # fmt: skip
    assert not ResourceEvent.objects.filter(sync_run=run, resource__type="kubernetes").exists()
    assert _rows(account).get(pk=volume.pk).deleted_at is not None  # the rest still syncs
    # The node groups were not seen; the Auto Scaling groups were (their own listing).
    unseen = _rows(account, type="vm_group", last_seen__lt=run.started_at).count()
    assert 0 < unseen < len(groups)
    assert run.notes[0].startswith("1 item skipped: not listed: AWS denied access")
    assert run.notes[1] == (
        f"{len(kept) + unseen} stored resources kept as they were: kubernetes, vm_group "
        "not listed (access denied) (in region eu-west-1)"
    )


def test_a_second_sync_without_change_only_moves_last_seen(aws, account):
    aws_estate.instances(aws, "eu-west-1", 3)
    cloud_account_sync(account=account)
    before = {r.pk: (r.fingerprint, r.updated_at, r.first_seen) for r in _rows(account)}
    run = cloud_account_sync(account=account)
    assert (run.created, run.updated, run.removed) == (0, 0, 0)
    assert run.unchanged == len(before)
    after = {r.pk: (r.fingerprint, r.updated_at, r.first_seen) for r in _rows(account)}
    assert after == before
    assert all(r.last_seen >= run.started_at for r in _rows(account))


def test_stale_resources_are_marked_deleted_and_revived(aws, account):
    ids = aws_estate.instances(aws, "eu-west-1", 2)
    cloud_account_sync(account=account)
    ec2 = aws.client("ec2", "eu-west-1")
    ec2.stop_instances(InstanceIds=[ids[0]])
    ec2.terminate_instances(InstanceIds=[ids[1]])
    run = cloud_account_sync(account=account)
    assert _rows(account).get(resource_id=ids[0]).status == "stopped"
    terminated = _rows(account).get(resource_id=ids[1])
    assert terminated.status == "terminated"
    assert run.started_at < terminated.deleted_at < run.finished_at  # a tombstone now
    kinds = {
        (e.resource.resource_id, e.kind, e.old_status, e.new_status)
        for e in ResourceEvent.objects.filter(sync_run=run).select_related("resource")
    }
    assert (ids[0], "status", "running", "stopped") in kinds
    assert (ids[1], "deleted", "running", "terminated") in kinds

    # A volume deleted in the cloud disappears from the listing: the row stays, marked.
    volume = ec2.create_volume(Size=5, AvailabilityZone="eu-west-1a")["VolumeId"]
    cloud_account_sync(account=account)
    ec2.delete_volume(VolumeId=volume)
    run = cloud_account_sync(account=account)
    row = _rows(account).get(resource_id=volume)
    assert row.deleted_at is not None
    assert run.removed == 1
    assert ResourceEvent.objects.get(resource=row, kind="deleted").sync_run == run

    # The same id listed again (moto lets us fake a return by re-creating a bucket).
    aws_estate.bucket(aws, "comes-back", "us-east-1")
    cloud_account_sync(account=account)
    aws.client("s3").delete_bucket_tagging(Bucket="comes-back")
    aws.client("s3").delete_bucket(Bucket="comes-back")
    cloud_account_sync(account=account)
    assert _rows(account).get(name="comes-back").deleted_at is not None
    aws_estate.bucket(aws, "comes-back", "us-east-1")
    run = cloud_account_sync(account=account)
    revived = _rows(account).get(name="comes-back")
    assert revived.deleted_at is None
    assert ResourceEvent.objects.filter(resource=revived, kind="restored").exists()


def test_a_failing_region_keeps_its_old_rows_and_the_run_is_partial(aws, account, settings):
    aws_estate.instances(aws, "eu-west-1", 2)
    aws_estate.instances(aws, "us-east-1", 2)
    cloud_account_sync(account=account)
    aws.client("ec2", "us-east-1").terminate_instances(
        InstanceIds=[r.resource_id for r in _rows(account, region="us-east-1", type="vm")]
    )
    with ForwardingProxy(aws.url) as proxy:
        proxy.fail_when = lambda r: "/eu-west-1/" in r.headers.get("authorization", "")
        settings.AWS_ENDPOINT_URL = proxy.url
        run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.PARTIAL
    assert list(run.scope_errors) == ["eu-west-1"]
    assert "AccessDenied" in run.scope_errors["eu-west-1"]
    # eu-west-1 failed: nothing there was removed. us-east-1 listed fine: updated.
    assert _rows(account, region="eu-west-1", deleted_at__isnull=True).count() > 0
    assert not _rows(account, region="eu-west-1", deleted_at__isnull=False).exists()
    assert set(_rows(account, region="us-east-1", type="vm").values_list("status", flat=True)) == {
        "terminated"
    }


def test_throttling_and_server_errors_are_retried_to_the_same_result(aws, account, settings, org):
    aws_estate.instances(aws, "eu-west-1", 4)
    aws_estate.instances(aws, "us-east-1", 3)
    aws_estate.bucket(aws, "retry-bucket", "eu-west-1")
    clean = cloud_account_sync(account=account)
    expected = set(_rows(account).values_list("resource_id", "status", "fingerprint"))

    flaky = aws_account(org, aws.create_user_key("flaky"), regions=REGIONS, name="aws-flaky")
    settings.CLOUD_RETRIES = 6
    with ForwardingProxy(aws.url) as proxy:
        proxy.faults.retry_after = 0
        proxy.faults.set(rate=0.2, kinds=("429", "500", "drop"), seed=7)
        settings.AWS_ENDPOINT_URL = proxy.url
        run = cloud_account_sync(account=flaky)
        injected = proxy.faults.injected
    assert injected > 0
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert set(_rows(flaky).values_list("resource_id", "status", "fingerprint")) == expected
    assert run.created == clean.created


def test_a_run_that_cannot_list_regions_fails_cleanly(aws, org):
    bad = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"), regions=[])
    run = cloud_account_sync(account=bad)
    assert run.status == SyncRun.State.FAILED
    assert run.error == "AWS rejected the access key (AuthFailure)"
    assert AuditEvent.objects.filter(action="sync.failed").exists()
    assert not Resource.objects.exists()


def test_two_organizations_holding_the_same_cloud_account_do_not_collide(aws, org, other_org):
    key = aws.create_user_key("shared")
    ids = aws_estate.instances(aws, "eu-west-1", 2)
    mine = aws_account(org, key, regions=["eu-west-1"])
    theirs = aws_account(other_org, key, regions=["eu-west-1"])
    cloud_account_sync(account=mine)
    cloud_account_sync(account=theirs)
    aws.client("ec2", "eu-west-1").stop_instances(InstanceIds=[ids[0]])
    cloud_account_sync(account=theirs)
    assert Resource.objects.filter(resource_id=ids[0]).count() == 2
    assert _rows(mine).get(resource_id=ids[0]).status == "running"
    assert _rows(theirs).get(resource_id=ids[0]).status == "stopped"
    assert _rows(mine).get(resource_id=ids[0]).organization == org


def test_an_account_without_a_region_list_covers_every_enabled_region(aws, org):
    listed = aws.client("ec2").describe_regions()["Regions"]
    # moto also lists China and GovCloud, other partitions the account's keys cannot reach,
    # and opt-in regions the account has not opted into.
    enabled = {
        r["RegionName"]
        for r in listed
        if not r["RegionName"].startswith(("cn-", "us-gov")) and r["OptInStatus"] != "not-opted-in"
    }
    ids = aws_estate.instances(aws, "sa-east-1", 1) + aws_estate.instances(aws, "eu-north-1", 1)
    account = aws_account(org, aws.create_user_key("everywhere"), regions=[])
    run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert len(enabled) > 15
    assert run.scopes_total == len(enabled)  # every region (S3's global listing is no region)
    assert set(_rows(account, type="vm").values_list("resource_id", flat=True)) == set(ids)
    assert _rows(account, type="network").count() == len(enabled)  # a default VPC each


def test_every_listing_is_paged_to_the_end(aws, org, settings, monkeypatch):
    """With pages of 5, the sync asks for pages and follows NextToken to the end."""
    ids = [i for _ in range(6) for i in aws_estate.instances(aws, "eu-west-1", 2)]
    ec2 = aws.client("ec2", "eu-west-1")
    for _ in range(6):
        ec2.create_vpc(CidrBlock="10.1.0.0/16")
    volumes = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert len(volumes) >= 12
    assert len(vpcs) == 7
    monkeypatch.setattr(AwsAdapter, "page_size", 5)
    account = aws_account(org, aws.create_user_key("pager"), regions=["eu-west-1"])
    calls: list[str] = []
    with ForwardingProxy(aws.url) as proxy:
        proxy.fail_when = lambda request: calls.append(request.body.decode()) and False
        settings.AWS_ENDPOINT_URL = proxy.url
        run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert set(_rows(account, type="vm").values_list("resource_id", flat=True)) == set(ids)
    assert set(_rows(account, type="disk").values_list("resource_id", flat=True)) == volumes
    assert set(_rows(account, type="network").values_list("resource_id", flat=True)) == vpcs
    # moto pages DescribeInstances by reservation (6 of them: 5, then 1) and answers the
    # volumes and VPCs in one page whatever MaxResults says.
    for action, paged in (("DescribeInstances", 2), ("DescribeVolumes", 1), ("DescribeVpcs", 1)):
        requests = [body for body in calls if f"Action={action}&" in body]
        assert len(requests) == paged, action
        assert all("MaxResults=5" in body for body in requests)
        assert sum("NextToken=" in body for body in requests) == len(requests) - 1
