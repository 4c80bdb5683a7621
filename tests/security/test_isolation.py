"""Isolation, exhaustively: walk the URL configuration (pages and API), build every
organization-scoped URL for objects of organization A (Acme), and request each as a user of
organization B (404), as nobody (log-in or 401), and as each role of A (allowed or refused as
the role matrix says: `org_view(min_role)` on pages, `role_auth` on the API). A URL that
this file does not know fails the test, so a new page cannot skip these checks.

Every request runs in a savepoint that is rolled back, so each role meets the same objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Invitation, Membership
from accounts.roles import Role
from billing.models import Budget, BudgetAlert
from inventory.models import Resource, SavedView, SyncRun
from mcloud.api.main import api
from provisioning.models import DeploymentRun
from provisioning.services.blueprints import blueprint_create
from provisioning.services.runs import run_plan_queue
from tests.billing.costs import daily, store
from tests.inventory import estate
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db

ROLES = ("vera", "bob", "ada", "alice")  # viewer, member, admin, owner
RANK = {"vera": Role.VIEWER, "bob": Role.MEMBER, "ada": Role.ADMIN, "alice": Role.OWNER}

# Pages outside any organization, or that act on the signed-in user only.
NOT_ORG_SCOPED = {
    "health",
    "accounts:organization_list",
    "accounts:organization_create",
    "accounts:organization_switch",
    "accounts:token_list",
    "accounts:token_revoke",
    "accounts:invitation_detail",
    "inventory:sandbox_create",
    "api-1:openapi-json",
    "api-1:openapi-view",
    "api-1:api-root",
}


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
    budget = Budget.objects.create(organization=org, name="B", amount=10, thresholds=[50])
    objects = {
        "account": account,
        "resource": Resource.objects.filter(account=account).first(),
        "run": SyncRun.objects.create(organization=org, account=account, status="succeeded"),
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
    }
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
    theirs = estate.account(other_org, "theirs")
    estate.fill(theirs, 2, prefix="secret")
    return World(objects)


# URL name -> the kwargs that point at Acme's object, built from the world.
KWARGS: dict[str, Callable[[World], dict[str, Any]]] = {
    "accounts:member_role": lambda w: {"pk": w.objects["membership"].pk},
    "accounts:member_remove": lambda w: {"pk": w.objects["membership"].pk},
    "accounts:invitation_revoke": lambda w: {"pk": w.objects["invitation"].pk},
    "inventory:dashboard_tile": lambda w: {"name": "resources"},
    "inventory:account_detail": lambda w: {"pk": w.objects["account"].pk},
    "inventory:account_edit": lambda w: {"pk": w.objects["account"].pk},
    "inventory:account_test": lambda w: {"pk": w.objects["account"].pk},
    "inventory:account_resume": lambda w: {"pk": w.objects["account"].pk},
    "inventory:account_toggle": lambda w: {"pk": w.objects["account"].pk},
    "inventory:account_delete": lambda w: {"pk": w.objects["account"].pk},
    "inventory:sync_now": lambda w: {"pk": w.objects["account"].pk},
    "inventory:resource_detail": lambda w: {"pk": w.objects["resource"].pk},
    "inventory:saved_view_delete": lambda w: {"pk": w.objects["saved_view"].pk},
    "inventory:sync_run_progress": lambda w: {"pk": w.objects["run"].pk},
    "billing:budget_edit": lambda w: {"pk": w.objects["budget"].pk},
    "billing:budget_delete": lambda w: {"pk": w.objects["budget"].pk},
    "billing:alert_ack": lambda w: {"pk": w.objects["alert"].pk},
    "api-1:cloud_account_detail": lambda w: {"account_id": w.objects["account"].pk},
    "api-1:cloud_account_update": lambda w: {"account_id": w.objects["account"].pk},
    "api-1:cloud_account_delete": lambda w: {"account_id": w.objects["account"].pk},
    "api-1:cloud_account_test": lambda w: {"account_id": w.objects["account"].pk},
    "api-1:sync_account": lambda w: {"account_id": w.objects["account"].pk},
    "api-1:sync_run": lambda w: {"run_id": w.objects["run"].pk},
    "api-1:resource_detail": lambda w: {"resource_pk": w.objects["resource"].pk},
    "api-1:budget_update": lambda w: {"budget_id": w.objects["budget"].pk},
    "provisioning:blueprint_detail": lambda w: {"pk": w.objects["blueprint"].pk},
    "provisioning:blueprint_upload": lambda w: {"pk": w.objects["blueprint"].pk},
    "provisioning:deployment_detail": lambda w: {"pk": w.objects["deployment"].pk},
    "provisioning:deployment_edit": lambda w: {"pk": w.objects["deployment"].pk},
    "provisioning:deployment_plan": lambda w: {"pk": w.objects["deployment"].pk},
    "provisioning:deployment_destroy": lambda w: {"pk": w.objects["deployment"].pk},
    "provisioning:deployment_unlock": lambda w: {"pk": w.objects["deployment"].pk},
    "provisioning:run_detail": lambda w: {"pk": w.objects["plan"].pk},
    "provisioning:run_log": lambda w: {"pk": w.objects["plan"].pk},
    "provisioning:run_panel": lambda w: {"pk": w.objects["plan"].pk},
    "provisioning:run_approve": lambda w: {"pk": w.objects["plan"].pk},
    "provisioning:run_discard": lambda w: {"pk": w.objects["plan"].pk},
    "provisioning:run_cancel": lambda w: {"pk": w.objects["plan"].pk},
    "api-1:deployment_detail": lambda w: {"deployment_id": w.objects["deployment"].pk},
    "api-1:deployment_update": lambda w: {"deployment_id": w.objects["deployment"].pk},
    "api-1:deployment_outputs": lambda w: {"deployment_id": w.objects["deployment"].pk},
    "api-1:deployment_runs": lambda w: {"deployment_id": w.objects["deployment"].pk},
    "api-1:deployment_plan": lambda w: {"deployment_id": w.objects["deployment"].pk},
    "api-1:deployment_destroy": lambda w: {"deployment_id": w.objects["deployment"].pk},
    "api-1:run_detail": lambda w: {"run_id": w.objects["plan"].pk},
    "api-1:run_log": lambda w: {"run_id": w.objects["plan"].pk},
    "api-1:run_approve": lambda w: {"run_id": w.objects["plan"].pk},
    "api-1:run_discard": lambda w: {"run_id": w.objects["plan"].pk},
    "api-1:run_cancel": lambda w: {"run_id": w.objects["plan"].pk},
    "api-1:budget_delete": lambda w: {"budget_id": w.objects["budget"].pk},
}
# URL name -> a form body naming Acme's objects, for pages that take the object from the body.
BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "accounts:ownership_transfer": lambda w: {"membership": w.objects["membership"].pk},
}


@dataclass(frozen=True)
class Route:
    name: str
    params: tuple[str, ...]
    methods: tuple[str, ...]
    min_role: Role
    is_api: bool


def _walk(patterns: list, namespace: str | None = None) -> Iterator[tuple[str, Any, tuple]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, p.namespace or namespace)
        elif isinstance(p, URLPattern) and p.name:
            name = f"{namespace}:{p.name}" if namespace else p.name
            yield name, p.callback, tuple(p.pattern.converters)


def _api_operations() -> dict[str, tuple[tuple[str, ...], Role]]:
    """url name -> (HTTP methods, least role) of every API operation."""
    found = {}
    for _prefix, router in api._routers:
        for view in router.path_operations.values():
            for operation in view.operations:
                role = (
                    operation.auth_callbacks[0].min_role
                    if operation.auth_callbacks
                    else Role.VIEWER
                )
                found[getattr(operation, "url_name", "") or operation.view_func.__name__] = (
                    tuple(operation.methods),
                    role,
                )
    return found


def routes() -> list[Route]:
    api_ops = _api_operations()
    result = []
    for name, callback, params in _walk(get_resolver().url_patterns):
        if name in NOT_ORG_SCOPED or name.startswith(("admin:", "account_", "mfa_")):
            continue
        if name.startswith("api-1:"):
            methods, role = api_ops[name.split(":", 1)[1]]
            result.append(Route(name, params, methods, role, True))
        elif hasattr(callback, "min_role"):
            # Both methods: a page that only takes one answers the other 405 to its members,
            # and still 404 to outsiders and 403 to lesser roles, which is what is checked.
            result.append(Route(name, params, ("GET", "POST"), callback.min_role, False))
        else:
            raise AssertionError(f"{name} is neither org-scoped (org_view) nor listed as not")
    return result


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
    assert unknown == [], f"add these to KWARGS in {__file__}: {unknown}"


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
        kwargs = KWARGS[route.name](world) if route.params else {}
        body = BODIES[route.name](world) if route.name in BODIES else None
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
