"""Isolation, exhaustively: walk the URL configuration (pages and API), build every
organization-scoped URL for objects of organization A (Acme), and request each as a user of
organization B (404), as nobody (log-in or 401), and as each role of A (allowed or refused as
the role matrix says: `org_view(min_role)` on pages, `role_auth` on the API). A URL that
tests/security/urls.py does not know fails the test, so a new page cannot skip these checks.

Every request runs in a savepoint that is rolled back, so each role meets the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership, NotificationChannel
from accounts.roles import Role
from billing.models import Anomaly, Budget, BudgetAlert, Finding
from billing.services.waste import findings_refresh
from inventory.models import (
    ActionRun,
    BulkAction,
    PowerSchedule,
    Resource,
    ResourceLink,
    SavedView,
    SyncRun,
)
from provisioning.models import (
    DeploymentDrift,
    DeploymentResource,
    DeploymentRun,
    Policy,
    PolicySet,
)
from provisioning.services.blueprints import blueprint_create
from provisioning.services.runs import run_plan_queue
from tests.billing.costs import daily, store, store_by_tag
from tests.inventory import estate
from tests.provisioning.conftest import make_deployment
from tests.security.urls import BODIES, KWARGS, Route, routes

pytestmark = pytest.mark.django_db

ROLES = ("vera", "bob", "ada", "alice")  # viewer, member, admin, owner
RANK = {"vera": Role.VIEWER, "bob": Role.MEMBER, "ada": Role.ADMIN, "alice": Role.OWNER}


@dataclass
class World:
    objects: dict[str, Any]


@pytest.fixture
def world(org, other_org, team, hello_version) -> World:
    """Objects of Acme that URLs point at, and the same kinds in Umbrella for contrast."""
    from datetime import date

    account = estate.account(org, "aws-prod")
    estate.fill(account, 6)
    store(account, daily(account, date(2026, 11, 1), 2, "5"))
    store_by_tag(account, date(2026, 11, 1), "team", {"web": "3", "": "2"})
    budget = Budget.objects.create(organization=org, name="B", amount=10, thresholds=[50])
    objects = {
        "account": account,
        "resource": Resource.objects.filter(account=account).first(),
        "run": SyncRun.objects.create(organization=org, account=account, status="succeeded"),
        "vm": Resource.objects.filter(account=account, type="vm").first(),
        "membership": Membership.objects.get(user=team["bob"]),
        "invitation": Invitation.objects.create(
            organization=org,
            email="i@x.test",
            token_hash="h" * 64,
            expires_at="2999-01-01T00:00:00Z",
        ),
        "saved_view": SavedView.objects.create(
            organization=org, owner=team["vera"], name="v", query="", shared=True
        ),
        "budget": budget,
        "alert": BudgetAlert.objects.create(
            organization=org,
            budget=budget,
            month=date(2026, 11, 1),
            threshold=50,
            spent=6,
            basis="actual",
        ),
        "anomaly": Anomaly.objects.create(
            organization=org,
            account=account,
            provider="aws",
            service="EC2",
            day=date(2026, 11, 2),
            currency="USD",
            expected_low=1,
            expected_high=2,
            actual=9,
        ),
    }
    objects["finding"] = Finding.objects.create(
        organization=org,
        account=account,
        resource=objects["resource"],
        rule="unattached_disk",
        saving=5,
        currency="USD",
        fingerprint="f",
    )
    objects["action_run"] = ActionRun.objects.create(
        organization=org, resource=objects["vm"], action="stop", status="succeeded"
    )
    objects["bulk_action"] = BulkAction.objects.create(
        organization=org, action="stop", total=1, selection="1 selected row"
    )
    ActionRun.objects.create(
        organization=org, resource=objects["vm"], action="stop", status="failed",
        error="gone", bulk=objects["bulk_action"],
    )  # fmt: skip
    objects["channel"] = NotificationChannel.objects.create(
        organization=org, name="#ops", kind="webhook",
        target={"url": "https://hooks.example.com/x", "secret": "whsec_" + "A" * 44},
        target_hint="hooks.example.com …om/x", events=["run.failed"],
    )  # fmt: skip
    deployment = make_deployment(org, team["bob"], hello_version, "hello-1")
    plan = run_plan_queue(deployment=deployment, user=team["bob"], enqueue=False)
    DeploymentRun.objects.filter(pk=plan.pk).update(
        status=DeploymentRun.Status.PLANNED, plan_file=b"plan"
    )
    objects["blueprint"] = blueprint_create(
        organization=org, name="Ours", description="", user=team["alice"],
        files={"main.tf": 'output "x" {\n  value = 1\n}\n'},
    )  # fmt: skip
    objects["deployment"], objects["plan"] = deployment, plan
    # The resource is attached to another and managed by the deployment: its page's lists,
    # graph and "managed by" link are walked too.
    resource, other = Resource.objects.filter(account=account)[:2]
    ResourceLink.objects.create(organization=org, resource=resource, target_id=other.resource_id,
                                target_key=other.resource_id.lower())  # fmt: skip
    DeploymentResource.objects.create(organization=org, deployment=deployment, address="x.y",
                                      provider_id=resource.resource_id,
                                      key=resource.resource_id.lower())  # fmt: skip
    objects["policy_set"] = PolicySet.objects.create(organization=org, name="Production",
                                                     scope="selected")  # fmt: skip
    objects["policy_set"].accounts.add(account)
    # Its drift names the resource: the deployment page links to it.
    DeploymentDrift.objects.create(
        organization=org, deployment=deployment, drifted_since=timezone.now(),
        inventory_differences=[{"address": "x.y", "resource_id": resource.resource_id,
                                "resource": resource.pk, "kind": "deleted",
                                "attribute": "existence", "expected": "exists",
                                "actual": "deleted"}],
    )  # fmt: skip
    objects["policy"] = Policy.objects.create(
        organization=org,
        name="Tags",
        source="package tags\n",
        enforcement="mandatory",
        policy_set=objects["policy_set"],
    )
    objects["power_schedule"] = PowerSchedule.objects.create(
        organization=org,
        name="Dev nights",
        time_zone="Europe/Paris",
        tag_filter="env=dev",
        week=[{"stop": "19:00", "start": "07:00"}] * 7,
    )
    PowerSchedule.objects.create(organization=other_org, name="secret-nights", time_zone="UTC",
                                 tag_filter="env=secret")  # fmt: skip
    theirs = estate.account(other_org, "theirs")
    estate.fill(theirs, 2, prefix="secret")
    store_by_tag(theirs, date(2026, 11, 1), "team", {"secret-team": "9"})
    findings_refresh(organization=other_org)  # their unattached disks: findings named secret-
    return World(objects)


def _request(client: Client, route: Route, url: str, method: str, body: dict | None = None) -> int:
    with transaction.atomic():
        if route.is_api and method != "GET":
            response = getattr(client, method.lower())(url, "{}", content_type="application/json")
        elif method == "POST":
            response = client.post(url, body or {})
        else:
            response = client.get(url)
        transaction.set_rollback(True)
    return response.status_code


def test_every_url_is_known():
    unknown = [r.name for r in routes() if r.params and r.name not in KWARGS]
    assert unknown == [], f"add these to KWARGS in tests/security/urls.py: {unknown}"


def test_isolation_and_the_role_matrix(world, team, login, token_for):
    checked = 0
    outsiders = {
        "page": login(team["charlie"]),
        "api": Client(headers={"Authorization": f"Bearer {token_for(team['charlie'])}"}),
    }
    members = {
        name: (
            login(team[name]),
            Client(headers={"Authorization": f"Bearer {token_for(team[name])}"}),
        )
        for name in ROLES
    }
    anonymous = Client()
    for route in routes():
        kwargs = KWARGS[route.name](world.objects) if route.params else {}
        body = BODIES[route.name](world.objects) if route.name in BODIES else None
        url = reverse(route.name, kwargs=kwargs)
        for method in route.methods:
            page, tokens = ("api", 1) if route.is_api else ("page", 0)
            status = _request(anonymous, route, url, method, body)
            expected_anon = {401} if route.is_api else {302}
            assert status in expected_anon, (route.name, method, "anonymous", status)
            if (route.params or body) and route.name != "inventory:dashboard_tile":
                status = _request(outsiders[page], route, url, method, body)
                # A request refused before the lookup (a method the page does not take, 405;
                # an API body that does not validate, 422) must answer a missing object the
                # same way: no oracle of what exists.
                missing = reverse(route.name, kwargs=dict.fromkeys(kwargs, 2**31 - 1))
                no_body = dict.fromkeys(body, 2**31 - 1) if body else None
                same = _request(outsiders[page], route, missing, method, no_body)
                assert status in (404, 405, 422), (route.name, method, "outsider", status)
                assert status == same, (route.name, method, "outsider", status, same)
            for name in ROLES:
                client = members[name][tokens]
                status = _request(client, route, url, method, body)
                allowed = RANK[name].allows(route.min_role)
                if allowed:
                    assert status not in (401, 403, 404), (route.name, method, name, status)
                else:
                    assert status == 403, (route.name, method, name, status)
                checked += 1
    assert checked > 200
