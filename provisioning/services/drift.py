"""Drift: a deployment's resources changed or deleted outside Terraform.

- From the inventory, without running anything: after every sync that ran and did not fail
  (`inventory.extensions.SYNC_COMPLETIONS`), each applied deployment of the account's
  organization whose state names a resource of the account (or that runs on the account) is
  compared with the inventory: a resource of its state the inventory holds as deleted (or whose
  provider says it is gone) is "deleted"; one whose region, size or type, provider status or
  tags differ from what the state says is "changed". Only what the state says is compared
  (`drift_attributes`), and a resource the inventory never saw (a type it does not list, a
  null_resource) is not a difference: the inventory cannot tell.
- From Terraform: a refresh-only plan (a run of kind "drift check", `run_drift_check_queue`),
  queued by the schedule at the organization's interval (`drift_checks_queue_due`, off by
  default) through the same worker, lease and isolation as every run. Its differences are the
  plan's `resource_drift` (Terraform's "Objects have changed outside of Terraform"): the
  addresses and attribute names only, never values (they may be secret).
- A deployment is drifted while either source finds something (`DeploymentDrift`); becoming
  drifted is one "drift found" notification and audit event, not one per sync. An apply
  clears it (the state is then what Terraform just read); the next sync checks again.
- "Reconcile" is a normal plan (`run_plan_queue`): it shows what applying the configuration
  would change back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from accounts.notifications.events import Event
from accounts.notifications.services import notify
from inventory.models import CloudAccount, Resource, SyncRun
from mcloud.clouds.base import GONE_STATUSES, UNKNOWN_REGION
from mcloud.errors import ActionRefused
from provisioning.drift_attributes import region_normalized, size_key, tags_visible
from provisioning.models import (
    Deployment,
    DeploymentDrift,
    DeploymentResource,
    DeploymentRun,
    ProvisioningSettings,
)
from provisioning.services.runs import deployment_for_work, refuse_if_busy, run_audit
from provisioning.tasks import RUN_EXECUTE

Difference = dict[str, Any]
MAX_DIFFERENCES = 200  # per source and deployment: enough to act on, bounded to store
MAX_TEXT = 200


# --- from the inventory ------------------------------------------------------------------
def drift_after_sync(account: CloudAccount, run: SyncRun | None = None) -> None:
    """The sync completion hook: check the applied deployments the sync of `account` can
    tell about."""
    keys = (
        Resource.objects.filter(account_id=account.pk)
        .annotate(key=Lower("resource_id"))
        .values("key")
    )
    named = DeploymentResource.objects.filter(
        organization_id=account.organization_id, key__in=keys
    ).values("deployment_id")
    deployments = Deployment.objects.filter(
        Q(account_id=account.pk) | Q(pk__in=named),
        organization_id=account.organization_id,
        status=Deployment.Status.ACTIVE,
    ).select_related("organization")
    drift_check_inventory(deployments=list(deployments))


def drift_check_inventory(*, deployments: list[Deployment]) -> int:
    """Compare each deployment's state with the inventory and record what differs (three
    queries for all, then one small transaction per deployment)."""
    if not deployments:
        return 0
    rows = list(
        DeploymentResource.objects.filter(deployment__in=deployments).order_by("address", "id")
    )
    found = _resources(deployments[0].organization_id, {row.key for row in rows})
    by_deployment: dict[int, list[DeploymentResource]] = defaultdict(list)
    for row in rows:
        by_deployment[row.deployment_id].append(row)
    for deployment in deployments:
        differences = drift_compare(by_deployment.get(deployment.pk, []), found)
        drift_record(deployment=deployment, inventory=differences)
    return len(deployments)


def _resources(organization_id: int, keys: set[str]) -> dict[str, Resource]:
    """{lower-case provider id: the inventory's resource}, a live one before a tombstone."""
    found: dict[str, Resource] = {}
    if not keys:
        return found
    rows = (
        Resource.objects.filter(organization_id=organization_id)
        .annotate(key=Lower("resource_id"))
        .filter(key__in=sorted(keys))
        .only("id", "resource_id", "region", "status", "tags", "metadata", "deleted_at")
    )
    for resource in rows:
        key = resource.resource_id.lower()
        if key not in found or found[key].deleted_at is not None:
            found[key] = resource
    return found


def drift_compare(
    rows: Iterable[DeploymentResource], resources: dict[str, Resource]
) -> list[Difference]:
    """The differences between a state's resources (`rows`, those of one deployment) and the
    inventory's (`resources`, by lower-case provider id)."""
    by_address: dict[str, list[DeploymentResource]] = defaultdict(list)
    for row in rows:
        by_address[row.address].append(row)
    differences: list[Difference] = []
    for address, group in by_address.items():
        matched = next(((r, resources[r.key]) for r in group if r.key in resources), None)
        if matched is None:
            continue  # the inventory never saw it: it cannot tell
        row, resource = matched
        differences.extend(_differences(address, row.expected, resource))
    return differences[:MAX_DIFFERENCES]


def _differences(address: str, expected: dict[str, Any], resource: Resource) -> list[Difference]:
    def difference(kind: str, attribute: str, want: Any, have: Any) -> Difference:
        return {"address": address, "resource_id": resource.resource_id,
                "resource": resource.pk, "kind": kind, "attribute": attribute,
                "expected": _text(want), "actual": _text(have)}  # fmt: skip

    if resource.deleted_at is not None or resource.status in GONE_STATUSES:
        gone = "deleted" if resource.deleted_at is not None else resource.status
        return [difference("deleted", "existence", "exists", gone)]
    found: list[Difference] = []
    metadata = resource.metadata if isinstance(resource.metadata, dict) else {}
    key = size_key(str(expected.get("type", "")))
    have_region = "" if resource.region == UNKNOWN_REGION else resource.region
    have_status = metadata.get("provider_status")
    pairs = (
        ("region", expected.get("region"), region_normalized(have_region or ""), have_region),
        ("size", expected.get("size"), metadata.get(key) if key else None, None),
        ("status", expected.get("status"), have_status, None),
    )
    for attribute, want, have, shown in pairs:
        # Compared only when the state says it and the inventory knows it.
        if want in (None, "") or have in (None, ""):
            continue
        if str(have).lower() != str(want).lower():
            found.append(difference("changed", attribute, want, shown or have))
    if isinstance(expected.get("tags"), dict):
        want = expected["tags"]
        have = tags_visible(resource.tags if isinstance(resource.tags, dict) else {})
        changed = sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k))
        if changed:
            found.append(difference(
                "changed", "tags", _tags_text(want, changed), _tags_text(have, changed)
            ))  # fmt: skip
    return found


