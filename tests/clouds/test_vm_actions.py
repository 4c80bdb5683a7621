"""VM power actions of the three adapters, with the real SDKs against moto and the fakes:
each action changes what the next listing says, an action that would change nothing is not
sent, a VM gone says so, and the long-running operations are followed to their end."""

from __future__ import annotations

import pytest

from emulators.estate_aws import amazon_linux_image
from mcloud.clouds.aws import AwsAdapter
from mcloud.clouds.azure import AzureAdapter
from mcloud.clouds.base import (
    AwsCredentials,
    AzureCredentials,
    CloudError,
    Endpoints,
    GcpCredentials,
    Status,
)
from mcloud.clouds.gcp import GcpAdapter

REGION = "eu-west-1"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT, SECRET = "app-1", "s3cret"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"
PROJECT = "acme-prod"
FAST = {"poll_seconds": 0.01, "action_timeout": 20.0}


# --- AWS -----------------------------------------------------------------------------------
def test_ec2_instances_stop_start_and_reboot(aws):
    ec2 = aws.client("ec2", REGION)
    image = amazon_linux_image(ec2)
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    key = aws.create_user_key("operator")
    adapter = AwsAdapter(
        AwsCredentials(access_key_id=key[0], secret_access_key=key[1], regions=(REGION,)),
        Endpoints(aws_endpoint_url=aws.url, retries=1),
    )
    iid = instance["InstanceId"]

    started = adapter.vm_action("start", iid, REGION)
    assert not started.changed
    assert started.message == f"Nothing to do: EC2 instance {iid} is already running."

    stopped = adapter.vm_action("stop", iid, REGION)
    assert stopped.changed
    assert stopped.status in (Status.STOPPING, Status.STOPPED)
    listed = {r.resource_id: r for r in adapter.list_scope(REGION)}
    assert listed[iid].status == Status.STOPPED  # moto stops at once

    with pytest.raises(CloudError, match="is stopped: start it instead") as refused:
        adapter.vm_action("reboot", iid, REGION)
    assert refused.value.code == "InvalidState"

    assert adapter.vm_action("start", iid, REGION).changed
    assert adapter.vm_action("reboot", iid, REGION).changed
    assert {r.resource_id: r for r in adapter.list_scope(REGION)}[iid].status == Status.RUNNING

    ec2.terminate_instances(InstanceIds=[iid])
    with pytest.raises(CloudError, match="no longer exists") as gone:
        adapter.vm_action("start", iid, REGION)
    assert gone.value.code == "NotFound"
    with pytest.raises(CloudError, match="no longer exists"):
        adapter.vm_action("stop", "i-0123456789abcdef0", REGION)


# --- Azure ---------------------------------------------------------------------------------
def azure_adapter(azure) -> AzureAdapter:
    azure.add_subscription(SUB, "Production", TENANT)
    azure.add_app(TENANT, CLIENT, SECRET, [SUB])
    return AzureAdapter(
        AzureCredentials(TENANT, CLIENT, SECRET, (SUB,)),
        Endpoints(azure_arm_url=azure.base_url, azure_authority=azure.authority,
                  azure_ca_bundle=azure.ca_bundle, retries=1, **FAST),
    )  # fmt: skip


VM_PATH = (
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/virtualMachines/web-1"
)
OPERATION = r"/subscriptions/[^/]+/providers/Microsoft\.Compute/locations/[^/]+/operations/[^/]+"


def test_azure_deallocates_starts_and_restarts_through_the_operation(azure):
    adapter = azure_adapter(azure)
    vm = azure.add_vm(SUB, name="web-1")
    rid = vm["id"]
    azure.operation_polls = 2

    stopped = adapter.vm_action("stop", rid, "westeurope")
    assert (stopped.changed, stopped.status) == (True, Status.STOPPED)
    assert azure.power_state(rid) == "deallocated"  # the poller saw the operation end
    assert azure.calls("POST", VM_PATH + "/deallocate") == 1
    assert azure.calls("GET", OPERATION) >= 3  # InProgress twice, then Succeeded
    assert {r.resource_id.lower(): r for r in adapter.list_scope(SUB)}[
        rid.lower()
    ].status == Status.STOPPED

    again = adapter.vm_action("stop", rid, "westeurope")
    assert again.message == "Nothing to do: Azure VM web-1 is already stopped."
    assert azure.calls("POST", VM_PATH + "/deallocate") == 1  # not sent again

    assert adapter.vm_action("start", rid, "westeurope").changed
    assert azure.power_state(rid) == "running"
    assert adapter.vm_action("reboot", rid, "westeurope").changed
    assert azure.calls("POST", VM_PATH + "/restart") == 1
    assert azure.power_state(rid) == "running"


