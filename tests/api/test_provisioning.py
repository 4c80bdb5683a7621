"""The deployments API with the real Terraform and null provider: create, plan, approve and
apply, outputs, the log, destroy, discard, cancel; roles, other organizations, write-only
sensitive values, and query counts. Runs execute inline at commit, as Q_SYNC makes them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from provisioning.models import Deployment, DeploymentRun
from provisioning.services.runs import RUN_ABANDONED, run_plan_queue
from provisioning.services.state import DatabaseStateStore
from provisioning.state_server import StateLock
from tests.provisioning.conftest import SECRET, make_deployment

pytestmark = pytest.mark.django_db
Status = DeploymentRun.Status


@pytest.fixture
def tokens(team, token_for):
    return {name: token_for(user) for name, user in team.items()}


def post(client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_blueprints_list_variables_without_sensitive_defaults(tokens, api, hello_version):
    found = api(tokens["vera"]).get("/api/blueprints").json()
    hello = next(b for b in found if b["slug"] == "hello")
    assert hello["bundled"] is True
    assert hello["version"] == hello_version.number
    variables = {v["name"]: v for v in hello["variables"]}
    assert set(variables) == {"name", "greeting", "sleep_seconds", "secret_token", "labels"}
    assert variables["name"]["default"] == "world"
    assert variables["secret_token"] == {**variables["secret_token"], "sensitive": True,
                                         "default": None}  # fmt: skip


def test_create_plan_approve_apply_outputs_log_and_destroy(
    tokens, api, hello_version, django_capture_on_commit_callbacks
):
    member, admin = api(tokens["bob"]), api(tokens["ada"])
    response = post(member, "/api/deployments", {
        "name": "greeter", "blueprint_id": hello_version.blueprint_id,
        "variables": {"name": "Ada", "secret_token": SECRET, "labels": {"team": "infra"}},
    })  # fmt: skip
    assert response.status_code == 201, response.content
    created = response.json()
    assert SECRET not in response.content.decode()
    assert created["variables"]["labels"] == {"team": "infra"}
    assert created["sensitive_set"] == ["secret_token"]
    assert created["status"] == "new"
    deployment = f"/api/deployments/{created['id']}"

    with django_capture_on_commit_callbacks(execute=True):
        response = post(member, f"{deployment}/plan")
    assert response.status_code == 202, response.content
    plan_id = response.json()["id"]
    plan = member.get(f"/api/runs/{plan_id}").json()
    assert (plan["kind"], plan["status"]) == ("plan", "planned")
    assert plan["changes"]["create"] == 2  # null_resource.greeting and .token

    log = member.get(f"/api/runs/{plan_id}/log").json()
    assert log["finished"] is True
    assert "null_resource.greeting" in log["text"]
    assert log["next_offset"] == len(log["text"])
    tail = member.get(f"/api/runs/{plan_id}/log?offset={log['next_offset']}").json()
    assert tail["text"] == ""
    assert tail["offset"] == tail["next_offset"] == log["next_offset"]

    assert post(member, f"/api/runs/{plan_id}/approve").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = post(admin, f"/api/runs/{plan_id}/approve")
    assert response.status_code == 202, response.content
    apply_id = response.json()["id"]
    applied = member.get(f"/api/runs/{apply_id}").json()
    assert (applied["kind"], applied["status"], applied["plan_run_id"]) == (
        "apply", "applied", plan_id
    )  # fmt: skip
    outputs = member.get(f"{deployment}/outputs").json()
    assert outputs["message"]["value"] == "Hello, Ada!"
    assert outputs["connection_string"] == {**outputs["connection_string"], "sensitive": True,
                                            "value": None}  # fmt: skip
    detail = member.get(deployment)
    assert detail.json()["status"] == "active"
    assert detail.json()["last_run"] == {"id": apply_id, "kind": "apply", "status": "applied"}
    for url in (deployment, f"{deployment}/runs", f"/api/runs/{apply_id}/log"):
        assert SECRET not in member.get(url).content.decode()

    assert post(member, f"{deployment}/destroy").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = post(admin, f"{deployment}/destroy")
    assert response.status_code == 202
    destroy_id = response.json()["id"]
    assert member.get(f"/api/runs/{destroy_id}").json()["kind"] == "destroy"
    refused = post(admin, f"/api/runs/{destroy_id}/approve", {"confirm_name": "nope"})
    assert refused.status_code == 409
    assert "greeter" in refused.json()["error"]["message"]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(admin, f"/api/runs/{destroy_id}/approve", {"confirm_name": "greeter"})
    assert response.status_code == 202
    assert member.get(deployment).json()["status"] == "destroyed"
    runs = member.get(f"{deployment}/runs").json()
    assert [r["id"] for r in runs][:2] == [response.json()["id"], destroy_id]


def test_bad_input_is_422_with_the_forms_messages_and_writes_nothing(
    tokens, api, hello_version, org, bob
):
    member = api(tokens["bob"])
    base = {"name": "g", "blueprint_id": hello_version.blueprint_id}
    cases = [
        ({**base, "variables": {"sleep_seconds": "soon"}}, "var_sleep_seconds"),
        ({**base, "variables": {"labels": "not a map"}}, "var_labels"),
        ({**base, "variables": {"nope": 1}}, "variables"),
        ({**base, "name": "bad name!"}, "name"),
        ({**base, "account_id": 999999}, "account"),
        ({**base, "blueprint_id": 999999}, "blueprint_id"),
    ]
    for body, field in cases:
        response = post(member, "/api/deployments", body)
        assert response.status_code == 422, (body, response.content)
        assert field in response.json()["error"]["details"], (body, response.json())
    make_deployment(org, bob, hello_version, "taken")
    response = post(member, "/api/deployments", {**base, "name": "TAKEN"})
    assert response.status_code == 422
    assert Deployment.objects.count() == 1


def test_patch_changes_only_what_is_given_and_keeps_the_secret(
    tokens, api, hello_version, org, bob
):
    deployment = make_deployment(org, bob, hello_version, "g", name="Ada", secret_token=SECRET)
    plan = run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    DeploymentRun.objects.filter(pk=plan.pk).update(status=Status.PLANNED)
    response = api(tokens["bob"]).patch(
        f"/api/deployments/{deployment.pk}",
        json.dumps({"variables": {"greeting": "Hey"}}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["variables"]["greeting"] == "Hey"
    assert response.json()["variables"]["name"] == "Ada"
    deployment.refresh_from_db()
    assert deployment.sensitive_variables == {"secret_token": SECRET}
    plan.refresh_from_db()
    assert plan.status == Status.DISCARDED  # planned with the old values


def test_roles_and_other_organizations(tokens, api, hello_version, org, bob):
    deployment = make_deployment(org, bob, hello_version, "g")
    plan = run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    viewer, outsider = api(tokens["vera"]), api(tokens["charlie"])
    assert viewer.get(f"/api/deployments/{deployment.pk}").status_code == 200
    assert post(viewer, f"/api/deployments/{deployment.pk}/plan").status_code == 403
    assert post(viewer, f"/api/runs/{plan.pk}/cancel").status_code == 403
    assert post(viewer, "/api/deployments", {"name": "x", "blueprint_id": 1}).status_code == 403
    for url in (
        f"/api/deployments/{deployment.pk}",
        f"/api/deployments/{deployment.pk}/outputs",
        f"/api/deployments/{deployment.pk}/runs",
        f"/api/runs/{plan.pk}",
        f"/api/runs/{plan.pk}/log",
    ):
        assert outsider.get(url).status_code == 404, url
    for url in (
        f"/api/deployments/{deployment.pk}/plan",
        f"/api/deployments/{deployment.pk}/destroy",
        f"/api/runs/{plan.pk}/approve",
        f"/api/runs/{plan.pk}/discard",
        f"/api/runs/{plan.pk}/cancel",
    ):
        assert post(outsider, url).status_code == 404, url
    assert outsider.get("/api/deployments").json() == []
    plan.refresh_from_db()
    assert plan.status == Status.QUEUED


def test_cancel_a_queued_plan_and_members_may_not_cancel_applies(
    tokens, api, hello_version, org, bob, ada
):
    deployment = make_deployment(org, bob, hello_version, "g")
    plan = run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    member = api(tokens["bob"])
    response = post(member, f"/api/runs/{plan.pk}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert post(member, f"/api/runs/{plan.pk}/cancel").status_code == 409
    apply = DeploymentRun.objects.create(
        organization=org, deployment=deployment, kind="apply", plan_run=plan,
        blueprint_version=hello_version, started_by=ada,
    )  # fmt: skip
    assert post(member, f"/api/runs/{apply.pk}/cancel").status_code == 403
    assert post(api(tokens["ada"]), f"/api/runs/{apply.pk}/cancel").status_code == 202


def test_a_busy_deployment_refuses_another_plan_with_409(tokens, api, hello_version, org, bob):
    deployment = make_deployment(org, bob, hello_version, "g")
    run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    response = post(api(tokens["bob"]), f"/api/deployments/{deployment.pk}/plan")
    assert response.status_code == 409
    assert "wait for it to finish" in response.json()["error"]["message"]


def test_list_query_counts_do_not_grow(
    tokens, api, hello_version, org, bob, django_assert_max_num_queries
):
    client = api(tokens["vera"])
    deployment = make_deployment(org, bob, hello_version, "d0")
    run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    with django_assert_max_num_queries(12) as few:  # token, throttle, one list query
        assert len(client.get("/api/deployments").json()) == 1
    for n in range(1, 8):
        d = make_deployment(org, bob, hello_version, f"d{n}")
        run_plan_queue(deployment=d, user=bob, enqueue=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/deployments").json()) == 8
    # The runs bring their policy results: one query more, whatever their number.
    with django_assert_max_num_queries(len(few.captured_queries) + 1) as runs:
        assert len(client.get(f"/api/deployments/{deployment.pk}/runs").json()) == 1
    for _ in range(5):
        deployment.runs.update(status=DeploymentRun.Status.CANCELLED)
        run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    with django_assert_max_num_queries(len(runs.captured_queries)):
        assert len(client.get(f"/api/deployments/{deployment.pk}/runs").json()) == 6


def test_the_state_lock_shows_and_admins_force_unlock_it(tokens, api, hello_version, org, bob, ada):
    deployment = make_deployment(org, bob, hello_version, "locked")
    info = {"ID": "tf-lock", "Who": "ops@laptop", "Operation": "OperationTypeApply"}
    DatabaseStateStore(deployment).lock(StateLock("tf-lock", json.dumps(info).encode()))
    member, admin = api(tokens["bob"]), api(tokens["ada"])
    url = f"/api/deployments/{deployment.pk}"
    lock = member.get(url).json()["lock"]
    assert {k: lock[k] for k in ("id", "who", "operation", "run_id")} == {
        "id": "tf-lock", "who": "ops@laptop", "operation": "Apply", "run_id": None
    }  # fmt: skip
    assert lock["since"]
    assert post(member, f"{url}/unlock").status_code == 403
    assert post(api(tokens["charlie"]), f"{url}/unlock").status_code == 404

    # While a run holds the deployment's lease, its lock is not stale.
    live = timezone.now() + timedelta(minutes=1)
    Deployment.objects.filter(pk=deployment.pk).update(lease_token="live", lease_until=live)
    refused = post(admin, f"{url}/unlock")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert member.get(url).json()["lock"]["id"] == "tf-lock"

    Deployment.objects.filter(pk=deployment.pk).update(lease_token="", lease_until=None)
    done = post(admin, f"{url}/unlock")
    assert done.status_code == 200, done.content
    assert (done.json()["released"], done.json()["deployment"]["lock"]) == (True, None)
    assert AuditEvent.objects.get(action="deployment.state_unlocked").actor == ada
    assert post(admin, f"{url}/unlock").json()["released"] is False


def test_a_run_whose_worker_is_gone_says_so(tokens, api, hello_version, org, bob):
    deployment = make_deployment(org, bob, hello_version, "ghost")
    run = run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    past = timezone.now() - timedelta(seconds=1)
    DeploymentRun.objects.filter(pk=run.pk).update(status=Status.RUNNING, lease_token="dead")
    Deployment.objects.filter(pk=deployment.pk).update(lease_token="dead", lease_until=past)
    assert api(tokens["vera"]).get(f"/api/runs/{run.pk}").json()["worker_lost"] is True
    # The next request for work fails it and acts at once.
    assert post(api(tokens["bob"]), f"/api/deployments/{deployment.pk}/plan").status_code == 202
    run.refresh_from_db()
    assert (run.status, run.error) == (Status.FAILED, RUN_ABANDONED)


def test_unknown_api_routes_answer_a_json_404(tokens, api, client):
    for response in (
        api(tokens["bob"]).get("/api/no-such-thing"),
        post(api(tokens["ada"]), "/api/deployments/1/no-such-action"),
        client.get("/api/deployments/1/unlock/extra"),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "error": {"code": "not_found", "message": "No such API endpoint."}
        }


def test_unlock_and_the_lock_are_in_the_openapi_schema(client):
    schema = client.get("/api/openapi.json").json()
    unlock = schema["paths"]["/api/deployments/{deployment_id}/unlock"]["post"]
    assert "200" in unlock["responses"]
    assert "lock" in schema["components"]["schemas"]["DeploymentOut"]["properties"]
    assert "worker_lost" in schema["components"]["schemas"]["RunOut"]["properties"]
