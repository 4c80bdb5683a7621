"""The API's clean-ups: `POST /api/resources/{id}/actions/{delete|release}` answers 202 with
the run at once (never waiting on the provider), admins only, another organization's resource
a 404; a second admin approves or rejects through `/api/action-runs/{id}/approve|reject`; all
in the OpenAPI schema."""

from __future__ import annotations

import pytest

from billing.models import Finding
from inventory.services.cleanups import action_settings_update
from tests.inventory.test_cleanups import DISK, gcp_waste

pytestmark = pytest.mark.django_db


@pytest.fixture
def waste(gcp, org):
    return gcp_waste(gcp, org)


def test_an_admin_deletes_a_disk_with_202_and_reads_its_run(
    waste, gcp, ada, bob, charlie, token_for, api, django_capture_on_commit_callbacks
):
    url = f"/api/resources/{waste['spare'].pk}/actions/delete"
    assert api(token_for(bob)).post(url).status_code == 403
    assert api(token_for(charlie)).post(url).status_code == 404
    wrong = api(token_for(ada)).post(f"/api/resources/{waste['spare-ip'].pk}/actions/delete")
    assert wrong.status_code == 409
    assert "removed with 'release'" in wrong.json()["error"]["message"]

    client = api(token_for(ada))
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(url)
    assert queued.status_code == 202
    assert (queued.json()["status"], queued.json()["action"]) == ("queued", "delete")
    run = client.get(f"/api/action-runs/{queued.json()['id']}").json()
    assert (run["status"], run["message"]) == ("succeeded", "GCP deleted disk spare.")
    assert gcp.calls("DELETE", DISK) == 1
    assert not Finding.objects.filter(resource=waste["spare"]).exists()


def test_a_second_admin_approves_through_the_api(
    waste, gcp, org, ada, alice, charlie, token_for, api, django_capture_on_commit_callbacks
):
    action_settings_update(organization=org, require_second_approver=True, user=ada)
    asked = api(token_for(ada)).post(f"/api/resources/{waste['spare-ip'].pk}/actions/release")
    assert (asked.status_code, asked.json()["status"]) == (202, "awaiting")
    approve = f"/api/action-runs/{asked.json()['id']}/approve"
    assert api(token_for(charlie)).post(approve).status_code == 404
    assert api(token_for(ada)).post(approve).status_code == 409  # who asked cannot
    with django_capture_on_commit_callbacks(execute=True):
        approved = api(token_for(alice)).post(approve)
    assert approved.status_code == 202
    run = api(token_for(alice)).get(f"/api/action-runs/{asked.json()['id']}").json()
    assert run["status"] == "succeeded"
    assert gcp.calls("DELETE", r".*/addresses/spare-ip") == 1


def test_a_rejection_through_the_api_sends_nothing(waste, gcp, org, ada, alice, token_for, api):
    action_settings_update(organization=org, require_second_approver=True, user=ada)
    asked = api(token_for(ada)).post(f"/api/resources/{waste['old'].pk}/actions/delete")
    rejected = api(token_for(alice)).post(
        f"/api/action-runs/{asked.json()['id']}/reject", {"reason": "keep it"},
        content_type="application/json",
    )  # fmt: skip
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert gcp.calls("DELETE", r".*") == 0


def test_the_clean_ups_are_in_the_schema(api, token_for, vera):
    paths = api(token_for(vera)).get("/api/openapi.json").json()["paths"]
    assert "delete" in paths["/api/resources/{resource_pk}/actions/{action}"]["post"]["description"]
    assert "202" in paths["/api/action-runs/{run_id}/approve"]["post"]["responses"]
    assert "/api/action-runs/{run_id}/reject" in paths