def _tags_text(tags: dict[str, str], keys: list[str]) -> str:
    return ", ".join(f"{k}={tags[k]}" if k in tags else f"{k} (none)" for k in keys)


def _text(value: Any) -> str:
    return str(value)[:MAX_TEXT]


# --- recording ---------------------------------------------------------------------------
def drift_record(
    *,
    deployment: Deployment,
    inventory: list[Difference] | None = None,
    terraform: list[Difference] | None = None,
    run: DeploymentRun | None = None,
) -> DeploymentDrift:
    """Store one source's differences (None: that source is not concerned). A deployment that
    becomes drifted is announced (`Event.DRIFT_FOUND`) and audited once; one back in line is
    audited."""
    now = timezone.now()
    with transaction.atomic():
        drift, _ = DeploymentDrift.objects.select_for_update().get_or_create(
            deployment=deployment, defaults={"organization_id": deployment.organization_id}
        )
        was = drift.is_drifted
        if inventory is not None:
            drift.inventory_differences = inventory[:MAX_DIFFERENCES]
            drift.inventory_checked_at = now
        if terraform is not None:
            drift.terraform_differences = terraform[:MAX_DIFFERENCES]
            drift.terraform_checked_at = now
            drift.terraform_run = run
        drifted = bool(drift.inventory_differences or drift.terraform_differences)
        drift.drifted_since = (drift.drifted_since or now) if drifted else None
        drift.save()
        if drifted and not was:
            _drift_found(deployment, drift)
        elif was and not drifted:
            audit_record(organization=deployment.organization, action="deployment.drift_cleared",
                         actor_label="drift detection", target=deployment, data={})  # fmt: skip
    return drift