def test_azure_powered_off_vm_is_deallocated_on_stop(azure):
    adapter = azure_adapter(azure)
    rid = azure.add_vm(SUB, name="web-1", power_state="stopped")["id"]
    assert adapter.vm_action("stop", rid, "westeurope").changed  # still billed: deallocate
    assert azure.power_state(rid) == "deallocated"


def test_azure_vm_gone_says_so(azure):
    adapter = azure_adapter(azure)
    rid = azure.add_vm(SUB, name="web-1")["id"]
    azure.remove(rid)
    with pytest.raises(CloudError, match="Azure VM web-1 no longer exists") as gone:
        adapter.vm_action("start", rid, "westeurope")
    assert gone.value.code == "NotFound"
    assert azure.calls("POST", VM_PATH + "/start") == 0


def test_azure_action_survives_a_throttled_poll(azure):
    adapter = azure_adapter(azure)
    rid = azure.add_vm(SUB, name="web-1")["id"]
    azure.faults.retry_after = 0
    adapter.vm_action("stop", rid, "westeurope")  # warm the token
    azure.faults.fail_next("429")  # the first read of the VM
    assert adapter.vm_action("start", rid, "westeurope").changed
    assert azure.power_state(rid) == "running"


# --- GCP -----------------------------------------------------------------------------------
INSTANCE = rf"/compute/v1/projects/{PROJECT}/zones/us-central1-a/instances/web-1"
ZONE_OPERATION = rf"/compute/v1/projects/{PROJECT}/zones/us-central1-a/operations/[^/]+"


def gcp_adapter(gcp) -> GcpAdapter:
    key = gcp.add_service_account(PROJECT)
    return GcpAdapter(
        GcpCredentials(key_info=key, project_ids=(PROJECT,)),
        Endpoints(gcp_compute_endpoint=gcp.url, gcp_asset_endpoint=gcp.url,
                  gcp_token_uri=f"{gcp.url}/token", retries=1, **FAST),
    )  # fmt: skip


def test_gcp_stops_starts_and_resets_through_zone_operations(gcp):
    adapter = gcp_adapter(gcp)
    gcp.add_instance(PROJECT, name="web-1")
    rid = f"projects/{PROJECT}/zones/us-central1-a/instances/web-1"
    gcp.operation_polls = 2

    stopped = adapter.vm_action("stop", rid, "us-central1")
    assert (stopped.changed, stopped.status) == (True, Status.STOPPED)
    assert gcp.resources(PROJECT, "instance")[0]["status"] == "TERMINATED"
    assert gcp.calls("POST", INSTANCE + "/stop") == 1
    assert gcp.calls("GET", ZONE_OPERATION) >= 3  # RUNNING twice, then DONE
    assert {r.resource_id: r for r in adapter.list_scope(PROJECT)}[rid].status == Status.STOPPED

    again = adapter.vm_action("stop", rid, "us-central1")
    assert again.message == "Nothing to do: GCP instance web-1 is already stopped."
    assert gcp.calls("POST", INSTANCE + "/stop") == 1

    with pytest.raises(CloudError, match="is stopped: start it instead"):
        adapter.vm_action("reboot", rid, "us-central1")
    assert adapter.vm_action("start", rid, "us-central1").changed
    assert gcp.resources(PROJECT, "instance")[0]["status"] == "RUNNING"
    assert adapter.vm_action("reboot", rid, "us-central1").changed
    assert gcp.calls("POST", INSTANCE + "/reset") == 1


def test_gcp_instance_gone_says_so(gcp):
    adapter = gcp_adapter(gcp)
    gcp.add_instance(PROJECT, name="web-1")
    gcp.remove(PROJECT, "instance", "web-1")
    rid = f"projects/{PROJECT}/zones/us-central1-a/instances/web-1"
    with pytest.raises(CloudError, match="GCP instance web-1 no longer exists") as gone:
        adapter.vm_action("start", rid, "us-central1")
    assert gone.value.code == "NotFound"
    assert gcp.calls("POST", INSTANCE + "/start") == 0
