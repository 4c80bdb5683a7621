"""The URL configuration, walked: every named page and API operation, what each needs to point
at one organization's objects, and the role it asks for. The isolation test requests each
route as every kind of caller; the secrets and hostile-content tests render every page that
answers GET and scan what comes back.

Objects are passed as a mapping of kind -> model instance ("account", "resource", "vm", "run",
"action_run", "bulk_action", "membership", "invitation", "saved_view", "budget", "alert",
"anomaly", "finding", "blueprint", "deployment", "plan", "channel", "policy", "policy_set",
"power_schedule"), so each test builds its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.notifications.channels import CHANNEL_KINDS
from accounts.roles import Role
from inventory.extensions import TILES
from mcloud.api.main import api

Objects = Mapping[str, Any]

# Pages outside any organization, or that act on the signed-in user only.
NOT_ORG_SCOPED = {
    "health",
    "favicon",
    "accounts:organization_list",
    "accounts:organization_create",
    "accounts:organization_switch",
    "accounts:token_list",
    "accounts:token_revoke",
    "accounts:theme",
    "accounts:invitation_detail",
    "inventory:sandbox_create",
    "api-1:openapi-json",
    "api-1:openapi-view",
    "api-1:api-root",
}
# The signed-in user's own pages that a GET walk skips: leaving, and the anonymous pages.
NOT_WALKED = {"account_logout", "account_login", "account_signup", "account_reset_password"}


def _pk(kwarg: str, kind: str) -> Callable[[Objects], dict[str, Any]]:
    return lambda objects: {kwarg: objects[kind].pk}


# URL name -> the kwargs that point at the organization's object of that kind.
KWARGS: dict[str, Callable[[Objects], dict[str, Any]]] = {
    "accounts:member_role": _pk("pk", "membership"),
    "accounts:member_remove": _pk("pk", "membership"),
    "accounts:invitation_revoke": _pk("pk", "invitation"),
    "accounts:channel_detail": _pk("pk", "channel"),
    "accounts:channel_edit": _pk("pk", "channel"),
    "accounts:channel_delete": _pk("pk", "channel"),
    "accounts:channel_test": _pk("pk", "channel"),
    "accounts:channel_secret": _pk("pk", "channel"),
    "inventory:dashboard_tile": lambda objects: {"name": "resources"},
    "inventory:account_detail": _pk("pk", "account"),
    "inventory:account_edit": _pk("pk", "account"),
    "inventory:account_test": _pk("pk", "account"),
    "inventory:account_resume": _pk("pk", "account"),
    "inventory:account_toggle": _pk("pk", "account"),
    "inventory:account_delete": _pk("pk", "account"),
    "inventory:sync_now": _pk("pk", "account"),
    "inventory:resource_detail": _pk("pk", "resource"),
    "inventory:saved_view_delete": _pk("pk", "saved_view"),
    "inventory:sync_run_progress": _pk("pk", "run"),
    "inventory:resource_action": lambda objects: {"pk": objects["vm"].pk, "action": "stop"},
    "inventory:action_run_progress": _pk("pk", "action_run"),
    "inventory:bulk_action_detail": _pk("pk", "bulk_action"),
    "inventory:bulk_action_cancel": _pk("pk", "bulk_action"),
    "inventory:schedule_edit": _pk("pk", "power_schedule"),
    "inventory:schedule_delete": _pk("pk", "power_schedule"),
    "inventory:action_run_approve": _pk("pk", "action_run"),
    "inventory:action_run_reject": _pk("pk", "action_run"),
    "billing:budget_edit": _pk("pk", "budget"),
    "billing:budget_delete": _pk("pk", "budget"),
    "billing:alert_ack": _pk("pk", "alert"),
    "billing:anomaly_ack": _pk("pk", "anomaly"),
    "billing:finding_dismiss": _pk("pk", "finding"),
    "billing:finding_remove": _pk("pk", "finding"),
    "api-1:cloud_account_detail": _pk("account_id", "account"),
    "api-1:cloud_account_update": _pk("account_id", "account"),
    "api-1:cloud_account_delete": _pk("account_id", "account"),
    "api-1:cloud_account_test": _pk("account_id", "account"),
    "api-1:sync_account": _pk("account_id", "account"),
    "api-1:sync_run": _pk("run_id", "run"),
    "api-1:resource_detail": _pk("resource_pk", "resource"),
    "api-1:resource_action": lambda objects: {"resource_pk": objects["vm"].pk, "action": "stop"},
    "api-1:action_run": _pk("run_id", "action_run"),
    "api-1:bulk_action_detail": _pk("bulk_id", "bulk_action"),
    "api-1:bulk_action_cancel_api": _pk("bulk_id", "bulk_action"),
    "api-1:action_run_approve_api": _pk("run_id", "action_run"),
    "api-1:action_run_reject_api": _pk("run_id", "action_run"),
    "api-1:budget_update": _pk("budget_id", "budget"),
    "api-1:budget_delete": _pk("budget_id", "budget"),
    "api-1:anomaly_ack": _pk("anomaly_id", "anomaly"),
    "api-1:finding_dismiss_api": _pk("finding_id", "finding"),
    "provisioning:blueprint_detail": _pk("pk", "blueprint"),
    "provisioning:blueprint_upload": _pk("pk", "blueprint"),
    "provisioning:deployment_detail": _pk("pk", "deployment"),
    "provisioning:deployment_edit": _pk("pk", "deployment"),
    "provisioning:deployment_plan": _pk("pk", "deployment"),
    "provisioning:deployment_destroy": _pk("pk", "deployment"),
    "provisioning:deployment_unlock": _pk("pk", "deployment"),
    "provisioning:deployment_archive": _pk("pk", "deployment"),
    "provisioning:deployment_unarchive": _pk("pk", "deployment"),
    "provisioning:run_detail": _pk("pk", "plan"),
    "provisioning:run_log": _pk("pk", "plan"),
    "provisioning:run_panel": _pk("pk", "plan"),
    "provisioning:run_approve": _pk("pk", "plan"),
    "provisioning:run_discard": _pk("pk", "plan"),
    "provisioning:run_cancel": _pk("pk", "plan"),
    "provisioning:run_policy_override": _pk("pk", "plan"),
    "provisioning:policy_edit": _pk("pk", "policy"),
    "provisioning:policy_delete": _pk("pk", "policy"),
    "provisioning:policy_set_edit": _pk("pk", "policy_set"),
    "provisioning:policy_set_delete": _pk("pk", "policy_set"),
    "api-1:policy_set": _pk("set_id", "policy_set"),
    "api-1:policy_set_update": _pk("set_id", "policy_set"),
    "api-1:policy_set_delete": _pk("set_id", "policy_set"),
    "api-1:policy": _pk("policy_id", "policy"),
    "api-1:policy_update": _pk("policy_id", "policy"),
    "api-1:policy_delete": _pk("policy_id", "policy"),
    "api-1:deployment_detail": _pk("deployment_id", "deployment"),
    "api-1:deployment_update": _pk("deployment_id", "deployment"),
    "api-1:deployment_outputs": _pk("deployment_id", "deployment"),
    "api-1:deployment_runs": _pk("deployment_id", "deployment"),
    "api-1:deployment_plan": _pk("deployment_id", "deployment"),
    "api-1:deployment_destroy": _pk("deployment_id", "deployment"),
    "api-1:deployment_unlock": _pk("deployment_id", "deployment"),
    "api-1:run_detail": _pk("run_id", "plan"),
    "api-1:run_log": _pk("run_id", "plan"),
    "api-1:run_approve": _pk("run_id", "plan"),
    "api-1:run_discard": _pk("run_id", "plan"),
    "api-1:run_cancel": _pk("run_id", "plan"),
    "api-1:run_override": _pk("run_id", "plan"),
}
# URL name -> a form body naming the organization's objects, for pages that take the object
# from the body.
BODIES: dict[str, Callable[[Objects], dict[str, Any]]] = {
    "accounts:ownership_transfer": lambda objects: {"membership": objects["membership"].pk},
}
# URL name -> query strings of the page's other states (a form per provider, a deployment form
# per blueprint, the chart stacked by service), each rendered besides the plain page.
VARIANTS: dict[str, Callable[[Objects], list[str]]] = {
    "inventory:account_create": lambda objects: [f"?provider={p}" for p in ("aws", "azure", "gcp")],
    "provisioning:deployment_create": lambda objects: [
        f"?blueprint={b.pk}" for b in objects.get("blueprints", [objects["blueprint"]])
    ],
    "billing:overview": lambda objects: ["?group=service", "?period=last_90&group=service"],
    "inventory:resource_list": lambda objects: ["?include_deleted=on&sort=-region"],
    # The confirmation of a bulk stop of every VM, and of ticked rows.
    "inventory:bulk_action_confirm": lambda objects: [
        "?action=stop&scope=all&vm_only=1",
        f"?action=reboot&scope=selected&ids={objects['vm'].pk}",
    ],
    "accounts:channel_create": lambda objects: [f"?kind={k}" for k in CHANNEL_KINDS],
    # The search palette with a text that finds something of every kind (hostile names hold
    # "xss"), and one too short for resources.
    "accounts:search": lambda objects: ["?q=xss", "?q=x"],
}


@dataclass(frozen=True)
class Route:
    name: str
    params: tuple[str, ...]
    methods: tuple[str, ...]
    min_role: Role
    is_api: bool


def walk(patterns: list, namespace: str | None = None) -> Iterator[tuple[str, Any, tuple]]:
    """(URL name, view, parameter names) of every named pattern, included ones too."""
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, p.namespace or namespace)
        elif isinstance(p, URLPattern) and p.name:
            name = f"{namespace}:{p.name}" if namespace else p.name
            params = tuple(p.pattern.converters) or tuple(p.pattern.regex.groupindex)
            yield name, p.callback, params


def api_operations() -> dict[str, tuple[tuple[str, ...], Role]]:
    """url name -> (HTTP methods, least role) of every API operation."""
    found = {}
    for _prefix, router in api._routers:
        for view in router.path_operations.values():
            for operation in view.operations:
                callbacks = operation.auth_callbacks
                role = (callbacks[0].min_role if callbacks else None) or Role.VIEWER
                found[getattr(operation, "url_name", "") or operation.view_func.__name__] = (
                    tuple(operation.methods),
                    role,
                )
    return found


def routes() -> list[Route]:
    """Every organization-scoped page and API operation. A page that is neither an `org_view`
    nor listed in NOT_ORG_SCOPED fails, so a new page cannot slip past the walks."""
    api_ops = api_operations()
    result = []
    for name, callback, params in walk(get_resolver().url_patterns):
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


@dataclass(frozen=True)
class Url:
    name: str
    path: str
    is_api: bool


def get_urls(objects: Objects) -> list[Url]:
    """Every URL a signed-in member could GET for `objects`' organization: each organization
    page (every dashboard tile, and the VARIANTS), each API operation that answers GET, and the
    user's own pages without parameters (organizations, tokens, allauth's account and MFA
    pages). Pages that only take POST are included: they answer 405."""
    found = []
    for route in routes():
        if route.is_api and "GET" not in route.methods:
            continue
        if route.name == "inventory:dashboard_tile":
            kwargs_list = [{"name": name} for name in sorted(TILES)]
        else:
            kwargs_list = [KWARGS[route.name](objects) if route.params else {}]
        for kwargs in kwargs_list:
            path = reverse(route.name, kwargs=kwargs)
            found.append(Url(route.name, path, route.is_api))
            variants = VARIANTS.get(route.name, lambda objects: [])(objects)
            found += [Url(route.name, path + query, route.is_api) for query in variants]
    ops = api_operations()
    for name, _callback, params in walk(get_resolver().url_patterns):
        own = name in NOT_ORG_SCOPED or name.startswith(("account_", "mfa_"))
        if not own or params or name in NOT_WALKED:
            continue
        is_api = name.startswith("api-1:")
        op = ops.get(name.split(":", 1)[1]) if is_api else None
        if op is None or "GET" in op[0]:
            found.append(Url(name, reverse(name), is_api))
    return found


def admin_urls(limit: int = 3) -> list[Url]:
    """The admin's list of every registered model and the change page of its first `limit`
    rows (what a staff member can open)."""
    found = []
    for model in admin.site._registry:
        opts: Any = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        found.append(Url(f"{prefix}_changelist", reverse(f"{prefix}_changelist"), False))
        rows: list[Model] = list(model._default_manager.order_by("pk")[:limit])
        found += [
            Url(f"{prefix}_change", reverse(f"{prefix}_change", args=[row.pk]), False)
            for row in rows
        ]
    return found
