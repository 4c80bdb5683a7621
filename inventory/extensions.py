"""How the apps built on the inventory (billing, provisioning) add to its pages without the
inventory importing them: they register panels of the resource and account pages and tiles of
the dashboard from their AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from accounts.tenancy import OrgRequest
from inventory.models import CloudAccount, Resource


@dataclass(frozen=True)
class ResourcePanel:
    """A card on the resource page: `context` returns None when it has nothing to show. The
    resource it gets carries `managed_by` (`inventory.managed`)."""

    name: str
    template: str
    context: Callable[[OrgRequest, Resource], dict[str, Any] | None]


@dataclass(frozen=True)
class AccountPanel:
    """A card on a cloud account's page: `context` returns None when it has nothing to show."""

    name: str
    template: str
    context: Callable[[OrgRequest, CloudAccount], dict[str, Any] | None]


@dataclass(frozen=True)
class Tile:
    """A dashboard tile: its own HTMX partial, refreshed on an interval and after syncs."""

    name: str
    title: str
    template: str
    context: Callable[[OrgRequest], dict[str, Any]]
    width: str = "col-md-6 col-xl-3"


RESOURCE_PANELS: dict[str, ResourcePanel] = {}
ACCOUNT_PANELS: dict[str, AccountPanel] = {}
TILES: dict[str, Tile] = {}
# Called with (account, run) after each "Sync now" (billing imports the account's costs).
SYNC_FOLLOWUPS: dict[str, Callable[[Any, Any], None]] = {}
# Called with (account, run) at the end of every sync that ran and did not fail, whatever asked
# for it (the schedule, "Sync now", an apply, the API): provisioning checks its deployments'
# states against what the sync saw (drift). A failing one is logged, never fails the sync.
SYNC_COMPLETIONS: dict[str, Callable[[Any, Any], None]] = {}
# Steps that finish loading a sandbox organization (import its costs, deploy "hello"),
# called with (organization, owner) after its accounts are synced.
SANDBOX_STEPS: dict[str, Callable[[Any, Any], str]] = {}
# Asked before an action on a resource is queued (`inventory.services.actions`), with
# (resource, action): why it must not be done from the inventory, or "". The hook of the
# managed-resource rule (nothing acts on a resource an mcloud deployment manages except
# through its deployment), which provisioning registers once "managed" is defined.
ACTION_GUARDS: dict[str, Callable[[Resource, str], str]] = {}
# Called with the run once an action on a resource is final and the resource re-synced
# (billing refreshes the waste findings after a clean-up).
ACTION_FOLLOWUPS: dict[str, Callable[[Any], None]] = {}


@dataclass(frozen=True)
class ResourcesCost:
    """What some resources of an organization cost this month (to `today`), as the bill says:
    amounts per currency, and how many of the resources the bill names; and what they cost in
    each of the last months (first day of the month, amounts per currency), newest first."""

    amounts: dict[str, Decimal] = field(default_factory=dict)
    billed: int = 0
    months: tuple[tuple[date, dict[str, Decimal]], ...] = ()


# What a set of resources (lower-case provider ids) of an organization cost this month, from
# the app that holds the costs (billing): provisioning asks it for a deployment's resources
# without importing billing. Called with (organization id, ids, today).
RESOURCES_COST: list[Callable[[int, Collection[str], date], ResourcesCost]] = []


def register_resources_cost(source: Callable[[int, Collection[str], date], ResourcesCost]) -> None:
    RESOURCES_COST[:] = [source]


def resources_cost(
    *, organization_id: int, resource_ids: Collection[str], today: date
) -> ResourcesCost | None:
    """What the resources cost this month and the months before (one query), or None when no
    app holds costs."""
    if not RESOURCES_COST:
        return None
    keys = {rid.lower() for rid in resource_ids}
    return RESOURCES_COST[0](organization_id, keys, today) if keys else ResourcesCost()


def register_resource_panel(panel: ResourcePanel) -> None:
    RESOURCE_PANELS[panel.name] = panel


def register_account_panel(panel: AccountPanel) -> None:
    ACCOUNT_PANELS[panel.name] = panel


def register_tile(tile: Tile) -> None:
    """Add a tile, or replace one of the same name (billing replaces the cost tiles)."""
    TILES[tile.name] = tile


def register_sandbox_step(name: str, step: Callable[[Any, Any], str]) -> None:
    """A step returns a line of what it did, for `manage.py demo` to print."""
    SANDBOX_STEPS[name] = step


def register_sync_followup(name: str, followup: Callable[[Any, Any], None]) -> None:
    SYNC_FOLLOWUPS[name] = followup


def register_sync_completion(name: str, completion: Callable[[Any, Any], None]) -> None:
    SYNC_COMPLETIONS[name] = completion


def register_action_guard(name: str, guard: Callable[[Resource, str], str]) -> None:
    ACTION_GUARDS[name] = guard


def register_action_followup(name: str, followup: Callable[[Any], None]) -> None:
    ACTION_FOLLOWUPS[name] = followup
