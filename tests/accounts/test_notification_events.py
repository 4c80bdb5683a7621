"""The events that exist today reach the channels from the services that cause them: a plan
awaiting approval, an apply, a failed run (the real Terraform and the hello blueprint), a
budget threshold, a paused account, a sync failing three times in a row (once per
streak), and drift found (once per new drift, not at every sync that still sees it).
Policy overrides and cost anomalies are told from their own tests."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.models import Notification
from accounts.notifications.events import Event
from accounts.notifications.services import channel_create
from billing.models import Budget
from billing.services.budgets import budgets_evaluate
from inventory.models import SyncRun
from inventory.services.sync import SYNC_FAILING_AFTER, cloud_account_sync
from inventory.tasks import check_all_accounts
from provisioning.services.drift import drift_record
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account
from tests.provisioning.conftest import applied, make_deployment, planned

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack(org, ada, receivers):
    """A Slack channel subscribed to every event."""
    channel, _ = channel_create(
        organization=org,
        kind="slack",
        name="#all",
        user=ada,
        address=receivers.url + "/slack/all",
        events=list(Event),
    )
    return channel


def titles(receivers) -> list[str]:
    return [r.json()["blocks"][0]["text"]["text"] for r in receivers.on("/slack/")]


def test_runs_tell_of_approvals_applies_and_failures(
    org, alice, ada, slack, receivers, hello_version, settings, django_capture_on_commit_callbacks
):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    with django_capture_on_commit_callbacks(execute=True):
        plan = planned(deployment, alice)
    assert titles(receivers) == [f"Plan #{plan.pk} of hello-1 awaits approval"]
    link = receivers.on("/slack/")[0].json()["blocks"][-1]["elements"][0]["url"]
    assert link == f"{settings.SITE_URL}/provisioning/runs/{plan.pk}/"
    fields = receivers.on("/slack/")[0].json()["blocks"][1]["fields"]
    assert {"type": "mrkdwn", "text": "*Changes*\n2 to create, 0 to update, 0 to replace, "
            "0 to destroy"} in fields  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        apply = applied(plan, ada)
    assert titles(receivers)[-1] == f"hello-1 was applied (run #{apply.pk})"

    broken = hello_version.blueprint.versions.create(
        number=99,
        files={"main.tf": 'resource "null_resource" "x" {\n'},
        variables=[],
        checksum="broken",
    )
    with django_capture_on_commit_callbacks(execute=True):
        failed = planned(make_deployment(org, alice, broken, "broken"), alice)
    assert titles(receivers)[-1] == f"Plan #{failed.pk} of broken failed"
    text = receivers.on("/slack/")[-1].json()["blocks"][1]["text"]["text"]
    assert text == failed.error
    assert list(Notification.objects.order_by("id").values_list("event", flat=True)) == [
        "plan.awaiting_approval", "run.applied", "run.failed"
    ]  # fmt: skip


def test_a_budget_threshold_is_told(org, ada, slack, receivers, django_capture_on_commit_callbacks):
    account = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    Budget.objects.create(organization=org, name="Monthly", amount=1000, thresholds=[50, 80])
    store(account, daily(account, date(2026, 11, 1), 10, "55"))
    with django_capture_on_commit_callbacks(execute=True):
        budgets_evaluate(organization=org, today=date(2026, 11, 20))
        budgets_evaluate(organization=org, today=date(2026, 11, 20))  # nothing new
    assert titles(receivers) == ["Monthly: 50% of the budget spent"]
    fields = receivers.on("/slack/")[0].json()["blocks"][2]["fields"]
    assert fields[0]["text"] == "*Spent so far*\n550.00 USD"


def test_a_paused_account_is_told_once(
    aws, org, slack, receivers, scheduled, django_capture_on_commit_callbacks
):
    account = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"))
    for _ in range(5):
        scheduled(check_all_accounts)
    assert titles(receivers) == [f"Cloud account {account.name} was paused"]
    text = receivers.on("/slack/")[0].json()["blocks"][1]["text"]["text"]
    assert text.startswith("Paused after 5 failed checks in a row")


def test_failing_syncs_are_told_once_per_streak(
    aws, org, slack, receivers, django_capture_on_commit_callbacks
):
    assert SYNC_FAILING_AFTER == 3
    account = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"), regions=["eu-west-1"])

    def sync() -> str:
        with django_capture_on_commit_callbacks(execute=True):
            return cloud_account_sync(account=account).status

    assert [sync() for _ in range(2)] == [SyncRun.State.FAILED] * 2
    assert titles(receivers) == []
    assert sync() == SyncRun.State.FAILED
    assert titles(receivers) == ["The sync of aws-prod failed 3 times in a row"]
    assert sync() == SyncRun.State.FAILED  # the same streak: nothing new
    assert len(titles(receivers)) == 1

    good_key = aws.create_user_key("reader")
    account.config["access_key_id"], account.secrets = (
        good_key[0],
        {"secret_access_key": good_key[1]},
    )
    account.save()
    assert sync() == SyncRun.State.SUCCEEDED  # the streak ends
    account.config["access_key_id"], account.secrets = (
        "AKIAUNKNOWNKEY000000",
        {"secret_access_key": "x"},
    )
    account.save()
    assert [sync() for _ in range(3)] == [SyncRun.State.FAILED] * 3
    assert len(titles(receivers)) == 2  # a new streak, told again


def test_drift_is_told_once_per_new_drift(
    org, alice, slack, receivers, hello_version, django_capture_on_commit_callbacks
):
    deployment = make_deployment(org, alice, hello_version, "web-stack")
    gone = {"address": "aws_instance.web", "resource_id": "i-1", "kind": "deleted",
            "attribute": "existence", "expected": "exists", "actual": "deleted"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        drift_record(deployment=deployment, inventory=[])  # in line: nothing to tell
        drift_record(deployment=deployment, inventory=[gone])
        drift_record(deployment=deployment, inventory=[gone])  # the next sync: the same drift
        drift_record(deployment=deployment, terraform=[gone])  # confirmed: still the same
    assert titles(receivers) == ["web-stack has drifted from its Terraform state"]
    link = receivers.on("/slack/")[0].json()["blocks"][-1]["elements"][0]["url"]
    assert link.endswith(f"/provisioning/deployments/{deployment.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        drift_record(deployment=deployment, inventory=[], terraform=[])  # back in line
        drift_record(deployment=deployment, inventory=[gone])  # a new drift
    assert len(titles(receivers)) == 2