def drift_clear(*, deployment: Deployment) -> None:
    """After an apply: the state is what Terraform just read and made, so nothing known
    differs any longer (the next sync checks again)."""
    DeploymentDrift.objects.filter(deployment=deployment).update(
        inventory_differences=[], terraform_differences=[], drifted_since=None
    )


def _drift_found(deployment: Deployment, drift: DeploymentDrift) -> None:
    differences = drift.differences
    addresses = sorted({d["address"] for d in differences})
    audit_record(
        organization=deployment.organization, action="deployment.drift_found",
        actor_label="drift detection", target=deployment,
        data={"differences": len(differences), "addresses": addresses[:20]},
    )  # fmt: skip
    kinds = sorted({d["kind"] for d in differences})
    notify(
        organization=deployment.organization,
        event=Event.DRIFT_FOUND,
        title=f"{deployment.name} has drifted from its Terraform state",
        text=f"{len(addresses)} resource(s) {' or '.join(kinds)} outside Terraform.",
        url=reverse("provisioning:deployment_detail", args=[deployment.pk]),
        facts=[("Deployment", deployment.name), ("Resources", ", ".join(addresses[:10]))],
    )


# --- from Terraform ----------------------------------------------------------------------
def terraform_differences(plan_json: dict[str, Any] | None) -> list[Difference]:
    """The `resource_drift` of a refresh-only plan's JSON: address, kind, and the names of the
    top-level attributes that changed (never their values)."""
    found: list[Difference] = []
    for item in (plan_json or {}).get("resource_drift") or []:
        if not isinstance(item, dict) or item.get("mode", "managed") != "managed":
            continue
        change: dict[str, Any] = item["change"] if isinstance(item.get("change"), dict) else {}
        actions = change.get("actions") or []
        before, after = change.get("before"), change.get("after")
        address = _text(item.get("address") or "")
        if "delete" in actions and after is None:
            found.append({"address": address, "resource_id": "", "kind": "deleted",
                          "attribute": "existence", "expected": "exists",
                          "actual": "deleted"})  # fmt: skip
            continue
        names = sorted(
            k for k in {*(before or {}), *(after or {})}
            if (before or {}).get(k) != (after or {}).get(k)
        ) if isinstance(before, dict) and isinstance(after, dict) else []  # fmt: skip
        found.append({"address": address, "resource_id": "", "kind": "changed",
                      "attribute": _text(", ".join(names) or "attributes"), "expected": "",
                      "actual": ""})  # fmt: skip
    return found[:MAX_DIFFERENCES]


def run_drift_check_queue(
    *, deployment: Deployment, user: User | None = None, enqueue: bool = True
) -> DeploymentRun:
    """Queue a drift check (a refresh-only plan) of an applied deployment. It supersedes no
    plan and never awaits approval."""
    with deployment_for_work(deployment) as deployment:
        if deployment.status != Deployment.Status.ACTIVE:
            raise ActionRefused(f"{deployment.name} is not applied: there is nothing to check.")
        refuse_if_busy(deployment)
        run = DeploymentRun.objects.create(
            organization=deployment.organization, deployment=deployment,
            kind=DeploymentRun.Kind.DRIFT, blueprint_version=deployment.blueprint_version,
            started_by=user,
        )  # fmt: skip
        run.deployment = deployment
        run_audit(run, "drift_check_requested", actor=user)
        if enqueue:
            RUN_EXECUTE.enqueue(run.pk)
    return run


def drift_checks_queue_due() -> int:
    """Scheduled: queue a drift check of each applied deployment whose organization turned
    them on and whose last one is older than its interval. A busy deployment is left for the
    next round. Returns how many were queued."""
    queued = 0
    now = timezone.now()
    for rules in ProvisioningSettings.objects.filter(drift_check_hours__gt=0):
        due_before = now - timedelta(hours=rules.drift_check_hours)
        deployments = (
            Deployment.objects.filter(
                organization_id=rules.organization_id,
                status=Deployment.Status.ACTIVE,
                archived_at__isnull=True,
            )
            .annotate(last_check=Max("runs__queued_at", filter=Q(runs__kind="drift")))
            .filter(Q(last_check__isnull=True) | Q(last_check__lt=due_before))
        )
        for deployment in deployments:
            try:
                run_drift_check_queue(deployment=deployment)
            except ActionRefused:
                continue
            queued += 1
    return queued
