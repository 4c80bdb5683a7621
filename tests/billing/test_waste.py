"""The waste rules, each on resources ingested as a sync would ingest them, and the stored
findings: refreshed in one pass, dismissed with a reason (audited), back when what they
rest on changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from billing.models import CostResourceMonth, Finding
from billing.services.waste import finding_dismiss, findings_refresh
from billing.waste import findings
from inventory.models import Price
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.inventory.estate import account

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
OLD = datetime(2026, 1, 1, tzinfo=UTC)


def rec(
    rid: str,
    kind: str,
    status: str = "available",
    *,
    size: int | None = None,
    attached: tuple[str, ...] = (),
    created: datetime = OLD,
) -> ResourceRecord:
    return ResourceRecord(
        resource_id=rid,
        name=rid,
        type=kind,
        region="eu-west-1",
        status=status,
        created_at=created,
        metadata={"size_gb": size} if size else {},
        attached_to=list(attached),
    )


def ingest(acct, *records: ResourceRecord, now: datetime = NOW - timedelta(days=30)) -> None:
    ingest_scope(account=acct, scope="eu-west-1", records=list(records), now=now)


def rules(org, rule: str) -> dict[str, Decimal]:
    return {
        f.resource.resource_id: f.saving
        for f in findings(organization=org, now=NOW)
        if f.rule == rule
    }


def test_unattached_disks_cost_their_size_at_the_disk_price(org):
    acct = account(org, "prod")
    ingest(
        acct,
        rec("vol-free", "disk", size=100),
        rec("vol-used", "disk", size=50),
        rec("i-1", "vm", "running", attached=("vol-used",)),
    )
    assert rules(org, Finding.Rule.UNATTACHED_DISK) == {"vol-free": Decimal("8.00")}


def test_unassociated_ips_cost_a_month_of_the_address_price(org):
    acct = account(org, "prod")
    ingest(
        acct,
        rec("eip-free", "ip_address"),
        rec("eip-used", "ip_address"),
        rec("i-1", "vm", "running", attached=("eip-used",)),
    )
    assert rules(org, Finding.Rule.UNUSED_IP) == {"eip-free": Decimal("3.650")}


def test_load_balancers_with_nothing_behind_them_cost_their_own_price(org):
    acct = account(org, "prod")
    counted = rec("lb-ip-targets", "load_balancer", "running", attached=("subnet-1",))
    counted.metadata["targets"] = 2  # AWS registered IP targets the inventory does not hold
    ingest(
        acct,
        rec("lb-idle", "load_balancer", "running", attached=("subnet-1", "sg-1")),
        rec("lb-web", "load_balancer", "running", attached=("subnet-1", "i-1")),
        rec("lb-gone-vm", "load_balancer", "running", attached=("i-terminated",)),
        rec("lb-group", "load_balancer", "running", attached=("asg-1",)),
        counted,
        rec("i-1", "vm", "running"),
        rec("asg-1", "vm_group", "running"),
        rec("subnet-1", "subnet"),
        rec("sg-1", "firewall"),
    )
    found = rules(org, Finding.Rule.IDLE_LOAD_BALANCER)
    assert set(found) == {"lb-idle", "lb-gone-vm"}  # i-terminated is no live resource
    price = Price.objects.get(provider="aws", kind="load_balancer", size="", region="")
    assert found["lb-idle"] == (price.usd * 730).quantize(Decimal("0.001"))


def test_old_snapshots_whose_source_disk_is_gone(org):
    acct = account(org, "prod")
    young = NOW - timedelta(days=30)
    ingest(
        acct,
        rec("snap-orphan", "snapshot", size=200, attached=("vol-gone",)),
        rec("snap-kept", "snapshot", size=200, attached=("vol-here",)),
        rec("snap-young", "snapshot", size=200, attached=("vol-gone",), created=young),
        rec("snap-nosource", "snapshot", size=200),
        rec("vol-here", "disk", size=10, attached=("i-1",)),
        rec("i-1", "vm", "running"),
    )
    assert rules(org, Finding.Rule.ORPHAN_SNAPSHOT) == {"snap-orphan": Decimal("10.00")}


def test_vms_stopped_long_enough_cost_their_disks(org):
    acct = account(org, "prod")
    ingest(
        acct,
        rec("i-long", "vm", "running", attached=("vol-a",)),
        rec("i-recent", "vm", "running", attached=("vol-c",)),
        rec("i-up", "vm", "running"),
        rec("vol-a", "disk", size=100),
        rec("vol-b", "disk", size=20, attached=("i-long",)),
        rec("vol-c", "disk", size=30),
    )
    records = [
        rec("i-long", "vm", "stopped", attached=("vol-a",)),
        rec("i-recent", "vm", "running", attached=("vol-c",)),
        rec("i-up", "vm", "running"),
        rec("vol-a", "disk", size=100),
        rec("vol-b", "disk", size=20, attached=("i-long",)),
        rec("vol-c", "disk", size=30),
    ]
    ingest(acct, *records, now=NOW - timedelta(days=10))
    records[1] = rec("i-recent", "vm", "stopped", attached=("vol-c",))
    ingest(acct, *records, now=NOW - timedelta(days=2))
    assert rules(org, Finding.Rule.STOPPED_VM) == {"i-long": Decimal("9.60")}


def test_billed_cost_this_month_is_preferred_to_the_list_price(org):
    acct = account(org, "prod")
    ingest(acct, rec("vol-free", "disk", size=100))
    CostResourceMonth.objects.create(
        organization=org,
        account=acct,
        provider="aws",
        month=NOW.date().replace(day=1),
        resource_id="vol-free",
        service="EBS",
        currency="EUR",
        amount=Decimal("4"),
    )
    (found,) = findings(organization=org, now=NOW)
    assert (found.saving, found.currency, found.basis) == (Decimal(6), "EUR", "billed")


def test_a_dismissed_finding_stays_dismissed_until_what_it_rests_on_changes(org, bob):
    acct = account(org, "prod")
    ingest(acct, rec("vol-free", "disk", size=100), rec("eip-free", "ip_address"))
    assert findings_refresh(organization=org, now=NOW) == 2
    disk = Finding.objects.get(rule=Finding.Rule.UNATTACHED_DISK)
    with pytest.raises(ValueError, match="Say why"):
        finding_dismiss(finding=disk, user=bob, reason="  ")
    finding_dismiss(finding=disk, user=bob, reason="kept for the restore drill")
    assert AuditEvent.objects.filter(action="costs.finding_dismissed").count() == 1

    ingest(
        acct, rec("vol-free", "disk", size=100), rec("eip-free", "ip_address"), now=NOW
    )  # a later sync: only timestamps moved
    findings_refresh(organization=org, now=NOW + timedelta(days=1))
    disk.refresh_from_db()
    assert (disk.dismissed_by, disk.dismiss_reason) == (bob, "kept for the restore drill")

    ingest(acct, rec("vol-free", "disk", size=500), now=NOW)  # resized; the IP is gone
    findings_refresh(organization=org, now=NOW + timedelta(days=2))
    disk.refresh_from_db()
    assert (disk.dismissed_at, disk.saving) == (None, Decimal("40"))
    assert list(Finding.objects.values_list("rule", flat=True)) == ["unattached_disk"]


def test_a_refresh_is_one_bulk_pass_whatever_the_number(org, django_assert_max_num_queries):
    acct = account(org, "prod")
    ingest(acct, *[rec(f"vol-{n}", "disk", size=n + 1) for n in range(30)])
    findings_refresh(organization=org, now=NOW)
    ingest(acct, *[rec(f"vol-{n}", "disk", size=n + 2) for n in range(40)], now=NOW)
    with django_assert_max_num_queries(14):
        assert findings_refresh(organization=org, now=NOW) == 40
    assert Finding.objects.filter(organization=org).count() == 40


def test_every_sync_refreshes_the_findings_scheduled_ones_too(aws, org):
    """A scheduled sync (not "Sync now") of moto finds a volume left unattached."""
    from inventory.models import SyncRun
    from inventory.services.sync import cloud_account_sync
    from tests.inventory.factories import aws_account

    acct = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    ec2 = aws.client("ec2", "eu-west-1")
    volume = ec2.create_volume(AvailabilityZone="eu-west-1a", Size=10, VolumeType="gp3")
    run = cloud_account_sync(account=acct, trigger=SyncRun.Trigger.SCHEDULED)
    assert run.status == SyncRun.State.SUCCEEDED, run.error
    found = Finding.objects.filter(organization=org, rule="unattached_disk")
    assert list(found.values_list("resource__resource_id", flat=True)) == [volume["VolumeId"]]


def test_a_cost_import_refreshes_the_findings(azure, org):
    """Savings rest on billed costs: an import that succeeds (Cost Management, in the Azure
    fake) refreshes them."""
    from billing.services.imports import cost_import
    from tests.inventory.factories import azure_account

    tenant, client, sub = (
        "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000",
        "aaaaaaaa-0000-0000-0000-000000000001",
    )  # fmt: skip
    azure.add_subscription(sub, "Prod", tenant)
    azure.add_app(tenant, client, "secret", [sub])
    acct = azure_account(org, tenant, client, "secret", [sub])
    ingest(acct, rec("vol-free", "disk", size=10))
    assert not Finding.objects.exists()
    assert cost_import(account=acct).status == "succeeded"
    assert list(Finding.objects.values_list("resource__resource_id", flat=True)) == ["vol-free"]


def test_aws_says_when_a_vm_stopped_so_the_first_sync_finds_a_long_stopped_one(aws, org):
    """moto's StateTransitionReason ("User initiated (... GMT)") dates the stop: an instance
    stopped two months before the account was connected is found on its first sync; one
    stopped yesterday is not."""
    from emulators.estate_aws import amazon_linux_image
    from inventory.models import Resource
    from inventory.services.sync import cloud_account_sync
    from tests.inventory.factories import aws_account

    acct = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    ec2 = aws.client("ec2", "eu-west-1")
    image = amazon_linux_image(ec2)
    old, recent = (
        i["InstanceId"]
        for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]
    )
    ec2.stop_instances(InstanceIds=[old, recent])
    now = datetime.now(UTC)
    aws.instance_stopped("eu-west-1", old, now - timedelta(days=60))
    aws.instance_stopped("eu-west-1", recent, now - timedelta(days=1))
    assert cloud_account_sync(account=acct).status == "succeeded"

    vm = Resource.objects.get(resource_id=old)
    stopped = datetime.fromisoformat(vm.metadata["stopped_at"])
    assert timedelta(days=60) <= now - stopped < timedelta(days=60, minutes=1)
    findings_refresh(organization=org)
    found = Finding.objects.get(rule=Finding.Rule.STOPPED_VM)
    assert found.resource.resource_id == old
    assert found.details["stopped_since"] == vm.metadata["stopped_at"]
    assert found.saving > 0  # its root volume


def test_gcp_says_when_a_vm_stopped_so_the_first_sync_finds_a_long_stopped_one(gcp, org):
    """Compute's lastStopTimestamp dates the stop, as the AWS reason does."""
    from inventory.services.sync import cloud_account_sync
    from tests.inventory.factories import gcp_account

    key = gcp.add_service_account("acme-prod")
    now = datetime.now(UTC)
    for name, days in (("old", 45), ("recent", 2)):
        gcp.add_instance("acme-prod", name=name, status="TERMINATED", boot_disk=f"{name}-boot",
                         stopped=now - timedelta(days=days))  # fmt: skip
        gcp.add_disk("acme-prod", name=f"{name}-boot", size_gb=20, users=(name,))
    gcp.add_instance("acme-prod", name="up")
    assert cloud_account_sync(account=gcp_account(org, key)).status == "succeeded"

    findings_refresh(organization=org)
    found = Finding.objects.get(rule=Finding.Rule.STOPPED_VM)
    assert found.resource.name == "old"
    assert found.saving > 0  # its boot disk


