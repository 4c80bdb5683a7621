"""Syncs that real provider data cannot break: items without a name or an id, ids listed
twice, scopes that disappear, resources the provider calls gone, a scope that cannot be
written. The real sync code and SDKs against the emulators (moto behind our proxy, the Azure
and GCP fakes)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from emulators.proxy import ForwardingProxy
from inventory.models import Resource, ResourceEvent, ResourceTally, SyncRun
from inventory.services.sync import cloud_account_sync
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account, azure_account, gcp_account

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUBS = ["aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"]
VMS = "Microsoft.Compute/virtualMachines"


def _live(account, **filters):
    return Resource.objects.filter(account=account, deleted_at__isnull=True, **filters)


def _default_vpc(aws, region: str) -> int:
    """Resources of a region's default VPC: itself, its subnets (one per zone), its security
    group."""
    return 1 + len(aws.client("ec2", region).describe_subnets()["Subnets"]) + 1


def _live_tally(account) -> int:
    return sum(
        ResourceTally.objects.filter(account=account, live=True).values_list("count", flat=True)
    )


@pytest.fixture
def subscriptions(azure):
    for i, sub in enumerate(SUBS):
        azure.add_subscription(sub, f"Sub {i}", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", SUBS)
    return azure


# --- items without a name, without an id, listed twice ------------------------------------
def test_odd_items_become_the_expected_rows_and_are_counted_on_the_run(
    subscriptions, org, alice, login, token_for
):
    azure = subscriptions
    sub = SUBS[0]
    web = azure.add_vm(sub, name="web-1", tags={"env": "prod"})
    azure.add_disk(sub, name="data-1")
    azure.add_storage_account(sub, name="acmelogs")
    azure.add_virtual_network(sub, name="vnet-1")
    unnamed_id = f"/subscriptions/{sub}/resourceGroups/rg-x/providers/{VMS}/no-name-vm"
    # ARM documents `name` as read-only and optional; `id` too.
    azure.add_raw(sub, VMS, {"id": unnamed_id, "location": "westeurope", "properties": {}})
    azure.add_raw(sub, VMS, {"name": "ghost", "location": "westeurope", "properties": {}})
    azure.add_raw(sub, VMS, {**web, "tags": {"team": "web"}})  # web-1 once more
    account = azure_account(org, TENANT, CLIENT, "secret", [sub])

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    rows = Resource.objects.filter(account=account)
    assert sorted(rows.values_list("name", "type")) == [
        ("acmelogs", "storage"),
        ("data-1", "disk"),
        ("default", "subnet"),  # of vnet-1
        ("no-name-vm", "vm"),  # the last segment of its id
        ("vnet-1", "network"),
        ("web-1", "vm"),
    ]
    assert rows.get(name="web-1").tags == {"env": "prod", "team": "web"}  # merged
    assert rows.get(name="no-name-vm").status == "unknown"
    assert (run.created, run.skipped, run.merged) == (6, 1, 1)
    assert run.notes == [
        f"1 item skipped: no id (in subscription {sub}: virtual machine ghost)",
        f"1 duplicate id merged (in subscription {sub}): {web['id']}",
    ]

    client = login(alice)
    progress = client.get(reverse("inventory:sync_run_progress", args=[run.pk]))
    page = client.get(reverse("inventory:account_detail", args=[account.pk]))
    for response in (progress, page):
        text = response.content.decode()
        assert "1 item skipped: no id (in subscription" in text
        assert "virtual machine ghost" in text
        assert "1 duplicate id merged" in text
    api = Client(headers={"Authorization": f"Bearer {token_for(alice)}"})
    answer = api.get(f"/api/sync-runs/{run.pk}").json()
    assert (answer["skipped"], answer["merged"], answer["notes"]) == (1, 1, run.notes)

    again = cloud_account_sync(account=account)  # the same listing: nothing moves
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert (again.skipped, again.merged) == (1, 1)


# --- scopes that disappear ------------------------------------------------------------
def test_a_disabled_aws_region_is_retired_with_events(aws, org, settings):
    aws_estate.instances(aws, "eu-west-1", 2)
    aws_estate.instances(aws, "us-east-1", 1)
    account = aws_account(org, aws.create_user_key("reader"), regions=[])
    with ForwardingProxy(aws.url) as proxy:
        settings.AWS_ENDPOINT_URL = proxy.url
        first = cloud_account_sync(account=account)
        assert first.status == SyncRun.State.SUCCEEDED, first.scope_errors
        in_eu = _live(account, scope="eu-west-1").count()
        assert in_eu == 2 + 2 + _default_vpc(aws, "eu-west-1")  # instances, their volumes
        before = _live_tally(account)

        proxy.disabled_regions = {"eu-west-1"}
        run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert "eu-west-1" not in run.scope_errors
    assert not _live(account, scope="eu-west-1").exists()
    assert Resource.objects.filter(account=account, scope="eu-west-1").count() == in_eu  # kept
    assert _live(account, scope="us-east-1").count() == 2 + _default_vpc(aws, "us-east-1")
    deleted = ResourceEvent.objects.filter(sync_run=run, kind="deleted")
    assert deleted.count() == in_eu
    assert set(deleted.values_list("resource__scope", flat=True)) == {"eu-west-1"}
    assert run.removed == in_eu
    assert f"region eu-west-1 no longer enabled: {in_eu} resources removed" in run.notes
    assert _live_tally(account) == before - in_eu


def test_a_region_taken_out_of_the_settings_is_retired(aws, org):
    aws_estate.instances(aws, "eu-west-1", 1)
    aws_estate.instances(aws, "us-east-1", 1)
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1", "us-east-1"])
    cloud_account_sync(account=account)
    account.config = {**account.config, "regions": ["us-east-1"]}
    account.save()

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert not _live(account, scope="eu-west-1").exists()
    assert _live(account, scope="us-east-1").count() == 2 + _default_vpc(aws, "us-east-1")
    removed = 2 + _default_vpc(aws, "eu-west-1")  # an instance, its volume
    assert run.notes == [
        f"region eu-west-1 no longer in the account's settings: {removed} resources removed"
    ]


def test_a_failed_listing_of_scopes_retires_nothing(aws, org, settings):
    aws_estate.instances(aws, "eu-west-1", 1)
    account = aws_account(org, aws.create_user_key("reader"), regions=[])
    cloud_account_sync(account=account)
    live = _live(account).count()
    with ForwardingProxy(aws.url) as proxy:
        proxy.fail_when = lambda r: b"Action=DescribeRegions" in r.body
        settings.AWS_ENDPOINT_URL = proxy.url
        run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.FAILED
    assert "list the enabled regions" in run.error
    assert _live(account).count() == live
    assert not ResourceEvent.objects.filter(sync_run=run).exists()


def test_a_removed_azure_subscription_is_retired_with_events(subscriptions, org):
    azure = subscriptions
    for i, sub in enumerate(SUBS):
        azure.add_vm(sub, name=f"vm-{i}")
        azure.add_disk(sub, name=f"disk-{i}")
    account = azure_account(org, TENANT, CLIENT, "secret", SUBS)
    cloud_account_sync(account=account)
    assert _live(account, scope=SUBS[1]).count() == 2

    azure.remove_subscription(SUBS[1])
    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert run.scopes_total == 1
    assert not _live(account, scope=SUBS[1]).exists()
    assert _live(account, scope=SUBS[0]).count() == 2
    assert ResourceEvent.objects.filter(sync_run=run, kind="deleted").count() == 2
    assert run.notes == [
        f"subscription {SUBS[1]} no longer visible to the application: 2 resources removed"
    ]


def test_a_deleted_gcp_project_is_retired_with_events(gcp, org):
    key = gcp.add_service_account("acme-prod", projects=["acme-prod", "acme-old"])
    for project in ("acme-prod", "acme-old"):
        gcp.add_instance(project, name=f"{project}-vm")
        gcp.add_bucket(project, name=f"{project}-assets")
    account = gcp_account(org, key, ["acme-prod", "acme-old"])
    cloud_account_sync(account=account)
    assert _live(account, scope="acme-old").count() == 2

    gcp.remove_project("acme-old")
    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert not _live(account, scope="acme-old").exists()
    assert _live(account, scope="acme-prod").count() == 2
    assert ResourceEvent.objects.filter(sync_run=run, kind="deleted").count() == 2
    assert run.notes == ["project acme-old no longer exists: 2 resources removed"]


# --- terminated means gone ------------------------------------------------------------
def test_a_terminated_instance_is_a_tombstone(aws, org, alice, login):
    ids = aws_estate.instances(aws, "eu-west-1", 2)
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    cloud_account_sync(account=account)
    vms_before = _live(account, type="vm").count()
    aws.client("ec2", "eu-west-1").terminate_instances(InstanceIds=[ids[1]])

    run = cloud_account_sync(account=account)

    row = Resource.objects.get(account=account, resource_id=ids[1])
    assert row.status == "terminated"
    assert row.deleted_at is not None
    event = ResourceEvent.objects.get(resource=row, sync_run=run)
    assert (event.kind, event.old_status, event.new_status) == ("deleted", "running", "terminated")
    assert run.removed >= 1
    assert _live(account, type="vm").count() == vms_before - 1
    vm_tally = ResourceTally.objects.filter(account=account, live=True, type="vm")
    assert sum(t.count for t in vm_tally) == vms_before - 1
    assert not vm_tally.filter(status="terminated").exists()

    client = login(alice)
    listed = client.get(reverse("inventory:resource_list")).content.decode()
    assert ids[0] in listed
    assert ids[1] not in listed
    response = client.get(reverse("inventory:resource_export"))
    csv = b"".join(response.streaming_content).decode()
    assert ids[0] in csv
    assert ids[1] not in csv
    with_gone = client.get(reverse("inventory:resource_list") + "?include_deleted=1")
    assert ids[1] in with_gone.content.decode()

    again = cloud_account_sync(account=account)  # still listed as terminated: nothing moves
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert Resource.objects.get(pk=row.pk).deleted_at == row.deleted_at


def test_azure_and_gcp_resources_being_deleted_are_tombstones(subscriptions, gcp, org):
    azure = subscriptions
    sub = SUBS[0]
    rid = f"/subscriptions/{sub}/resourceGroups/rg/providers/{VMS}/going"
    azure.add_raw(sub, VMS, {"id": rid, "name": "going", "location": "westeurope",
                             "properties": {"provisioningState": "Deleting"}})  # fmt: skip
    azure_run = cloud_account_sync(account=azure_account(org, TENANT, CLIENT, "secret", [sub]))
    going = Resource.objects.get(resource_id=rid)
    assert (going.status, going.deleted_at is not None) == ("deleting", True)
    assert azure_run.status == SyncRun.State.SUCCEEDED

    key = gcp.add_service_account("acme-prod")
    gcp.add_disk("acme-prod", name="old-disk", status="DELETING")
    gcp.add_disk("acme-prod", name="new-disk")
    cloud_account_sync(account=gcp_account(org, key))
    assert Resource.objects.get(name="old-disk").deleted_at is not None
    assert Resource.objects.get(name="new-disk").deleted_at is None


# --- a scope that cannot be written ----------------------------------------------------
def _refuse_inserts_into(scope: str) -> None:
    """A database trigger that refuses every row of `scope`: a real failure while writing."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_scope() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.scope = '{scope}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_scope BEFORE INSERT ON inventory_resource "
                "FOR EACH ROW EXECUTE FUNCTION refuse_scope()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_scope BEFORE INSERT ON inventory_resource "
                f"WHEN NEW.scope = '{scope}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )


