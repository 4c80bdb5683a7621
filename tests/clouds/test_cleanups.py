"""Clean-ups of waste by the three adapters, with the real SDKs against moto and the fakes:
an unattached disk, an unassociated IP and an old snapshot are removed and gone from the next
listing; the long-running operations are followed to their end; one already gone is a no-op
that sends nothing; one attached or associated at the provider now is refused, nothing sent."""

from __future__ import annotations

import pytest

from emulators.estate_aws import amazon_linux_image
from mcloud.clouds.aws import AwsAdapter
from mcloud.clouds.base import AwsCredentials, CloudError, Endpoints, Status
from tests.clouds.test_vm_actions import PROJECT, SUB, azure_adapter, gcp_adapter

REGION = "eu-west-1"


# --- AWS -----------------------------------------------------------------------------------
@pytest.fixture
def ec2_adapter(aws):
    key = aws.create_user_key("cleaner")
    adapter = AwsAdapter(
        AwsCredentials(access_key_id=key[0], secret_access_key=key[1], regions=(REGION,)),
        Endpoints(aws_endpoint_url=aws.url, retries=1),
    )
    return adapter, aws.client("ec2", REGION)


def listed(adapter, scope):
    return {r.resource_id.lower(): r for r in adapter.list_scope(scope)}


def test_ec2_deletes_an_unattached_volume_once(ec2_adapter):
    adapter, ec2 = ec2_adapter
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20)["VolumeId"]

    done = adapter.cleanup("disk", volume, REGION)
    assert (done.changed, done.message) == (True, f"EC2 deleted volume {volume}.")
    assert volume.lower() not in listed(adapter, REGION)

    again = adapter.cleanup("disk", volume, REGION)
    assert (again.changed, again.message) == (
        False, f"Nothing to do: EC2 volume {volume} is already gone.",
    )  # fmt: skip


def test_ec2_refuses_a_volume_attached_meanwhile(ec2_adapter):
    adapter, ec2 = ec2_adapter
    instance = ec2.run_instances(ImageId=amazon_linux_image(ec2), MinCount=1, MaxCount=1)
    iid = instance["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=iid, Device="/dev/sdf")

    with pytest.raises(CloudError, match=f"attached to {iid} at the provider now") as refused:
        adapter.cleanup("disk", volume, REGION)
    assert refused.value.code == "InUse"
    assert volume.lower() in listed(adapter, REGION)


def test_ec2_releases_an_unassociated_address_and_refuses_an_associated_one(ec2_adapter):
    adapter, ec2 = ec2_adapter
    spare = ec2.allocate_address(Domain="vpc")
    used = ec2.allocate_address(Domain="vpc")
    instance = ec2.run_instances(ImageId=amazon_linux_image(ec2), MinCount=1, MaxCount=1)
    iid = instance["Instances"][0]["InstanceId"]
    ec2.associate_address(AllocationId=used["AllocationId"], InstanceId=iid)

    done = adapter.cleanup("ip_address", spare["AllocationId"], REGION)
    assert done.message == f"EC2 released the Elastic IP {spare['PublicIp']}."
    with pytest.raises(CloudError, match=f"associated with {iid}"):
        adapter.cleanup("ip_address", used["AllocationId"], REGION)
    remaining = listed(adapter, REGION)
    assert spare["AllocationId"].lower() not in remaining
    assert used["AllocationId"].lower() in remaining
    assert not adapter.cleanup("ip_address", spare["AllocationId"], REGION).changed


def test_ec2_deletes_a_snapshot(ec2_adapter):
    adapter, ec2 = ec2_adapter
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]

    assert adapter.cleanup("snapshot", snapshot, REGION).changed
    assert not ec2.describe_snapshots(Filters=[{"Name": "snapshot-id", "Values": [snapshot]}])[
        "Snapshots"
    ]
    assert "already gone" in adapter.cleanup("snapshot", snapshot, REGION).message


def test_an_id_of_another_kind_is_refused(ec2_adapter, azure):
    with pytest.raises(CloudError, match="cannot remove vm"):
        ec2_adapter[0].cleanup("vm", "i-0123", REGION)
    adapter = azure_adapter(azure)
    vm = azure.add_vm(SUB, name="web-1")
    with pytest.raises(CloudError, match="not a disk's id"):
        adapter.cleanup("disk", vm["id"], "westeurope")


# --- Azure ---------------------------------------------------------------------------------
COMPUTE_OPERATION = (
    r"/subscriptions/[^/]+/providers/Microsoft\.Compute/locations/[^/]+/operations/[^/]+"
)
NETWORK_OPERATION = (
    r"/subscriptions/[^/]+/providers/Microsoft\.Network/locations/[^/]+/operations/[^/]+"
)
DISK = r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/disks/spare"


def test_azure_deletes_an_unattached_disk_through_the_operation(azure):
    adapter = azure_adapter(azure)
    disk = azure.add_disk(SUB, name="spare")
    azure.operation_polls = 2

    done = adapter.cleanup("disk", disk["id"], "westeurope")
    assert (done.changed, done.status) == (True, Status.TERMINATED)
    assert done.message == "Azure deleted the managed disk spare."
    assert azure.calls("DELETE", DISK) == 1
    assert azure.calls("GET", COMPUTE_OPERATION) >= 3  # InProgress twice, then Succeeded
    assert disk["id"].lower() not in listed(adapter, SUB)

    again = adapter.cleanup("disk", disk["id"], "westeurope")
    assert again.message == "Nothing to do: Azure managed disk spare is already gone."
    assert azure.calls("DELETE", DISK) == 1  # not sent again