def test_a_provider_stop_time_to_come_or_unreadable_is_no_evidence(org):
    """A stop time the provider gives is preferred to our own sightings, unless it lies in
    the future or cannot be read: then the VM counts from when our syncs saw it stop."""
    acct = account(org, "prod")
    vms = []
    for rid, stopped_at in (
        ("i-old", (NOW - timedelta(days=40)).isoformat()),
        ("i-new", (NOW - timedelta(days=3)).isoformat()),
        ("i-future", (NOW + timedelta(days=40)).isoformat()),
        ("i-naive", "2026-01-01T00:00:00"),
        ("i-junk", "last tuesday"),
    ):
        vm = rec(rid, "vm", "stopped")
        vm.metadata["stopped_at"] = stopped_at
        vms.append(vm)
    ingest(acct, *vms, now=NOW - timedelta(days=5))  # first seen (stopped) five days ago
    assert set(rules(org, Finding.Rule.STOPPED_VM)) == {"i-old"}
    later = findings(organization=org, now=NOW + timedelta(days=10), rules=["stopped_vm"])
    since = {f.resource.resource_id: f.details["stopped_since"] for f in later}
    seen = (NOW - timedelta(days=5)).isoformat()
    assert since == {
        "i-old": (NOW - timedelta(days=40)).isoformat(),
        "i-new": (NOW - timedelta(days=3)).isoformat(),
        "i-future": seen,
        "i-naive": seen,
        "i-junk": seen,
    }