def test_a_scope_that_cannot_be_written_fails_alone_and_keeps_its_rows(aws, org):
    eu = aws_estate.instances(aws, "eu-west-1", 2)
    aws_estate.instances(aws, "us-east-1", 1)
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1", "us-east-1"])
    cloud_account_sync(account=account)
    before = set(
        Resource.objects.filter(account=account, scope="eu-west-1").values_list(
            "resource_id", "status", "fingerprint", "deleted_at"
        )
    )
    ec2 = aws.client("ec2", "eu-west-1")
    ec2.stop_instances(InstanceIds=[eu[0]])
    ec2.create_vpc(CidrBlock="10.9.0.0/16")
    aws_estate.instances(aws, "us-east-1", 1)
    _refuse_inserts_into("eu-west-1")

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.PARTIAL
    assert list(run.scope_errors) == ["eu-west-1"]
    assert run.scope_errors["eu-west-1"].startswith("Its resources could not be saved (")
    after = set(
        Resource.objects.filter(account=account, scope="eu-west-1").values_list(
            "resource_id", "status", "fingerprint", "deleted_at"
        )
    )
    assert after == before
    assert _live(account, scope="us-east-1", type="vm").count() == 2  # written
    assert not ResourceEvent.objects.filter(sync_run=run, resource__scope="eu-west-1").exists()


# --- words ------------------------------------------------------------------------------
def test_an_azure_account_whose_subscriptions_all_fail_says_subscription(subscriptions, org):
    azure = subscriptions
    azure.faults.retry_after = 0
    azure.add_vm(SUBS[0], name="vm-1")
    account = azure_account(org, TENANT, CLIENT, "secret", [SUBS[0]])
    azure.graph_skip_token_override = "c2FtZQ=="  # a token that leads back to page one
    azure.graph_page_size = 1
    azure.add_vm(SUBS[0], name="vm-2")

    run = cloud_account_sync(account=account)

    assert run.status == SyncRun.State.FAILED
    assert run.error == "Every subscription failed."
    assert run.scope_errors[SUBS[0]] == (
        "Azure gave an unusable token for the next page while trying to list the resources "
        f"of subscription {SUBS[0]}"
    )
