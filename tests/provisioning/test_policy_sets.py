"""Named policy sets: where each applies, the pages that manage them, and the policy API
(sets, policies, testing a policy), with the same role and tenancy rules as the pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from provisioning.models import Deployment, DeploymentRun, Policy, PolicyResult, PolicySet
from provisioning.services.policies import policies_evaluate_run
from provisioning.services.policy_sets import (
    default_policy_set,
    policy_set_save,
    policy_sets_applying,
)
from provisioning.services.runs import run_plan_queue
from tests.inventory import estate
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db
PLANS = Path(__file__).with_name("plans")
DENY_ALL = 'package everything\nimport rego.v1\ndeny contains "refused" if { true }\n'
PASS_ALL = "package nothing\nimport rego.v1\ndeny := set()\n"


def _run(deployment: Deployment, user) -> DeploymentRun:
    return run_plan_queue(deployment=deployment, user=user, enqueue=False)


def _policy(org, policy_set: PolicySet, name: str, source: str = PASS_ALL) -> Policy:
    return Policy.objects.create(
        organization=org, policy_set=policy_set, name=name, source=source,
        enforcement="mandatory",
    )  # fmt: skip


def test_a_set_applies_everywhere_or_to_its_blueprints_and_accounts_only(org, alice, hello_version):
    prod = estate.account(org, "prod")
    dev = estate.account(org, "dev")
    in_prod = make_deployment(org, alice, hello_version, "in-prod")
    in_dev = make_deployment(org, alice, hello_version, "in-dev")
    Deployment.objects.filter(pk=in_prod.pk).update(account=prod)
    Deployment.objects.filter(pk=in_dev.pk).update(account=dev)
    everywhere = default_policy_set(org)
    for_prod = policy_set_save(organization=org, user=alice, name="Prod", scope="selected",
                               accounts=[prod])  # fmt: skip
    for_hello = policy_set_save(organization=org, user=alice, name="Hello", scope="selected",
                                blueprints=[hello_version.blueprint])  # fmt: skip
    off = policy_set_save(organization=org, user=alice, name="Off", enabled=False)
    prod_run = _run(Deployment.objects.get(pk=in_prod.pk), alice)
    dev_run = _run(Deployment.objects.get(pk=in_dev.pk), alice)
    assert set(policy_sets_applying(prod_run)) == {everywhere, for_prod, for_hello}
    assert set(policy_sets_applying(dev_run)) == {everywhere, for_hello}
    assert off not in set(policy_sets_applying(prod_run))


def test_a_plan_is_checked_only_against_the_policies_of_the_sets_that_apply(
    org, alice, hello_version
):
    prod = estate.account(org, "prod")
    deployment = make_deployment(org, alice, hello_version, "in-dev")
    for_prod = policy_set_save(organization=org, user=alice, name="Prod", scope="selected",
                               accounts=[prod])  # fmt: skip
    _policy(org, for_prod, "Refuse everything", DENY_ALL)
    _policy(org, default_policy_set(org), "Pass")
    plan = json.loads((PLANS / "aws-ec2-instance.json").read_text())
    run = _run(deployment, alice)
    results = policies_evaluate_run(run=run, plan=plan)
    assert [(r.policy_name, r.policy_set_name, r.status) for r in results] == [
        ("Pass", "Default", PolicyResult.Status.PASSED)
    ]
    Deployment.objects.filter(pk=deployment.pk).update(account=prod)
    run.deployment.refresh_from_db()
    results = policies_evaluate_run(run=run, plan=plan)
    assert {(r.policy_name, r.status) for r in results} == {
        ("Pass", PolicyResult.Status.PASSED),
        ("Refuse everything", PolicyResult.Status.FAILED),
    }


def test_the_set_form_refuses_a_selected_scope_that_names_nothing_and_saves_a_good_one(
    login, ada, org
):
    admin = login(ada)
    acct = estate.account(org, "prod")
    page = admin.post(reverse("provisioning:policy_set_create"),
                      {"name": "Prod", "scope": "selected", "enabled": "on"})  # fmt: skip
    assert page.status_code == 200
    assert "Choose at least one blueprint or account" in page.content.decode()
    assert not PolicySet.objects.filter(organization=org).exists()
    page = admin.post(reverse("provisioning:policy_set_create"),
                      {"name": "Prod", "scope": "selected", "accounts": [acct.pk],
                       "enabled": "on"})  # fmt: skip
    assert page.status_code == 302
    saved = PolicySet.objects.get(organization=org)
    assert list(saved.accounts.all()) == [acct]
    assert AuditEvent.objects.filter(action="policy_set.created").exists()
    listing = admin.get(reverse("provisioning:policy_list")).content.decode()
    assert "Applies to deployments of" in listing
    assert "prod" in listing


def test_the_set_form_offers_only_the_organizations_accounts(login, ada, org, other_org):
    admin = login(ada)
    theirs = estate.account(other_org, "theirs")
    page = admin.post(reverse("provisioning:policy_set_create"),
                      {"name": "Theirs", "scope": "selected", "accounts": [theirs.pk]})  # fmt: skip
    assert page.status_code == 200
    assert not PolicySet.objects.exists()
    assert "theirs" not in admin.get(reverse("provisioning:policy_set_create")).content.decode()


def test_a_set_with_policies_is_not_deleted_and_an_empty_one_is(login, ada, org):
    admin = login(ada)
    full = default_policy_set(org)
    _policy(org, full, "Kept")
    empty = PolicySet.objects.create(organization=org, name="Empty")
    admin.post(reverse("provisioning:policy_set_delete", args=[full.pk]))
    assert PolicySet.objects.filter(pk=full.pk).exists()
    assert Policy.objects.filter(name="Kept").exists()
    admin.post(reverse("provisioning:policy_set_delete", args=[empty.pk]))
    assert not PolicySet.objects.filter(pk=empty.pk).exists()


def test_members_and_viewers_cannot_manage_sets(login, bob, vera, org):
    policy_set = default_policy_set(org)
    for user in (bob, vera):
        client = login(user)
        assert client.get(reverse("provisioning:policy_set_create")).status_code == 403
        edit = reverse("provisioning:policy_set_edit", args=[policy_set.pk])
        assert client.post(edit, {"name": "Mine", "scope": "all"}).status_code == 403
    policy_set.refresh_from_db()
    assert policy_set.name == "Default"


def test_a_policy_saved_in_the_editor_joins_the_chosen_set_or_the_default_one(
    login, ada, org, other_org
):
    admin = login(ada)
    chosen = PolicySet.objects.create(organization=org, name="Chosen")
    theirs = PolicySet.objects.create(organization=other_org, name="Theirs")
    body = {"name": "P", "source": PASS_ALL, "enforcement": "advisory", "enabled": "on"}
    page = admin.post(reverse("provisioning:policy_create"), {**body, "policy_set": theirs.pk})
    assert page.status_code == 200
    assert not Policy.objects.exists()
    admin.post(reverse("provisioning:policy_create"), {**body, "policy_set": chosen.pk})
    assert Policy.objects.get(name="P").policy_set == chosen
    admin.post(reverse("provisioning:policy_create"), {**body, "name": "Q"})
    assert Policy.objects.get(name="Q").policy_set.name == "Default"


# --- the API --------------------------------------------------------------------------------
def _api(client, token: str):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def call(method: str, path: str, body: dict | None = None):
        send = getattr(client, method)
        if body is None:
            return send(f"/api{path}", **headers)
        return send(f"/api{path}", json.dumps(body), "application/json", **headers)

    return call


def test_the_api_manages_sets_and_policies_as_the_pages_do(client, org, ada, token_for):
    api = _api(client, token_for(ada))
    acct = estate.account(org, "prod")
    refused = api("post", "/policy-sets", {"name": "Prod", "scope": "selected"})
    assert refused.status_code == 422
    created = api("post", "/policy-sets", {"name": "Prod", "scope": "selected",
                                           "accounts": [acct.pk]})  # fmt: skip
    assert created.status_code == 201, created.content
    set_id = created.json()["id"]
    assert created.json()["accounts"] == [acct.pk]
    bad = api("post", "/policies", {"name": "Bad", "source": "not rego", "policy_set": set_id})
    assert bad.status_code == 422
    assert "package" in bad.json()["error"]["details"]["source"][0]
    assert not Policy.objects.exists()
    good = api("post", "/policies", {"name": "Good", "source": PASS_ALL, "policy_set": set_id,
                                     "enforcement": "mandatory"})  # fmt: skip
    assert good.status_code == 201, good.content
    assert good.json()["source"] == PASS_ALL
    assert api("get", f"/policies?policy_set={set_id}").json()[0]["name"] == "Good"
    assert api("get", f"/policy-sets/{set_id}").json()["policies"] == [good.json()["id"]]
    assert api("delete", f"/policy-sets/{set_id}").status_code == 409
    assert api("delete", f"/policies/{good.json()['id']}").status_code == 204
    assert api("delete", f"/policy-sets/{set_id}").status_code == 204


def test_the_api_hides_sources_from_viewers_and_refuses_their_writes(
    client, org, ada, vera, token_for
):
    _policy(org, default_policy_set(org), "Secret sauce")
    api = _api(client, token_for(vera))
    [shown] = api("get", "/policies").json()
    assert shown["name"] == "Secret sauce"
    assert shown["source"] is None
    assert api("post", "/policy-sets", {"name": "Mine"}).status_code == 403
    assert api("post", "/policies", {"name": "Mine", "source": PASS_ALL}).status_code == 403
    assert not PolicySet.objects.filter(name="Mine").exists()


def test_the_api_never_reaches_another_organizations_sets(
    client, org, other_org, ada, charlie, token_for
):
    theirs = PolicySet.objects.create(organization=other_org, name="Theirs")
    api = _api(client, token_for(ada))
    assert api("get", f"/policy-sets/{theirs.pk}").status_code == 404
    body = {"name": "P", "source": PASS_ALL, "policy_set": theirs.pk}
    assert api("post", "/policies", body).status_code == 422
    assert not Policy.objects.exists()


def test_a_policy_is_tested_through_the_api_against_the_last_plan(
    client, org, alice, ada, hello_version, token_for
):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    api = _api(client, token_for(ada))
    body = {"source": DENY_ALL, "deployment": deployment.pk}
    assert api("post", "/policies/test", body).status_code == 409  # no plan yet
    run = _run(deployment, alice)
    plan = json.loads((PLANS / "aws-ec2-instance.json").read_text())
    DeploymentRun.objects.filter(pk=run.pk).update(status="planned", plan_json=plan)
    answer = api("post", "/policies/test", body)
    assert answer.status_code == 200
    assert answer.json() == {"status": "failed", "messages": ["refused"]}
