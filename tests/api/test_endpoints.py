"""Every endpoint with each role and with another organization's token, the error shape, and
the same rules as the pages (forms, filters, write-only secrets)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail

from billing.models import Budget
from inventory.models import CloudAccount, Resource, SyncRun
from tests.billing.costs import daily, store
from tests.inventory import aws_estate, estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


@pytest.fixture
def tokens(team, token_for):
    return {name: token_for(user) for name, user in team.items()}


@pytest.fixture
def world(org, other_org):
    mine = estate.account(org, "aws-prod")
    estate.fill(mine, 12)
    theirs = estate.account(other_org, "theirs")
    estate.fill(theirs, 5, prefix="secret")
    store(mine, daily(mine, date(2026, 11, 1), 3, "10"))
    budget = Budget.objects.create(organization=org, name="Team", amount=100, thresholds=[80])
    their_budget = Budget.objects.create(
        organization=other_org, name="Theirs", amount=1, thresholds=[50]
    )
    run = SyncRun.objects.create(organization=org, account=mine, status="succeeded")
    their_run = SyncRun.objects.create(organization=other_org, account=theirs)
    return {
        "mine": mine,
        "theirs": theirs,
        "budget": budget,
        "their_budget": their_budget,
        "run": run,
        "their_run": their_run,
        "resource": Resource.objects.filter(account=mine).first(),
        "their_resource": Resource.objects.filter(account=theirs).first(),
    }


READS = [
    "/api/me",
    "/api/dashboard/stats",
    "/api/cloud-accounts",
    "/api/resources",
    "/api/vms",
    "/api/costs/summary",
    "/api/costs/breakdown?by=service",
    "/api/costs/daily?period=last_30",
    "/api/budgets",
]


@pytest.mark.parametrize("name", ["alice", "ada", "bob", "vera"])
def test_every_role_reads(world, tokens, api, name):
    client = api(tokens[name])
    for url in READS:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content)
        assert b"secret-" not in response.content
    assert client.get(f"/api/resources/{world['resource'].pk}").status_code == 200
    assert client.get(f"/api/sync-runs/{world['run'].pk}").status_code == 200
    assert client.get(f"/api/cloud-accounts/{world['mine'].pk}").status_code == 200


def test_another_organizations_objects_are_404(world, tokens, api):
    client = api(tokens["charlie"])
    for url in (
        f"/api/resources/{world['resource'].pk}",
        f"/api/sync-runs/{world['run'].pk}",
        f"/api/cloud-accounts/{world['mine'].pk}",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
    assert client.post(f"/api/cloud-accounts/{world['mine'].pk}/sync").status_code == 404
    assert client.delete(f"/api/cloud-accounts/{world['mine'].pk}").status_code == 404
    assert (
        client.put(
            f"/api/budgets/{world['budget'].pk}",
            {"name": "x", "amount": "1"},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert client.delete(f"/api/budgets/{world['budget'].pk}").status_code == 404
    assert CloudAccount.objects.filter(pk=world["mine"].pk).exists()
    assert Budget.objects.filter(pk=world["budget"].pk).exists()
    # Charlie's own token sees only Charlie's organization.
    names = {r["name"] for r in client.get("/api/resources").json()["results"]}
    assert names
    assert all(n.startswith("secret-") for n in names)


def test_the_inventory_is_paged_sorted_and_filtered_as_the_list_is(world, tokens, api):
    client = api(tokens["vera"])
    first = client.get("/api/resources", {"per_page": 5, "sort": "name"}).json()
    assert (first["count"], first["pages"], first["per_page"]) == (12, 3, 5)
    last = client.get("/api/resources", {"per_page": "5", "page": "3", "sort": "name"}).json()
    assert len(last["results"]) == 2
    every = client.get("/api/resources", {"per_page": 100, "sort": "name"}).json()["results"]
    names = [r["name"] for r in every]
    assert names == sorted(names)
    assert [r["name"] for r in first["results"]] == names[:5]
    backwards = client.get("/api/resources", {"per_page": 100, "sort": "-name"}).json()
    assert [r["name"] for r in backwards["results"]] == names[::-1]
    kind = every[0]["type"]
    only = client.get("/api/resources", {"type": kind, "per_page": 100}).json()
    assert only["count"] == sum(r["type"] == kind for r in every) > 0
    assert {r["type"] for r in only["results"]} == {kind}


def test_roles_are_checked_as_on_the_pages(world, tokens, api):
    sync = f"/api/cloud-accounts/{world['mine'].pk}/sync"
    denied = api(tokens["vera"]).post(sync)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    assert api(tokens["vera"]).post("/api/sync").status_code == 403
    body = {"name": "New", "amount": "500", "thresholds": [50, 100]}
    assert (
        api(tokens["bob"]).post("/api/budgets", body, content_type="application/json").status_code
        == 403
    )
    assert api(tokens["bob"]).delete(f"/api/cloud-accounts/{world['mine'].pk}").status_code == 403
    created = api(tokens["ada"]).post("/api/budgets", body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["thresholds"] == [50, 100]


def test_a_member_syncs_and_reads_the_run(
    aws, org, bob, token_for, api, django_capture_on_commit_callbacks
):
    aws_estate.instances(aws, "eu-west-1", 2)
    account = aws_account(org, aws.create_user_key("r"), regions=["eu-west-1"])
    client = api(token_for(bob))
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"/api/cloud-accounts/{account.pk}/sync")
    assert queued.status_code == 202
    run = client.get(f"/api/sync-runs/{queued.json()['id']}").json()
    assert (run["status"], run["created"] > 0) == ("succeeded", True)
    vms = client.get("/api/vms", {"status": "running", "provider": "aws"}).json()
    assert vms["count"] == 2


def test_cloud_accounts_use_the_forms_rules_and_never_return_secrets(ada, token_for, api):
    client = api(token_for(ada))
    bad = client.post(
        "/api/cloud-accounts",
        {
            "provider": "azure",
            "name": "az",
            "settings": {
                "tenant_id": "nope",
                "client_id": CLIENT,
                "client_secret": "s3cret",
                "subscription_ids": [SUB],
            },
        },
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == {
        "tenant_id": ["A tenant ID is a GUID or a domain name."]
    }
    assert not CloudAccount.objects.exists()
    good = client.post(
        "/api/cloud-accounts",
        {
            "provider": "azure",
            "name": "az",
            "settings": {
                "tenant_id": TENANT,
                "client_id": CLIENT,
                "client_secret": "s3cret-value",
                "subscription_ids": [SUB],
            },
        },
        content_type="application/json",
    )
    assert good.status_code == 201
    assert "s3cret-value" not in good.content.decode()
    assert good.json()["secrets_set"] == ["client_secret"]
    account_id = good.json()["id"]
    patched = client.patch(
        f"/api/cloud-accounts/{account_id}", {"name": "azure-main"}, content_type="application/json"
    )
    assert patched.json()["name"] == "azure-main"
    assert CloudAccount.objects.get().secrets == {"client_secret": "s3cret-value"}  # kept
    assert client.delete(f"/api/cloud-accounts/{account_id}").status_code == 204


def test_errors_have_one_shape(world, tokens, api, bob, client):
    unauth = client.get("/api/me")
    assert unauth.status_code == 401
    invalid = api(tokens["bob"]).get("/api/resources", {"per_page": 500})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid"
    custom = api(tokens["bob"]).get("/api/costs/summary", {"period": "custom"})
    assert custom.status_code == 422
    paused = world["mine"]
    paused.paused_at = paused.created_at
    paused.save()
    conflict = api(tokens["bob"]).post(f"/api/cloud-accounts/{paused.pk}/sync")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == {
        "code": "conflict",
        "message": "aws-prod is disabled or paused.",
    }


def test_the_session_works_with_csrf(world, login, bob):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.get("/api/me").json()["via"] == "session"
    assert client.post("/api/sync").status_code == 403  # no CSRF token
    assert mail.outbox == []


def test_dashboard_stats(world, tokens, api):
    stats = api(tokens["vera"]).get("/api/dashboard/stats").json()
    assert stats["total_resources"] == 12
    assert stats["resources_by_provider"] == {"aws": 12}
    assert stats["accounts"][0]["name"] == "aws-prod"
    assert stats["currency"] == "USD"
