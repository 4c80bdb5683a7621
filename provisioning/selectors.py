"""Reads for the pages, each with what it shows joined in (query counts stay flat)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Lower, Substr
from django.utils import timezone

from accounts.models import Organization
from inventory.extensions import ResourcesCost, resources_cost
from inventory.models import CloudAccount, Resource
from provisioning.models import (
    Blueprint,
    Deployment,
    DeploymentResource,
    DeploymentRun,
    DeploymentState,
    Policy,
    PolicySet,
    ProvisioningSettings,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


def blueprint_list(*, organization: Organization) -> QuerySet[Blueprint]:
    """The bundled blueprints and the organization's own."""
    return (
        Blueprint.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .select_related("latest_version")
        .order_by("organization_id", "name", "id")
    )


def deployment_list(*, organization: Organization, drifted: bool = False) -> QuerySet[Deployment]:
    """The organization's deployments with their last run (and its plan, which names a
    destroy), without the runs' logs and plan files, and `drifted_since` (None: in line);
    `drifted`: only those that have drifted."""
    rows = Deployment.objects.filter(organization=organization)
    if drifted:
        rows = rows.filter(drift__drifted_since__isnull=False)
    return (
        rows.annotate(drifted_since=F("drift__drifted_since"))
        .select_related("blueprint_version__blueprint", "account", "last_run__plan_run")
        .defer(
            "last_run__log",
            "last_run__plan_file",
            "last_run__plan_json",
            "last_run__plan_run__log",
            "last_run__plan_run__plan_file",
            "last_run__plan_run__plan_json",
        )
    )


def drifted_deployments(
    *, organization: Organization, limit: int = 5
) -> tuple[list[WithAnnotations[Deployment, Drifted]], int]:
    """(the deployments drifted longest, with `drifted_since`; how many are drifted), in two
    queries (the dashboard's tile)."""
    rows = Deployment.objects.filter(organization=organization, drift__drifted_since__isnull=False)
    first = list(
        rows.annotate(drifted_since=F("drift__drifted_since"))
        .only("id", "name")
        .order_by("drift__drifted_since", "id")[:limit]
    )
    return first, (rows.count() if len(first) == limit else len(first))


def deployment_names(*, organization: Organization) -> QuerySet[Deployment]:
    """The organization's deployments, their ids and names only (choices in a form)."""
    return Deployment.objects.filter(organization=organization).only("id", "name")


@dataclass(frozen=True)
class DeploymentCost:
    """What a deployment's resources cost this month: those in its current state and those
    tagged `mcloud-deployment` with its id (a hint, counted all the same: they are what a team
    provisioned through it)."""

    resources: int  # provider ids of the deployment
    cost: ResourcesCost | None  # None: no app holds costs
    # What the plan of its last successful apply estimated a month of its priced resources
    # would cost (`provisioning.plan_costs`), that plan's id and the apply's day; None before
    # any estimate.
    estimate: dict[str, Any] | None = None
    estimate_plan: int | None = None
    estimate_since: date | None = None

    @property
    def months(self) -> list[tuple[date, dict[str, Any], float | None]]:
        """Each month the bill names (newest first): what it billed, and the estimate for
        the months from the apply's on (None before it)."""
        since = self.estimate_since.replace(day=1) if self.estimate_since else None
        total = self.estimate.get("monthly_total") if self.estimate else None
        return [
            (month, amounts, total if since is not None and month >= since else None)
            for month, amounts in (self.cost.months if self.cost else ())
        ]


def applied_estimate(deployment: Deployment) -> tuple[dict[str, Any] | None, int | None, Any]:
    """The cost estimate of the plan its last successful apply carried out, that plan's id
    and when the apply finished (one query)."""
    applied = (
        DeploymentRun.objects.filter(
            deployment=deployment, kind=DeploymentRun.Kind.APPLY,
            status=DeploymentRun.Status.APPLIED, plan_run__isnull=False,
        )
        .order_by("-finished_at", "-id")
        .values_list("plan_run__cost_estimate", "plan_run_id", "finished_at")
        .first()
    )  # fmt: skip
    return applied if applied is not None else (None, None, None)


def deployment_cost(*, deployment: Deployment, today: date) -> DeploymentCost:
    """Its resources' ids (one query), what the bill says they cost this month (one more,
    when it has any), and what its last applied plan estimated (one more)."""
    in_state = (
        DeploymentResource.objects.filter(
            organization_id=deployment.organization_id, deployment=deployment
        )
        .values_list("key", flat=True)
        .order_by()
    )
    tagged = (
        Resource.objects.filter(
            organization_id=deployment.organization_id, deployment_ref=str(deployment.pk)
        )
        .annotate(key=Lower("resource_id"))
        .values_list("key", flat=True)
        .order_by()  # no ORDER BY inside a UNION
    )
    keys = set(in_state.union(tagged))
    cost = resources_cost(
        organization_id=deployment.organization_id, resource_ids=keys, today=today
    )
    estimate, plan, applied_at = applied_estimate(deployment)
    return DeploymentCost(
        resources=len(keys), cost=cost, estimate=estimate, estimate_plan=plan,
        estimate_since=timezone.localdate(applied_at) if applied_at else None,
    )  # fmt: skip


