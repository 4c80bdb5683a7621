"""Clean-ups of waste through the one action service, on the GCP fake: admins only, the
second-approver rule, managed resources refused, audit, the re-sync and the event, the
findings refreshed, and idempotency (a disk already gone: a clear word and no second delete,
the fake's call counts say so)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent
from billing.models import Finding
from billing.services.waste import findings_refresh
from inventory.models import ActionRun, Resource, ResourceEvent
from inventory.services.actions import resource_action_request
from inventory.services.cleanups import (
    action_run_approve,
    action_run_reject,
    action_settings,
    action_settings_update,
    resource_cleanup_refusal,
)
from inventory.services.sync import cloud_account_sync
from mcloud.errors import ActionRefused
from tests.inventory import estate
from tests.inventory.factories import gcp_account

pytestmark = pytest.mark.django_db

PROJECT = "acme-prod"
P = rf"/compute/v1/projects/{PROJECT}"
DISK = P + "/zones/us-central1-a/disks/spare"


@pytest.fixture
def estate_gcp(gcp, org) -> dict[str, Resource]:
    return gcp_waste(gcp, org)


def gcp_waste(gcp, org) -> dict[str, Resource]:
    """A synced GCP project with a VM and one waste finding of each removable kind."""
    key = gcp.add_service_account(PROJECT)
    gcp.add_instance(PROJECT, name="web-1")
    gcp.add_disk(PROJECT, name="spare", size_gb=100)
    gcp.add_address(PROJECT, name="spare-ip", region="us-central1", address="34.1.2.4")
    gcp.add_snapshot(PROJECT, name="old", source_disk="us-central1-a/gone",
                     created="2020-01-01T00:00:00Z")  # fmt: skip
    account = gcp_account(org, key)
    assert cloud_account_sync(account=account).status == "succeeded"
    findings_refresh(organization=org)
    return {r.name: r for r in Resource.objects.filter(account=account)}


def ask(resource, action, user, capture, ip="10.0.0.7"):
    with capture(execute=True):
        run, created = resource_action_request(resource=resource, action=action, user=user, ip=ip)
    run.refresh_from_db()
    return run, created


def test_an_admin_deletes_an_unattached_disk_and_its_finding_goes(
    estate_gcp, ada, org, gcp, django_capture_on_commit_callbacks
):
    disk = estate_gcp["spare"]
    assert Finding.objects.filter(resource=disk).exists()

    run, created = ask(disk, "delete", ada, django_capture_on_commit_callbacks)

    assert created
    assert (run.status, run.message) == ("succeeded", "GCP deleted disk spare."), run.error
    assert gcp.calls("DELETE", DISK) == 1
    disk.refresh_from_db()
    assert disk.deleted_at is not None  # re-synced at once
    assert run.resync_note == ""
    assert not Finding.objects.filter(resource=disk).exists()
    assert Finding.objects.filter(organization=org).count() == 2  # the IP and the snapshot
    event = ResourceEvent.objects.get(resource=disk, kind="action")
    assert event.verb == "delete asked in mcloud: succeeded"
    audited = AuditEvent.objects.filter(action__startswith="resource.").order_by("id")
    assert [a.action for a in audited] == ["resource.action_requested", "resource.action_finished"]
    assert audited[0].ip_address == "10.0.0.7"


def test_an_ip_is_released_and_a_snapshot_deleted(
    estate_gcp, alice, gcp, django_capture_on_commit_callbacks
):
    ip, _ = ask(estate_gcp["spare-ip"], "release", alice, django_capture_on_commit_callbacks)
    snap, _ = ask(estate_gcp["old"], "delete", alice, django_capture_on_commit_callbacks)
    assert (ip.status, ip.message) == ("succeeded", "GCP released address spare-ip.")
    assert (snap.status, snap.message) == ("succeeded", "GCP deleted snapshot old.")
    assert gcp.calls("DELETE", P + "/regions/us-central1/addresses/spare-ip") == 1
    assert gcp.calls("DELETE", P + "/global/snapshots/old") == 1
    left = Finding.objects.values_list("resource__name", flat=True)
    assert list(left) == ["spare"]


def test_a_disk_already_gone_is_a_clear_noop_with_no_delete_sent(
    estate_gcp, ada, gcp, django_capture_on_commit_callbacks
):
    gcp.remove(PROJECT, "disk", "spare")
    run, _ = ask(estate_gcp["spare"], "delete", ada, django_capture_on_commit_callbacks)
    assert run.status == ActionRun.State.NOOP
    assert run.outcome == "Nothing to do: GCP disk spare is already gone."
    assert gcp.calls("DELETE", DISK) == 0
    assert not Finding.objects.filter(resource=estate_gcp["spare"]).exists()

    with pytest.raises(ActionRefused, match="gone"):  # and now the inventory knows
        ask(Resource.objects.get(pk=estate_gcp["spare"].pk), "delete", ada,
            django_capture_on_commit_callbacks)  # fmt: skip


def test_a_disk_attached_meanwhile_is_refused_at_the_provider(
    estate_gcp, ada, gcp, django_capture_on_commit_callbacks
):
    disk = gcp._projects[PROJECT].disks[("us-central1-a", "spare")]
    disk["users"] = [disk["zone"] + "/instances/web-1"]
    run, _ = ask(estate_gcp["spare"], "delete", ada, django_capture_on_commit_callbacks)
    assert run.status == ActionRun.State.FAILED
    assert run.code == "InUse"
    assert run.error == (
        "Not removed: GCP disk spare is used by web-1 at the provider now; the inventory was "
        "behind."
    )
    assert gcp.calls("DELETE", DISK) == 0


@pytest.mark.parametrize("who", ["bob", "vera", "charlie"])
def test_only_admins_remove(estate_gcp, team, who):
    with pytest.raises(PermissionDenied, match="Admin role"):
        resource_action_request(resource=estate_gcp["spare"], action="delete", user=team[who])
    assert not ActionRun.objects.exists()


def test_the_wrong_word_or_resource_is_refused(estate_gcp, ada):
    with pytest.raises(ActionRefused, match="removed with 'release'"):
        resource_action_request(resource=estate_gcp["spare-ip"], action="delete", user=ada)
    with pytest.raises(ActionRefused, match="Only disks, snapshots and IP addresses"):
        resource_action_request(resource=estate_gcp["web-1"], action="delete", user=ada)
    assert not ActionRun.objects.exists()


def test_a_managed_disk_is_removed_only_through_its_deployment(
    estate_gcp, ada, alice, org, hello_version
):
    disk = estate_gcp["spare"]
    estate.deploy(org, alice, hello_version, "web-stack", disk.resource_id)
    assert resource_cleanup_refusal(resource=disk, action="delete").startswith(
        "The deployment web-stack manages it"
    )
    with pytest.raises(ActionRefused, match="web-stack manages it"):
        resource_action_request(resource=disk, action="delete", user=ada)
    assert not ActionRun.objects.exists()


def test_with_a_second_approver_another_admin_approves_then_it_runs(
    estate_gcp, ada, alice, org, gcp, django_capture_on_commit_callbacks
):
    action_settings_update(organization=org, require_second_approver=True, user=ada)
    with django_capture_on_commit_callbacks() as queued:
        run, created = resource_action_request(resource=estate_gcp["spare"], action="delete",
                                               user=ada)  # fmt: skip
    assert (created, run.status, queued) == (True, "awaiting", [])
    again, created_again = resource_action_request(
        resource=estate_gcp["spare"], action="delete", user=alice
    )
    assert (created_again, again.pk) == (False, run.pk)  # asked twice: the same run

    with pytest.raises(ActionRefused, match="another admin than the one who asked"):
        action_run_approve(run=run, user=ada)
    assert gcp.calls("DELETE", DISK) == 0
    with django_capture_on_commit_callbacks(execute=True):
        approved = action_run_approve(run=run, user=alice, ip="10.0.0.8")
    approved.refresh_from_db()
    assert (approved.status, approved.approved_by) == ("succeeded", alice)
    assert gcp.calls("DELETE", DISK) == 1
    with pytest.raises(ActionRefused, match="not awaiting approval"):
        action_run_approve(run=approved, user=alice)
    actions = list(
        AuditEvent.objects.filter(action__startswith="resource.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["resource.action_requested", "resource.action_approved",
                       "resource.action_finished"]  # fmt: skip


def test_a_rejected_removal_sends_nothing(estate_gcp, ada, alice, bob, org, gcp):
    action_settings_update(organization=org, require_second_approver=True, user=alice)
    run, _ = resource_action_request(resource=estate_gcp["spare"], action="delete", user=ada)
    with pytest.raises(PermissionDenied):
        action_run_reject(run=run, user=bob)
    rejected = action_run_reject(run=run, user=alice, reason="still needed")
    assert (rejected.status, rejected.outcome) == (
        "rejected", "Rejected by alice@acme.test: still needed",
    )  # fmt: skip
    assert rejected.is_final
    assert gcp.calls("DELETE", DISK) == 0
    assert Finding.objects.filter(resource=estate_gcp["spare"]).exists()


def test_only_an_owner_stops_requiring_a_second_approver(org, ada, alice, bob):
    with pytest.raises(PermissionDenied):
        action_settings_update(organization=org, require_second_approver=True, user=bob)
    action_settings_update(organization=org, require_second_approver=True, user=ada)
    with pytest.raises(ActionRefused, match="Only an owner"):
        action_settings_update(organization=org, require_second_approver=False, user=ada)
    assert action_settings(org).require_second_approver
    action_settings_update(organization=org, require_second_approver=False, user=alice)
    assert not action_settings(org).require_second_approver
    assert AuditEvent.objects.filter(action="inventory.action_settings_changed").count() == 2