def test_azure_refuses_an_attached_disk_and_an_associated_ip(azure):
    adapter = azure_adapter(azure)
    vm = azure.add_vm(SUB, name="web-1")
    disk = azure.add_disk(SUB, name="data", managed_by=vm["id"])
    with pytest.raises(CloudError, match="attached to web-1 at the provider now"):
        adapter.cleanup("disk", disk["id"], "westeurope")
    network = azure.add_virtual_network(SUB, name="vnet-1")
    ip = azure.add_public_ip(SUB, name="web-ip", address="20.1.2.3")
    azure.attach_network(vm["id"], subnet_id=network["properties"]["subnets"][0]["id"],
                         public_ip_id=ip["id"])  # fmt: skip
    with pytest.raises(CloudError, match="associated with web-1-nic") as refused:
        adapter.cleanup("ip_address", ip["id"], "westeurope")
    assert refused.value.code == "InUse"
    assert azure.calls("DELETE", r".*") == 0


def test_azure_releases_a_public_ip_and_deletes_a_snapshot(azure):
    adapter = azure_adapter(azure)
    ip = azure.add_public_ip(SUB, name="spare-ip", address="20.1.2.4")
    snapshot = azure.add_snapshot(SUB, name="old", source_disk_id="/subscriptions/x/gone")

    assert adapter.cleanup("ip_address", ip["id"], "westeurope").message == (
        "Azure released the public IP address spare-ip."
    )
    assert azure.calls("GET", NETWORK_OPERATION) >= 1
    assert adapter.cleanup("snapshot", snapshot["id"], "westeurope").changed
    remaining = listed(adapter, SUB)
    assert ip["id"].lower() not in remaining
    assert snapshot["id"].lower() not in remaining


def test_azure_delete_survives_a_throttled_poll(azure):
    adapter = azure_adapter(azure)
    disk = azure.add_disk(SUB, name="spare")
    other = azure.add_disk(SUB, name="other")
    azure.faults.retry_after = 0
    adapter.cleanup("disk", other["id"], "westeurope")  # warm the token
    azure.faults.fail_next("429")  # the read of the disk
    assert adapter.cleanup("disk", disk["id"], "westeurope").changed
    assert azure.calls("DELETE", DISK) == 1


# --- GCP -----------------------------------------------------------------------------------
P = rf"/compute/v1/projects/{PROJECT}"


def test_gcp_deletes_a_disk_through_its_zone_operation(gcp):
    adapter = gcp_adapter(gcp)
    gcp.add_disk(PROJECT, name="spare")
    rid = f"projects/{PROJECT}/zones/us-central1-a/disks/spare"
    gcp.operation_polls = 2

    done = adapter.cleanup("disk", rid, "us-central1")
    assert (done.changed, done.message) == (True, "GCP deleted disk spare.")
    assert gcp.calls("DELETE", P + "/zones/us-central1-a/disks/spare") == 1
    assert gcp.calls("GET", P + "/zones/us-central1-a/operations/[^/]+") >= 3
    assert gcp.resources(PROJECT, "disk") == []
    assert rid not in listed(adapter, PROJECT)

    again = adapter.cleanup("disk", rid, "us-central1")
    assert again.message == "Nothing to do: GCP disk spare is already gone."
    assert gcp.calls("DELETE", P + "/zones/us-central1-a/disks/spare") == 1


def test_gcp_refuses_a_disk_in_use(gcp):
    adapter = gcp_adapter(gcp)
    gcp.add_instance(PROJECT, name="web-1")
    gcp.add_disk(PROJECT, name="data", users=["web-1"])
    with pytest.raises(CloudError, match="used by web-1 at the provider now") as refused:
        adapter.cleanup("disk", f"projects/{PROJECT}/zones/us-central1-a/disks/data", "x")
    assert refused.value.code == "InUse"
    assert gcp.calls("DELETE", r".*") == 0


def test_gcp_releases_addresses_through_region_and_global_operations(gcp):
    adapter = gcp_adapter(gcp)
    gcp.add_address(PROJECT, name="spare-ip", region="us-central1", address="34.1.2.4")
    gcp.add_address(PROJECT, name="spare-global", address="34.9.9.8")
    gcp.add_address(PROJECT, name="used-ip", region="us-central1", address="34.1.2.5",
                    users=[f"https://compute.googleapis.com/compute/v1/projects/{PROJECT}"
                           "/zones/us-central1-a/instances/web-1"])  # fmt: skip
    regional = f"projects/{PROJECT}/regions/us-central1/addresses/spare-ip"
    global_ = f"projects/{PROJECT}/global/addresses/spare-global"

    assert adapter.cleanup("ip_address", regional, "us-central1").message == (
        "GCP released address spare-ip."
    )
    assert gcp.calls("GET", P + "/regions/us-central1/operations/[^/]+") >= 1
    assert adapter.cleanup("ip_address", global_, "global").changed
    assert gcp.calls("GET", P + "/global/operations/[^/]+") >= 1
    with pytest.raises(CloudError, match="used by web-1"):
        adapter.cleanup("ip_address", regional.replace("spare-ip", "used-ip"), "us-central1")
    remaining = listed(adapter, PROJECT)
    assert regional not in remaining
    assert global_ not in remaining
    assert regional.replace("spare-ip", "used-ip") in remaining


def test_gcp_deletes_a_snapshot_through_a_global_operation(gcp):
    adapter = gcp_adapter(gcp)
    gcp.add_snapshot(PROJECT, name="old", source_disk="us-central1-a/gone")
    rid = f"projects/{PROJECT}/global/snapshots/old"
    gcp.faults.fail_next("500")  # the read is retried

    assert adapter.cleanup("snapshot", rid, "global").changed
    assert gcp.calls("DELETE", P + "/global/snapshots/old") == 1
    assert rid not in listed(adapter, PROJECT)
    assert "already gone" in adapter.cleanup("snapshot", rid, "global").message
