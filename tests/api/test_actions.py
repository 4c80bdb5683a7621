"""The API's VM actions: 202 with the run at once (never waiting on the provider), the run
read back once done, and the same roles and tenancy as the pages."""

from __future__ import annotations

import pytest

from inventory.models import Resource
from inventory.services.sync import cloud_account_sync
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db


def test_the_api_queues_an_action_with_202_and_reads_its_run(
    aws, org, bob, vera, charlie, token_for, api, django_capture_on_commit_callbacks
):
    aws_estate.instances(aws, "eu-west-1", 1)
    account = aws_account(org, aws.create_user_key("operator"), regions=["eu-west-1"])
    cloud_account_sync(account=account)
    vm = Resource.objects.get(account=account, type="vm")
    url = f"/api/resources/{vm.pk}/actions/stop"
    assert api(token_for(vera)).post(url).status_code == 403
    assert api(token_for(charlie)).post(url).status_code == 404
    assert api(token_for(bob)).post(f"/api/resources/{vm.pk}/actions/explode").status_code == 409

    client = api(token_for(bob))
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(url)
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"  # the answer did not wait on AWS
    run = client.get(f"/api/action-runs/{queued.json()['id']}").json()
    assert (run["status"], run["requested_by"], run["status_after"]) == (
        "succeeded", bob.email, "stopped",
    )  # fmt: skip
    assert api(token_for(charlie)).get(f"/api/action-runs/{run['id']}").status_code == 404
