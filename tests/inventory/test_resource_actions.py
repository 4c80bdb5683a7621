"""Start, stop and reboot through the one service: roles, tenancy, audit, the re-sync, and
that an action is sent once (the GCP fake's call counts say so), whatever is asked twice or
delivered twice, and after a worker died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import AuditEvent
from inventory import tasks
from inventory.extensions import ACTION_GUARDS
from inventory.models import ActionRun, Resource, ResourceActionLease, ResourceEvent
from inventory.services.actions import (
    ABANDONED,
    action_lease,
    resource_action_request,
)
from inventory.services.sync import cloud_account_sync
from mcloud.errors import ActionRefused
from mcloud.leases import lease_acquire, runs_recover_all
from tests.inventory.factories import gcp_account

pytestmark = pytest.mark.django_db

PROJECT = "acme-prod"
INSTANCE = rf"/compute/v1/projects/{PROJECT}/zones/us-central1-a/instances/web-1"


@pytest.fixture
def vm(gcp, org) -> Resource:
    key = gcp.add_service_account(PROJECT)
    gcp.add_instance(PROJECT, name="web-1")
    gcp.add_disk(PROJECT, name="spare")
    account = gcp_account(org, key)
    assert cloud_account_sync(account=account).status == "succeeded"
    return Resource.objects.get(account=account, name="web-1")


def ask(vm, action, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run, created = resource_action_request(resource=vm, action=action, user=user, ip="10.0.0.9")
    run.refresh_from_db()
    return run, created


def test_a_member_stops_a_vm_and_the_inventory_shows_it(
    vm, bob, gcp, django_capture_on_commit_callbacks
):
    run, created = ask(vm, "stop", bob, django_capture_on_commit_callbacks)

    assert created
    assert run.status == ActionRun.State.SUCCEEDED, run.error
    assert run.message == "GCP stopped web-1 (it was RUNNING)."
    assert (run.status_before, run.status_after, run.resync_note) == ("running", "stopped", "")
    assert gcp.calls("POST", INSTANCE + "/stop") == 1
    vm.refresh_from_db()
    assert vm.status == "stopped"  # re-synced at once
    kinds = list(ResourceEvent.objects.filter(resource=vm).values_list("kind", flat=True))
    assert kinds == ["action", "status"]
    event = ResourceEvent.objects.get(resource=vm, kind="action")
    assert event.verb == "stop asked in mcloud: succeeded"
    audited = AuditEvent.objects.filter(action__startswith="resource.").order_by("id")
    assert [(a.action, a.actor_label) for a in audited] == [
        ("resource.action_requested", bob.email),
        ("resource.action_finished", bob.email),
    ]
    assert audited[0].ip_address == "10.0.0.9"


def test_starting_a_running_vm_is_a_noop_that_sends_nothing(
    vm, bob, gcp, django_capture_on_commit_callbacks
):
    run, _ = ask(vm, "start", bob, django_capture_on_commit_callbacks)
    assert run.status == ActionRun.State.NOOP
    assert run.outcome == "Nothing to do: GCP instance web-1 is already running."
    assert gcp.calls("POST", INSTANCE + "/start") == 0


def test_asking_twice_answers_the_same_run_and_acts_once(
    vm, bob, alice, gcp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        first, created = resource_action_request(resource=vm, action="stop", user=bob)
        again, created_again = resource_action_request(resource=vm, action="reboot", user=alice)
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert len(queued) == 1
    queued[0]()
    tasks.resource_action(first.pk)  # a twin delivery of the task
    first.refresh_from_db()
    assert first.status == ActionRun.State.SUCCEEDED
    assert gcp.calls("POST", INSTANCE + "/(stop|reset)") == 1


@pytest.mark.parametrize("who", ["vera", "charlie"])
def test_viewers_and_outsiders_cannot_act(vm, team, who):
    with pytest.raises(PermissionDenied):
        resource_action_request(resource=vm, action="stop", user=team[who])
    assert not ActionRun.objects.exists()


def test_only_live_vms_of_active_accounts_are_acted_on(vm, bob):
    disk = Resource.objects.get(name="spare")
    with pytest.raises(ActionRefused, match="Only virtual machines"):
        resource_action_request(resource=disk, action="stop", user=bob)
    with pytest.raises(ActionRefused, match="Unknown action"):
        resource_action_request(resource=vm, action="explode", user=bob)
    vm.account.enabled = False
    vm.account.save()
    with pytest.raises(ActionRefused, match="resume it first"):
        resource_action_request(resource=vm, action="stop", user=bob)
    vm.account.enabled = True
    vm.account.save()
    Resource.objects.filter(pk=vm.pk).update(deleted_at=timezone.now())
    vm.refresh_from_db()
    with pytest.raises(ActionRefused, match="gone"):
        resource_action_request(resource=vm, action="stop", user=bob)


def test_a_guard_refuses_before_anything_is_queued(vm, bob, monkeypatch):
    monkeypatch.setitem(
        ACTION_GUARDS, "test", lambda resource, action: "Managed: use its deployment."
    )
    with pytest.raises(ActionRefused, match="Managed: use its deployment"):
        resource_action_request(resource=vm, action="stop", user=bob)


def test_a_vm_gone_at_the_provider_says_so_and_leaves_the_inventory(
    vm, bob, gcp, django_capture_on_commit_callbacks
):
    gcp.remove(PROJECT, "instance", "web-1")
    run, _ = ask(vm, "stop", bob, django_capture_on_commit_callbacks)
    assert run.status == ActionRun.State.FAILED
    assert run.error == "GCP instance web-1 no longer exists at the provider."
    assert run.code == "NotFound"
    vm.refresh_from_db()
    assert vm.deleted_at is not None  # the re-sync saw it gone
    assert AuditEvent.objects.filter(action="resource.action_failed").count() == 1


def test_a_run_left_running_by_a_killed_worker_is_failed_and_never_repeated(
    vm, bob, gcp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():  # queued, and the worker that takes it dies
        run, _ = resource_action_request(resource=vm, action="stop", user=bob)
    token = lease_acquire(action_lease(vm))
    ActionRun.objects.filter(pk=run.pk).update(status="running", lease_token=token)
    ResourceActionLease.objects.filter(pk=vm.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )

    assert runs_recover_all() == 1
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", ABANDONED)
    assert tasks.resource_action(run.pk) is None  # q2 delivers it again: nothing is sent
    assert gcp.calls("POST", INSTANCE + "/stop") == 0
    assert AuditEvent.objects.filter(action="resource.action_failed").get().data["recovered"]

    again, created = ask(vm, "stop", bob, django_capture_on_commit_callbacks)
    assert created
    assert again.status == "succeeded"
    assert gcp.calls("POST", INSTANCE + "/stop") == 1
