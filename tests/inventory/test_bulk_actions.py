"""Bulk actions through the one service, against the GCP fake: what is acted on and what is
skipped (and why), failures that do not stop the rest, a resource that vanished, one re-sync
per scope, cancellation, roles, the audit, and that the provider's rate limit is kept (the
fake's own clock of the calls it received says so)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent
from inventory import tasks
from inventory.models import ActionRun, BulkAction, Resource, ResourceEvent
from inventory.services.bulk_actions import (
    bulk_action_cancel,
    bulk_action_figures,
    bulk_action_plan,
    bulk_actions_settle_lost,
    start_bulk_action,
)
from inventory.services.sync import cloud_account_sync
from mcloud.errors import ActionRefused
from provisioning.models import DeploymentResource
from tests.inventory.factories import gcp_account
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db

PROJECT = "acme-prod"
INSTANCES = rf"/compute/v1/projects/{PROJECT}/zones/[^/]+/instances"
LIST = rf"/compute/v1/projects/{PROJECT}/aggregated/instances"


@pytest.fixture
def fleet(gcp, org, settings) -> dict[str, Resource]:
    """Five VMs (web-1..3 running, idle stopped, gone-soon running) and a disk."""
    settings.ACTION_RATE_LIMITS = "gcp=1000/1000"  # no waiting, unless a test says so
    key = gcp.add_service_account(PROJECT)
    for name in ("web-1", "web-2", "web-3", "gone-soon"):
        gcp.add_instance(PROJECT, name=name)
    gcp.add_instance(PROJECT, name="idle", status="TERMINATED")
    gcp.add_disk(PROJECT, name="spare")
    account = gcp_account(org, key)
    assert cloud_account_sync(account=account).status == "succeeded"
    return {r.name: r for r in Resource.objects.filter(account=account)}


def run_bulk(org, user, action, ids, capture, **kwargs) -> BulkAction:
    with capture(execute=True):
        bulk = start_bulk_action(
            organization=org, user=user, action=action, resources=ids, **kwargs
        )
    bulk.refresh_from_db()
    return bulk


def reasons(bulk: BulkAction) -> dict[str, tuple[str, str]]:
    return {r.resource.name: (r.status, r.outcome) for r in bulk.runs.select_related("resource")}


def test_a_bulk_stop_acts_skips_and_says_why(
    fleet, org, bob, gcp, django_capture_on_commit_callbacks
):
    ids = [r.pk for r in fleet.values()]
    gcp.remove(PROJECT, "instance", "gone-soon")  # the inventory still lists it
    bulk = run_bulk(org, bob, "stop", ids, django_capture_on_commit_callbacks)

    assert bulk.status == BulkAction.State.FINISHED
    seen = reasons(bulk)
    assert seen["web-1"] == ("succeeded", "GCP stopped web-1 (it was RUNNING).")
    assert seen["idle"] == ("skipped", "Nothing to do: the VM is already stopped.")
    assert seen["spare"][0] == "skipped"
    assert "Only virtual machines" in seen["spare"][1]
    assert seen["gone-soon"][0] == "failed"
    assert "no longer exists" in seen["gone-soon"][1]
    figures = bulk_action_figures(bulk=bulk)
    assert (figures.total, figures.done, figures.skipped, figures.failed, figures.gone) == (
        6, 3, 2, 1, 1,
    )  # fmt: skip
    assert gcp.calls("POST", INSTANCES + "/(web-1|web-2|web-3)/stop") == 3
    assert gcp.calls("POST", INSTANCES + "/idle/stop") == 0
    # One re-sync of the project after the runs, not one per VM; the inventory shows it.
    assert gcp.calls("GET", LIST) == 2  # the fixture's sync, then the bulk action's re-sync
    statuses = dict(Resource.objects.filter(pk__in=ids).values_list("name", "status"))
    assert statuses["web-2"] == "stopped"
    assert Resource.objects.get(name="gone-soon").deleted_at is not None
    run = bulk.runs.get(resource__name="web-3")
    assert (run.status_before, run.status_after) == ("running", "stopped")
    assert ResourceEvent.objects.filter(action_run__bulk=bulk, kind="action").count() == 4
    audited = list(
        AuditEvent.objects.filter(action__startswith="resource.bulk")
        .order_by("id")
        .values_list("action", "actor_label", "data__done", "data__failed")
    )
    assert audited == [
        ("resource.bulk_action_requested", bob.email, None, None),
        ("resource.bulk_action_finished", bob.email, 3, 1),
    ]


def test_starting_running_vms_is_a_noop_that_sends_nothing(
    fleet, org, bob, gcp, django_capture_on_commit_callbacks
):
    ids = [fleet[name].pk for name in ("web-1", "web-2")]
    bulk = run_bulk(org, bob, "start", ids, django_capture_on_commit_callbacks)
    assert bulk.status == BulkAction.State.FINISHED
    assert set(reasons(bulk).values()) == {
        ("skipped", "Nothing to do: the VM is already running."),
    }
    assert gcp.calls("POST", INSTANCES + "/.*") == 0


def test_a_managed_vm_is_skipped_naming_its_deployment(
    fleet, org, bob, hello_version, django_capture_on_commit_callbacks
):
    deployment = make_deployment(org, bob, hello_version, "hello-1")
    vm = fleet["web-1"]
    DeploymentResource.objects.create(
        organization=org, deployment=deployment, address="x.y",
        provider_id=vm.resource_id, key=vm.resource_id.lower(),
    )  # fmt: skip
    plan = bulk_action_plan(organization=org, action="stop", resources=[vm.pk, fleet["web-2"].pk])
    assert plan.to_act == 1
    assert plan.skips == [("The deployment hello-1 manages it: change it through its "
                           "deployment, or Terraform would undo it.", 1)]  # fmt: skip
    bulk = run_bulk(org, bob, "stop", [vm.pk], django_capture_on_commit_callbacks)
    assert reasons(bulk)["web-1"][0] == "skipped"
    assert bulk.status == BulkAction.State.FINISHED


def test_the_plan_counts_accounts_providers_and_reasons(fleet, org):
    plan = bulk_action_plan(
        organization=org, action="stop", resources=Resource.objects.filter(type="vm")
    )
    assert (plan.total, plan.to_act) == (5, 4)
    assert [(a.name, a.provider, a.count) for a in plan.accounts] == [("gcp-main", "gcp", 5)]
    assert plan.providers == [("GCP", 5)]
    assert plan.skips == [("Nothing to do: the VM is already stopped.", 1)]


def test_a_failure_does_not_stop_the_others(
    fleet, org, bob, gcp, django_capture_on_commit_callbacks
):
    # The inventory thinks "idle" runs; the provider says it is stopped: rebooting it fails.
    Resource.objects.filter(pk=fleet["idle"].pk).update(status="running")
    ids = [fleet[name].pk for name in ("idle", "web-1", "web-2")]
    bulk = run_bulk(org, bob, "reboot", ids, django_capture_on_commit_callbacks)
    seen = reasons(bulk)
    assert seen["idle"] == (
        "failed",
        "Cannot reboot GCP instance idle: it is stopped: start it instead.",
    )
    assert seen["web-1"][0] == seen["web-2"][0] == "succeeded"
    assert gcp.calls("POST", INSTANCES + "/(web-1|web-2)/reset") == 2
    assert bulk.status == BulkAction.State.FINISHED


def test_cancelling_leaves_running_runs_and_cancels_the_rest(
    fleet, org, bob, alice, gcp, django_capture_on_commit_callbacks
):
    ids = [fleet[name].pk for name in ("web-1", "web-2", "web-3")]
    with django_capture_on_commit_callbacks() as queued:
        bulk = start_bulk_action(organization=org, user=bob, action="stop", resources=ids)
    first = bulk.runs.order_by("id").first()
    ActionRun.objects.filter(pk=first.pk).update(status="running")  # a worker has it
    assert bulk_action_cancel(bulk=bulk, user=alice) == 2
    for callback in queued:
        callback()  # the dispatch: the cancelled runs' tasks do nothing
    assert gcp.calls("POST", INSTANCES + "/.*") == 0
    bulk.refresh_from_db()
    assert bulk.status == BulkAction.State.RUNNING  # the running one is still going
    with pytest.raises(ActionRefused, match="cancelled already"):
        bulk_action_cancel(bulk=bulk, user=alice)
    ActionRun.objects.filter(pk=first.pk).update(status="succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        assert bulk_actions_settle_lost() == 1  # the recovery's backstop settles it
    bulk.refresh_from_db()
    assert bulk.status == BulkAction.State.CANCELLED
    figures = bulk_action_figures(bulk=bulk)
    assert (figures.cancelled, figures.done) == (2, 1)
    assert AuditEvent.objects.filter(action="resource.bulk_action_cancelled").count() == 1


@pytest.mark.parametrize("who", ["vera", "charlie"])
def test_viewers_and_outsiders_cannot_ask(fleet, org, team, who):
    with pytest.raises(PermissionDenied):
        start_bulk_action(
            organization=org, user=team[who], action="stop", resources=[fleet["web-1"].pk]
        )
    assert not BulkAction.objects.exists()


def test_another_organizations_resources_are_never_included(fleet, other_org, bob, team):
    with pytest.raises(ActionRefused, match="Nothing to act on"):
        start_bulk_action(
            organization=other_org, user=team["charlie"], action="stop",
            resources=[fleet["web-1"].pk],
        )  # fmt: skip


def test_bad_input_changes_nothing(fleet, org, bob, settings):
    with pytest.raises(ActionRefused, match="Unknown action"):
        start_bulk_action(organization=org, user=bob, action="delete", resources=[1])
    settings.BULK_ACTION_MAX = 2
    with pytest.raises(ActionRefused, match="at most 2"):
        start_bulk_action(
            organization=org, user=bob, action="stop", resources=Resource.objects.all()
        )
    assert not BulkAction.objects.exists()


def test_a_schedule_asks_with_no_user(fleet, org, django_capture_on_commit_callbacks):
    bulk = run_bulk(
        org, None, "stop", [fleet["web-1"].pk], django_capture_on_commit_callbacks,
        source="schedule",
    )  # fmt: skip
    assert (bulk.status, bulk.source) == ("finished", "schedule")
    assert bulk_action_figures(bulk=bulk).done == 1


def test_a_dead_workers_run_is_failed_and_the_bulk_action_settles(
    fleet, org, bob, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        bulk = start_bulk_action(
            organization=org, user=bob, action="stop", resources=[fleet["web-1"].pk]
        )
    ActionRun.objects.filter(bulk=bulk).update(status="running")  # its worker died
    with django_capture_on_commit_callbacks(execute=True):
        tasks.recover_abandoned_runs()
    bulk.refresh_from_db()
    assert bulk.status == BulkAction.State.FINISHED
    assert bulk_action_figures(bulk=bulk).failed == 1


def test_the_providers_rate_limit_is_kept(
    fleet, org, bob, gcp, settings, django_capture_on_commit_callbacks
):
    settings.ACTION_RATE_LIMITS = "gcp=8/1"  # one at once, then one every 1/8 s
    ids = [fleet[name].pk for name in ("web-1", "web-2", "web-3", "gone-soon")]
    bulk = run_bulk(org, bob, "stop", ids, django_capture_on_commit_callbacks)
    assert bulk_action_figures(bulk=bulk).done == 4
    reads = gcp.call_times("GET", INSTANCES + "/[^/]+")  # each action reads its VM first
    first_reads = reads[:4]
    # Four actions at 8 a second with a bucket of one: the last goes at least 3/8 s after
    # the first, however fast the machine (a lower bound: never the time of the work).
    assert first_reads[-1] - first_reads[0] >= 3 / 8 - 0.01