def run_list(
    *, deployment: Deployment, limit: int = 50, with_policies: bool = False
) -> list[DeploymentRun]:
    """The latest runs; `with_policies` brings their policy results too (one query more)."""
    rows = deployment.runs.select_related(
        "started_by", "approved_by", "plan_run", "policy_override_by"
    )
    if with_policies:
        rows = rows.prefetch_related("policy_results")
    return list(
        rows.defer(
            "log",
            "plan_file",
            "plan_json",
            "plan_run__log",
            "plan_run__plan_file",
            "plan_run__plan_json",
        ).order_by("-queued_at", "-id")[:limit]
    )


class Drifted(TypedDict):
    drifted_since: datetime


class StateVersion(TypedDict):
    version: int
    serial: int | None
    size: int
    created_at: datetime


def state_current(*, deployment: Deployment) -> StateVersion | None:
    """The current state's version, serial, size and time (never the state itself)."""
    return (
        DeploymentState.objects.filter(deployment=deployment)
        .order_by("-version")
        .values("version", "serial", "size", "created_at")
        .first()
    )


LOG_OFFSET_MAX = 2**31 - 2  # the databases' integer range


class LogTail(TypedDict):
    tail: str


def run_log_rows(offset: int) -> QuerySet[WithAnnotations[DeploymentRun, LogTail]]:
    """Runs with `tail`, their log from character `offset` on (0-based, clamped)."""
    start = min(max(0, offset), LOG_OFFSET_MAX) + 1
    return (
        DeploymentRun.objects.annotate(tail=Substr("log", start))
        .select_related("deployment", "plan_run")  # a destroy's status names its plan's kind
        .only(
            "id", "status", "organization_id", "lease_token", "kind", "plan_run__kind",
            "deployment__lease_token", "deployment__lease_until",
        )
    )  # fmt: skip


class RunEvent(TypedDict):
    at: datetime
    text: str
    comment: NotRequired[str]


def run_history(*, run: DeploymentRun) -> list[RunEvent]:
    """What happened to the run, oldest first: queued, started, finished, approved or
    discarded (with the comment left then)."""
    who = run.started_by.email if run.started_by else "mcloud"
    events: list[RunEvent] = [{"at": run.queued_at, "text": f"Queued by {who}"}]
    if run.started_at:
        events.append({"at": run.started_at, "text": "Started"})
    if run.is_final and run.finished_at:
        events.append({"at": run.finished_at, "text": f"Finished: {run.status_label}"})
    if run.approved_at and run.approved_by:
        verb = "Approved" if run.is_plan else "Plan approved"
        events.append({"at": run.approved_at, "text": f"{verb} by {run.approved_by.email}",
                       "comment": run.comment})  # fmt: skip
    if run.discarded_at and run.discarded_by:
        events.append({"at": run.discarded_at, "text": f"Discarded by {run.discarded_by.email}",
                       "comment": run.comment})  # fmt: skip
    return sorted(events, key=lambda event: event["at"])


def log_init_split(log: str) -> tuple[str, str]:
    """(`terraform init`'s part of the log, the rest): the page folds the first, once init
    has finished (the next step's "$ terraform" line is there); before, all is the rest."""
    start = log.find("$ terraform init")
    if start < 0:
        return "", log
    end = log.find("\n$ terraform ", start)
    if end < 0:
        return "", log
    start = log.rfind("\n", 0, start) + 1  # from the start of its line
    return log[start : end + 1], log[:start] + log[end + 1 :]


def provisioning_settings(organization: Organization) -> ProvisioningSettings:
    """The organization's settings row (unsaved defaults when it has none)."""
    found = ProvisioningSettings.objects.filter(organization=organization).first()
    return found or ProvisioningSettings(organization=organization)


def policy_list(*, organization: Organization) -> QuerySet[Policy]:
    """The organization's policies with their sets, without their sources."""
    return (
        Policy.objects.filter(organization=organization)
        .select_related("policy_set")
        .defer("source")
        .order_by("name", "id")
    )


def policy_set_list(*, organization: Organization) -> QuerySet[PolicySet]:
    """The organization's policy sets with their policies (no sources) and scopes, in four
    queries whatever their number."""
    return PolicySet.objects.filter(organization=organization).prefetch_related(
        Prefetch("policies", queryset=Policy.objects.defer("source").order_by("name", "id")),
        Prefetch("blueprints", queryset=Blueprint.objects.only("id", "name", "slug")),
        Prefetch("accounts", queryset=CloudAccount.objects.only("id", "name", "provider")),
    )
