"""Policy as code: the bundled policies on plan-JSON fixtures of the bundled cloud blueprints,
the sandbox's limits, the editor, approval blocked and overridden (pages and API), and the
real hello plan end to end. Evaluations go through the real sandbox; several policies share
one start where the test allows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Notification
from mcloud.errors import ActionRefused
from provisioning.models import DeploymentRun, Policy, PolicyResult, PolicySet
from provisioning.policy_engine import PolicyLimits, PolicySource, policies_evaluate
from provisioning.services.policies import (
    policies_evaluate_run,
    policy_create,
    policy_document,
    policy_examples,
)
from provisioning.services.policy_sets import default_policy_set
from provisioning.services.runs import run_approve, run_plan_queue
from tests.provisioning.conftest import make_deployment, planned

pytestmark = pytest.mark.django_db
PLANS = Path(__file__).with_name("plans")
Status = DeploymentRun.Status
HTMX = {"HX-Request": "true"}
EXAMPLES = {e.key: e for e in policy_examples()}
LIMITS = PolicyLimits(memory_mb=512, cpu_seconds=10, wall_seconds=30)

# Each fixture, and the bundled policies it fails (all the others pass). The noncompliant
# plans come with an estimate over the limit; the others with one under it.
EXPECTED_FAILURES = {
    "aws-ec2-instance": set(),
    "aws-s3-bucket": set(),
    "azure-linux-vm": set(),
    "gcp-compute-instance": set(),
    "aws-ec2-instance-noncompliant": {
        "allowed-regions", "allowed-instance-sizes", "required-tags", "no-open-admin-ports",
        "monthly-estimate-limit",
    },
    "azure-linux-vm-noncompliant": {
        "allowed-regions", "allowed-instance-sizes", "required-tags", "no-open-admin-ports",
        "monthly-estimate-limit",
    },
    "gcp-compute-instance-noncompliant": {
        "allowed-regions", "allowed-instance-sizes", "required-tags", "no-open-admin-ports",
        "monthly-estimate-limit",
    },
    "aws-s3-bucket-destroy-protected": {"no-destroy-protected"},
}  # fmt: skip


def plan_fixture(name: str) -> dict[str, Any]:
    return json.loads((PLANS / f"{name}.json").read_text())


def url(name: str, *args: object) -> str:
    return reverse(f"provisioning:{name}", args=args)


def test_the_fixtures_are_terraform_1_0_plan_json_of_the_bundled_blueprints():
    root = Path(__file__).resolve().parents[2]
    blueprints = {p.name for p in (root / "provisioning" / "blueprints").iterdir()} - {"hello"}
    assert {name.split("-noncompliant")[0].split("-destroy")[0] for name in EXPECTED_FAILURES} == (
        blueprints
    )
    for name in EXPECTED_FAILURES:
        plan = plan_fixture(name)
        assert plan["format_version"] == "0.2"
        assert plan["terraform_version"].startswith("1.0.")
        for change in plan["resource_changes"]:
            assert {"address", "mode", "type", "name", "provider_name", "change"} <= set(change)
            assert set(change["change"]) >= {"actions", "before", "after", "after_unknown"}


@pytest.mark.parametrize("fixture", sorted(EXPECTED_FAILURES))
def test_each_bundled_policy_passes_and_fails_on_the_blueprint_plans(fixture):
    over = EXPECTED_FAILURES[fixture] >= {"monthly-estimate-limit"}
    document = {
        "plan": plan_fixture(fixture),
        "context": {"blueprint": {"slug": fixture.split("-noncompliant")[0]}},
        "cost_estimate": {"monthly_delta": 900.0 if over else 12.5, "currency": "USD"},
    }
    sources = [PolicySource(key, e.source) for key, e in sorted(EXAMPLES.items())]
    outcomes = {o.key: o for o in policies_evaluate(sources, document, LIMITS)}
    failed = {key for key, o in outcomes.items() if o.status == "failed"}
    assert failed == EXPECTED_FAILURES[fixture], {k: o.messages for k, o in outcomes.items()}
    assert all(o.status == "passed" for k, o in outcomes.items() if k not in failed)
    for key in failed:
        assert outcomes[key].messages, key


def test_every_bundled_policy_is_covered_and_documented():
    assert set(EXAMPLES) == set().union(*EXPECTED_FAILURES.values())
    documented = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    for example in EXAMPLES.values():
        assert example.title in documented
        assert example.description
        assert example.enforcement in ("advisory", "mandatory")


def test_the_estimate_policy_passes_a_plan_without_an_estimate():
    document = {"plan": plan_fixture("aws-ec2-instance"), "context": {}, "cost_estimate": None}
    source = EXAMPLES["monthly-estimate-limit"].source
    [outcome] = policies_evaluate([PolicySource("limit", source)], document, LIMITS)
    assert outcome.status == "passed"


def test_a_policy_that_allocates_or_loops_is_stopped_by_its_limits_and_the_rest_still_run():
    allocates = (
        "package hog\nimport rego.v1\n"
        'deny contains "x" if { count([x | some x in numbers.range(1, 100000000000)]) > 0 }'
    )
    loops = (
        "package spin\nimport rego.v1\n"
        'deny contains "x" if { some i in numbers.range(1, 30000); '
        "some j in numbers.range(1, 30000); i + j < 0 }"
    )
    fine = 'package fine\nimport rego.v1\ndeny contains "no" if { input.nope }'
    outcomes = policies_evaluate(
        [PolicySource("1", allocates), PolicySource("2", loops), PolicySource("3", fine)],
        {},
        PolicyLimits(memory_mb=200, cpu_seconds=1, wall_seconds=20),
    )
    assert [o.status for o in outcomes] == ["error", "error", "passed"]
    # The allocation reaches 200 MB within its second of CPU on a quiet machine; on a busy one
    # the worker's memory watch may see it only after the CPU limit stopped it. Either way
    # it is stopped by a limit, and the rest still run.
    assert outcomes[0].messages in (
        ["Stopped by its limits: more than 200 MB of memory."],
        ["Stopped by its limits: more than 1 s of CPU time."],
    )
    assert outcomes[1].messages == ["Stopped by its limits: more than 1 s of CPU time."]


def test_without_isolation_the_evaluator_still_runs_under_its_limits():
    source = EXAMPLES["no-destroy-protected"].source
    document = {"plan": plan_fixture("aws-s3-bucket-destroy-protected")}
    limits = PolicyLimits(memory_mb=512, cpu_seconds=10, wall_seconds=30, isolated=False)
    [outcome] = policies_evaluate([PolicySource("p", source)], document, limits)
    assert outcome.status == "failed"


# --- pages ----------------------------------------------------------------------------------
def _planned_run(deployment, user, plan: dict[str, Any] | None = None) -> DeploymentRun:
    """A plan awaiting approval, as the worker leaves one (no Terraform)."""
    run = run_plan_queue(deployment=deployment, user=user, enqueue=False)
    DeploymentRun.objects.filter(pk=run.pk).update(
        status=Status.PLANNED, plan_file=b"plan", plan_json=plan or {}
    )
    run.refresh_from_db()
    return run


def _result(run: DeploymentRun, status: str, enforcement: str = "mandatory") -> PolicyResult:
    return PolicyResult.objects.create(
        organization=run.organization, run=run, policy_name=f"{enforcement} {status}",
        enforcement=enforcement, status=status, messages=[f"{status} because"],
    )  # fmt: skip


def test_a_mandatory_failure_blocks_approval_until_an_owner_overrides_it(
    org, alice, ada, hello_version, login, token_for
):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    run = _planned_run(deployment, alice)
    _result(run, "failed")
    _result(run, "failed", "advisory")
    _result(run, "passed")
    admin, owner = login(ada), login(alice)

    page = admin.get(url("run_detail", run.pk)).content.decode()
    assert 'id="policy-results"' in page
    assert "mandatory failed" in page
    assert "failed because" in page
    assert 'id="approve"' not in page  # the button is gone
    assert 'id="override-policies"' not in page  # admins do not override
    refused = admin.post(url("run_approve", run.pk), follow=True).content.decode()
    assert "Mandatory policies failed: mandatory failed." in refused
    api = {"HTTP_AUTHORIZATION": f"Bearer {token_for(ada)}"}
    detail = admin.get(f"/api/runs/{run.pk}", **api).json()
    assert detail["policy_blocked"] is True
    assert {p["policy"]: p["status"] for p in detail["policies"]} == {
        "mandatory failed": "failed", "advisory failed": "failed", "mandatory passed": "passed"
    }  # fmt: skip
    response = admin.post(f"/api/runs/{run.pk}/approve", "{}", "application/json", **api)
    assert response.status_code == 409
    assert admin.post(url("run_policy_override", run.pk), {"reason": "x"}).status_code == 403
    response = admin.post(
        f"/api/runs/{run.pk}/override", {"reason": "x"}, "application/json", **api
    )
    assert response.status_code == 403

    assert 'id="override-policies"' in owner.get(url("run_detail", run.pk)).content.decode()
    owner.post(url("run_policy_override", run.pk), {"reason": "  "})
    run.refresh_from_db()
    assert run.policy_override_at is None  # a reason is required
    owner.post(url("run_policy_override", run.pk), {"reason": "Launch day; tags follow."})
    run.refresh_from_db()
    assert run.policy_override_by == alice
    event = AuditEvent.objects.get(action="deployment.policy_overridden")
    assert event.data == {"run": run.pk, "policies": ["mandatory failed"],
                          "reason": "Launch day; tags follow."}  # fmt: skip
    told = Notification.objects.get(event="policy.override")
    assert "overrode policies on plan" in told.title
    assert told.text == "Launch day; tags follow."
    detail = admin.get(f"/api/runs/{run.pk}", **api).json()
    assert detail["policy_blocked"] is False
    assert detail["policy_override"]["reason"] == "Launch day; tags follow."
    response = admin.post(f"/api/runs/{run.pk}/approve", "{}", "application/json", **api)
    assert response.status_code == 202


def test_an_override_through_the_api_needs_the_owner_and_a_blocking_policy(
    org, alice, hello_version, client, token_for
):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    run = _planned_run(deployment, alice)
    api = {"HTTP_AUTHORIZATION": f"Bearer {token_for(alice)}"}
    body = json.dumps({"reason": "because"})
    response = client.post(f"/api/runs/{run.pk}/override", body, "application/json", **api)
    assert response.status_code == 409  # nothing blocks it
    _result(run, "error")  # a mandatory policy that could not be evaluated blocks too
    response = client.post(f"/api/runs/{run.pk}/override", body, "application/json", **api)
    assert response.status_code == 200
    assert response.json()["policy_override"]["by"] == alice.email


def test_the_editor_refuses_a_policy_that_does_not_compile_and_saves_one_that_does(login, ada, org):
    admin = login(ada)
    broken = "package broken\nimport rego.v1\ndeny contains x if { x := 1 + }"
    form = {"name": "Broken", "enforcement": "mandatory", "enabled": "on", "source": broken}
    page = admin.post(url("policy_create"), form).content.decode()
    assert "Invalid arithmetic operator" in page
    assert not Policy.objects.exists()
    form["source"] = 'package ok\nimport rego.v1\ndeny contains "no" if { input.never }'
    response = admin.post(url("policy_create"), form)
    assert response.url == url("policy_list")
    policy = Policy.objects.get(organization=org)
    assert policy.enforcement == "mandatory"
    assert AuditEvent.objects.filter(action="policy.created", target_id=str(policy.pk)).exists()
    form["source"] = "package ok\nimport rego.v1\ndeny contains x if { x := 2 * }"
    page = admin.post(url("policy_edit", policy.pk), form).content.decode()
    assert "Invalid arithmetic operator" in page
    policy.refresh_from_db()
    assert policy.source.endswith("input.never }")  # nothing saved


def test_an_example_is_loaded_and_tested_against_a_deployments_last_plan(
    login, ada, alice, org, hello_version
):
    admin = login(ada)
    response = admin.post(url("policy_example_load"), {"example": "required-tags"})
    policy = Policy.objects.get(organization=org, example="required-tags")
    assert response.url == url("policy_edit", policy.pk)
    assert "package mcloud.required_tags" in admin.get(response.url).content.decode()
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    _planned_run(deployment, alice, plan_fixture("gcp-compute-instance-noncompliant"))
    tested = admin.post(
        url("policy_test"), {"source": policy.source, "deployment": deployment.pk}, headers=HTMX
    ).content.decode()
    assert "<html" not in tested
    assert "Failed" in tested
    assert "google_compute_instance.this lacks the tags" in tested


def test_policy_pages_check_ownership_and_roles(login, bob, ada, charlie, org, other_org):
    theirs = Policy.objects.create(organization=other_org, name="Theirs", source="package t\n",
                                   policy_set=default_policy_set(other_org))  # fmt: skip
    ours = Policy.objects.create(organization=org, name="Ours", source="package o\n",
                                 policy_set=default_policy_set(org))  # fmt: skip
    outsider = login(charlie)
    assert outsider.get(url("policy_edit", theirs.pk)).status_code == 200  # their own
    assert outsider.get(url("policy_edit", ours.pk)).status_code == 404
    assert outsider.post(url("policy_delete", ours.pk)).status_code == 404
    member = login(bob)
    assert member.get(url("policy_list")).status_code == 200
    assert member.get(url("policy_edit", ours.pk)).status_code == 403
    assert member.post(url("policy_create"), {}).status_code == 403
    admin = login(ada)
    assert "Theirs" not in admin.get(url("policy_list")).content.decode()
    admin.post(url("policy_delete", ours.pk))
    assert not Policy.objects.filter(pk=ours.pk).exists()


def test_the_policy_list_queries_stay_flat(login, ada, org, django_assert_max_num_queries):
    admin = login(ada)
    Policy.objects.create(organization=org, name="One", source="package o\n",
                          policy_set=default_policy_set(org))  # fmt: skip
    with django_assert_max_num_queries(8) as few:
        admin.get(url("policy_list"))
    for i in range(30):
        Policy.objects.create(
            organization=org,
            name=f"P{i}",
            source="package p\n",
            policy_set=PolicySet.objects.create(organization=org, name=f"S{i}"),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin.get(url("policy_list")).content.decode()
    assert "P29" in page


def test_a_test_against_another_organizations_deployment_is_a_404(
    login, charlie, alice, org, hello_version
):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    response = login(charlie).post(
        url("policy_test"), {"source": "package p\n", "deployment": deployment.pk}, headers=HTMX
    )
    assert response.status_code == 404


# --- the real hello plan, end to end ------------------------------------------------------------
def test_the_hello_plan_goes_through_its_policies_to_approval(org, alice, ada, hello_version):
    mandatory = policy_create(
        organization=org, user=alice, name="No token resource", enforcement="mandatory",
        source="package notoken\nimport rego.v1\n"
        "deny contains msg if { some c in input.plan.resource_changes; c.name == \"token\"; "
        'msg := sprintf("%s is not allowed", [c.address]) }',
    )  # fmt: skip
    policy_create(
        organization=org, user=alice, name="Context", enforcement="advisory",
        source="package ctx\nimport rego.v1\n"
        'deny contains "wrong context" if { input.context.blueprint.slug != "hello" }\n'
        'deny contains "estimate" if { input.cost_estimate.not_estimated < 1 }\n'
        'deny contains "requester" if { input.context.requester.email != "alice@acme.test" }',
    )  # fmt: skip
    deployment = make_deployment(org, alice, hello_version, "hello-1", secret_token="s3cr3t!")
    plan = planned(deployment, alice)
    assert plan.status == Status.PLANNED, plan.log
    assert plan.plan_json["format_version"]
    assert plan.plan_json["resource_changes"]
    results = {r.policy_name: r for r in plan.policy_results.all()}
    assert results["Context"].status == "passed", results["Context"].messages
    assert results["No token resource"].status == "failed"
    assert results["No token resource"].messages == ["null_resource.token is not allowed"]
    assert "Approval is blocked by mandatory policies: No token resource." in plan.log
    # The null provider's resources have no price: "not estimated", never zero.
    assert plan.cost_estimate["not_estimated"] >= 1
    assert all(not r["estimated"] for r in plan.cost_estimate["resources"])
    assert "[mcloud] Cost estimate: +0.00 USD/month (" in plan.log
    told = Notification.objects.get(event="plan.awaiting_approval")
    assert ["Blocked by policies", "No token resource"] in told.facts
    with pytest.raises(ActionRefused, match="Mandatory policies failed"):
        run_approve(plan_run=plan, user=ada, enqueue=False)
    mandatory.enforcement = "advisory"
    mandatory.save()
    policies_evaluate_run(run=plan, plan=plan.plan_json)  # evaluated again: now advisory
    apply = run_approve(plan_run=plan, user=ada, enqueue=False)
    assert apply.status == Status.QUEUED
    assert apply.plan_run_id == plan.pk


def test_the_document_gives_the_context_and_no_estimate_by_default(org, alice, hello_version):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    run = run_plan_queue(deployment=deployment, user=alice, enqueue=False)
    document = policy_document(run=run, plan={"format_version": "0.2"})
    assert document["cost_estimate"] is None
    assert document["context"]["blueprint"]["slug"] == "hello"
    assert document["context"]["requester"] == {"email": alice.email}
    assert document["context"]["account"] is None
    assert document["context"]["organization"]["id"] == org.pk
