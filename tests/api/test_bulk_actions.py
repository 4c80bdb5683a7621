"""The API's bulk actions: 202 with the bulk action at once (never waiting on a provider), by
ids or by the inventory's filters, read back with its figures; bad input refused with a
clear message and nothing written; the same roles and tenancy as the pages."""

from __future__ import annotations

import json

import pytest

from inventory.models import BulkAction, Resource
from inventory.services.sync import cloud_account_sync
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db
URL = "/api/actions/bulk"


@pytest.fixture
def vms(aws, org, settings) -> list[Resource]:
    settings.ACTION_RATE_LIMITS = "aws=1000/1000"
    aws_estate.instances(aws, "eu-west-1", 3, env="dev")
    aws_estate.instances(aws, "eu-west-1", 1, env="prod")
    account = aws_account(org, aws.create_user_key("operator"), regions=["eu-west-1"])
    cloud_account_sync(account=account)
    return list(Resource.objects.filter(account=account, type="vm"))


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_a_bulk_stop_by_filter_answers_202_and_reads_back(
    vms, bob, token_for, api, aws, django_capture_on_commit_callbacks
):
    client = api(token_for(bob))
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, {"action": "stop", "filter": {"tag": "env=dev", "type": ["vm"]}})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert (body["status"], body["total"], body["source"]) == ("running", 3, "api")
    assert body["queued"] == 3  # the answer did not wait on AWS
    read = client.get(f"{URL}/{body['id']}").json()
    assert (read["status"], read["done"], read["failed"]) == ("finished", 3, 0)
    statuses = {r.tags["env"]: r.status for r in Resource.objects.filter(type="vm")}
    assert statuses == {"dev": "stopped", "prod": "running"}


def test_a_bulk_start_by_ids_skips_what_runs_already(
    vms, bob, token_for, api, django_capture_on_commit_callbacks
):
    client = api(token_for(bob))
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, {"action": "start", "ids": [v.pk for v in vms]})
    assert answer.status_code == 202
    read = client.get(f"{URL}/{answer.json()['id']}").json()
    assert (read["skipped"], read["done"]) == (4, 0)
    assert read["skips"] == [{"reason": "Nothing to do: the VM is already running.", "count": 4}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "stop"}, "ids"),
        ({"action": "stop", "ids": [1], "filter": {}}, "ids"),
        ({"action": "stop", "ids": [2**31]}, "ids"),
        ({"action": "stop", "filter": {"status": ["sleepy"]}}, "filter.status"),
        ({"action": "explode", "ids": [1]}, None),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(vms, bob, token_for, api, body, field):
    answer = post(api(token_for(bob)), body)
    assert answer.status_code == 422, answer.content
    if field:
        assert field in json.dumps(answer.json())
    assert not BulkAction.objects.exists()


def test_roles_and_tenancy(
    vms, bob, vera, charlie, token_for, api, django_capture_on_commit_callbacks
):
    ids = [v.pk for v in vms]
    assert post(api(token_for(vera)), {"action": "stop", "ids": ids}).status_code == 403
    # Another organization's resources are unknown ids there.
    assert post(api(token_for(charlie)), {"action": "stop", "ids": ids}).status_code == 422
    with django_capture_on_commit_callbacks():
        answer = post(api(token_for(bob)), {"action": "stop", "ids": ids})
    bulk_id = answer.json()["id"]
    assert api(token_for(charlie)).get(f"{URL}/{bulk_id}").status_code == 404
    assert api(token_for(charlie)).post(f"{URL}/{bulk_id}/cancel").status_code == 404
    assert api(token_for(vera)).get(f"{URL}/{bulk_id}").status_code == 200
    assert api(token_for(vera)).post(f"{URL}/{bulk_id}/cancel").status_code == 403
    cancelled = api(token_for(bob)).post(f"{URL}/{bulk_id}/cancel")
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["cancelled"]) == ("cancelled", 4)
    assert api(token_for(bob)).post(f"{URL}/{bulk_id}/cancel").status_code == 409


def test_the_schema_documents_bulk_actions(api, bob, token_for):
    schema = api(token_for(bob)).get("/api/openapi.json").json()
    assert "/api/actions/bulk" in schema["paths"]
    assert "202" in schema["paths"]["/api/actions/bulk"]["post"]["responses"]
    assert "/api/actions/bulk/{bulk_id}/cancel" in schema["paths"]
