"""Drift from the inventory: a deployment whose state names real resources of the AWS
emulator (moto's server, synced by the real sync code) is marked drifted by the next sync
after its resources are deleted, resized or retagged outside Terraform, before any plan;
back in line, it is cleared. The state is built as Terraform's AWS provider writes it (no
cloud provider plans offline)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.models import AuditEvent
from inventory.models import SyncRun
from inventory.services.sync import cloud_account_sync
from provisioning.drift_attributes import expected_attributes
from provisioning.models import Deployment, DeploymentDrift, DeploymentResource
from provisioning.services.drift import drift_compare, terraform_differences
from provisioning.services.state import DatabaseStateStore
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db

REGION = "eu-west-1"
TAGS = {"Name": "web", "env": "prod"}


def aws_instance_state(*instance_ids: str, account_id: str = "123456789012") -> bytes:
    """A state as the AWS provider writes it for `aws_instance.web` (count = n), with a
    null_resource beside it that no inventory lists."""
    instances = [
        {"index_key": n, "schema_version": 1, "attributes": {
            "id": rid, "arn": f"arn:aws:ec2:{REGION}:{account_id}:instance/{rid}",
            "instance_type": "t3.micro", "instance_state": "running",
            "availability_zone": f"{REGION}a", "tags": {"Name": "web"}, "tags_all": TAGS,
            "user_data": None}}
        for n, rid in enumerate(instance_ids)
    ]  # fmt: skip
    resources: list[dict[str, Any]] = [
        {"mode": "managed", "type": "aws_instance", "name": "web",
         "provider": 'provider["registry.terraform.io/hashicorp/aws"]', "instances": instances},
        {"mode": "managed", "type": "null_resource", "name": "marker",
         "provider": 'provider["registry.terraform.io/hashicorp/null"]',
         "instances": [{"schema_version": 0, "attributes": {"id": "4242", "triggers": None}}]},
    ]  # fmt: skip
    return json.dumps(
        {"version": 4, "terraform_version": "1.0.3", "serial": 3, "lineage": "l",
         "outputs": {}, "resources": resources}
    ).encode()  # fmt: skip


@pytest.fixture
def account(aws, org):
    return aws_account(org, aws.create_user_key("reader"), regions=[REGION])


@pytest.fixture
def web(aws, account, org, alice, hello_version):
    """Four instances, synced, and an applied deployment whose state holds them."""
    ids = aws_estate.instances(aws, REGION, 4, **TAGS)
    deployment = make_deployment(org, alice, hello_version, "web-stack")
    DatabaseStateStore(deployment).save(aws_instance_state(*ids))
    Deployment.objects.filter(pk=deployment.pk).update(
        status=Deployment.Status.ACTIVE, account=account
    )
    assert cloud_account_sync(account=account).status == SyncRun.State.SUCCEEDED
    return deployment, ids


def _scheduled_sync(account) -> None:
    run = cloud_account_sync(account=account, trigger=SyncRun.Trigger.SCHEDULED)
    assert run is not None
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors


def test_a_deployment_in_line_with_the_inventory_is_not_drifted(web):
    deployment, _ = web
    drift = DeploymentDrift.objects.get(deployment=deployment)
    assert drift.inventory_checked_at is not None
    assert (drift.is_drifted, drift.inventory_differences) == (False, [])


def test_deleted_resized_and_retagged_resources_drift_after_the_next_sync(aws, account, web):
    deployment, (gone, resized, retagged, unchanged) = web
    ec2 = aws.client("ec2", REGION)
    ec2.terminate_instances(InstanceIds=[gone])
    ec2.stop_instances(InstanceIds=[resized])
    ec2.modify_instance_attribute(InstanceId=resized, InstanceType={"Value": "t3.large"})
    ec2.start_instances(InstanceIds=[resized])
    ec2.create_tags(Resources=[retagged], Tags=[{"Key": "env", "Value": "dev"},
                                                 {"Key": "owner", "Value": "eve"}])  # fmt: skip

    _scheduled_sync(account)  # a scheduled sync: no one pressed "Sync now", no plan ran

    drift = DeploymentDrift.objects.get(deployment=deployment)
    assert drift.is_drifted
    found = {(d["resource_id"], d["attribute"]): d for d in drift.inventory_differences}
    assert set(found) == {(gone, "existence"), (resized, "size"), (retagged, "tags")}
    assert found[gone, "existence"]["kind"] == "deleted"
    assert found[gone, "existence"]["address"] == "aws_instance.web[0]"
    assert (found[resized, "size"]["expected"], found[resized, "size"]["actual"]) == (
        "t3.micro", "t3.large",
    )  # fmt: skip
    assert found[retagged, "tags"]["expected"] == "env=prod, owner (none)"
    assert found[retagged, "tags"]["actual"] == "env=dev, owner=eve"
    assert all(d["resource_id"] != unchanged for d in drift.inventory_differences)
    assert AuditEvent.objects.filter(action="deployment.drift_found").count() == 1

    # The next sync finds the same drift: still drifted, not found again.
    since = drift.drifted_since
    _scheduled_sync(account)
    drift.refresh_from_db()
    assert drift.drifted_since == since
    assert AuditEvent.objects.filter(action="deployment.drift_found").count() == 1

    # Put back in line (the tags, the size; the deleted one leaves the state as a plan and
    # apply would): the next sync clears it.
    ec2.create_tags(Resources=[retagged], Tags=[{"Key": "env", "Value": "prod"}])
    ec2.delete_tags(Resources=[retagged], Tags=[{"Key": "owner"}])
    ec2.stop_instances(InstanceIds=[resized])
    ec2.modify_instance_attribute(InstanceId=resized, InstanceType={"Value": "t3.micro"})
    ec2.start_instances(InstanceIds=[resized])
    DatabaseStateStore(deployment).save(aws_instance_state(resized, retagged, unchanged))
    _scheduled_sync(account)
    drift.refresh_from_db()
    assert (drift.is_drifted, drift.inventory_differences) == (False, [])
    assert AuditEvent.objects.filter(action="deployment.drift_cleared").count() == 1


def test_a_destroyed_or_new_deployment_is_not_checked(aws, account, web):
    deployment, (gone, *_) = web
    Deployment.objects.filter(pk=deployment.pk).update(status=Deployment.Status.DESTROYED)
    aws.client("ec2", REGION).terminate_instances(InstanceIds=[gone])
    _scheduled_sync(account)
    assert not DeploymentDrift.objects.get(deployment=deployment).is_drifted


def test_another_organizations_deployment_naming_the_same_ids_is_left_alone(
    aws, account, web, other_org, charlie, hello_version
):
    _, ids = web
    theirs = make_deployment(other_org, charlie, hello_version, "theirs")
    DatabaseStateStore(theirs).save(aws_instance_state(*ids))
    Deployment.objects.filter(pk=theirs.pk).update(status=Deployment.Status.ACTIVE)
    aws.client("ec2", REGION).terminate_instances(InstanceIds=[ids[0]])
    _scheduled_sync(account)
    assert not DeploymentDrift.objects.filter(deployment=theirs).exists()


def test_only_what_the_state_says_is_compared():
    # A bucket's state says region and tags; an instance without tags_all (AWS's default
    # tags unknown) has its tags left out; Azure's location is compared without spaces or
    # case; a GCP machine type URL is compared by its name.
    assert expected_attributes(
        "aws_s3_bucket", {"id": "b", "region": "eu-west-1", "tags_all": {"team": "data"}}
    ) == {"region": "eu-west-1", "tags": {"team": "data"}}
    assert expected_attributes("aws_instance", {"id": "i-1", "tags": {"Name": "x"}}) == {}
    assert expected_attributes(
        "azurerm_linux_virtual_machine",
        {"location": "West Europe", "size": "Standard_B1s", "tags": {"a": "1"}},
    ) == {"region": "westeurope", "size": "Standard_B1s", "tags": {"a": "1"}}
    gcp = {"zone": "us-central1-a", "current_status": "RUNNING",
           "machine_type": "projects/p/zones/us-central1-a/machineTypes/e2-small",
           "labels": {"a": "1"},
           "effective_labels": {"a": "1", "goog-terraform-provisioned": "true"}}  # fmt: skip
    assert expected_attributes("google_compute_instance", gcp) == {
        "region": "us-central1", "size": "e2-small", "status": "running", "tags": {"a": "1"},
    }  # fmt: skip
    row = DeploymentResource(address="null_resource.x", key="42", expected={"type": "x"})
    assert drift_compare([row], {}) == []  # never seen by the inventory: nothing to say


def test_terraforms_drift_is_named_by_address_and_attribute_never_by_value():
    plan = {"resource_drift": [
        {"address": "null_resource.token", "mode": "managed", "type": "null_resource",
         "change": {"actions": ["delete"], "before": {"id": "", "triggers": {"token": "s3cr3t"}},
                    "after": None}},
        {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance",
         "change": {"actions": ["update"], "before": {"id": "i-1", "instance_type": "t3.micro",
                                                      "tags": {"k": "s3cr3t"}},
                    "after": {"id": "i-1", "instance_type": "t3.large", "tags": {"k": "x"}}}},
    ]}  # fmt: skip
    found = terraform_differences(plan)
    assert [(d["address"], d["kind"], d["attribute"]) for d in found] == [
        ("null_resource.token", "deleted", "existence"),
        ("aws_instance.web", "changed", "instance_type, tags"),
    ]
    assert "s3cr3t" not in json.dumps(found)
