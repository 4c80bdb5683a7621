"""The sandbox step: a "hello" deployment, planned, approved and applied with the real runner."""

from __future__ import annotations

from accounts.models import Organization, User
from mcloud.errors import ActionRefused
from provisioning.models import Blueprint, Deployment, DeploymentRun
from provisioning.services.blueprints import blueprint_sync_bundled
from provisioning.services.deployments import deployment_create, values_validate
from provisioning.services.runs import run_approve, run_plan_queue
from provisioning.services.worker import run_execute

NAME = "hello"


def sandbox_hello(organization: Organization, owner: User) -> str:
    """Deploy hello in the sandbox organization, inline (not through the queue).

    Run twice, it plans again and applies only when the plan changes something.
    """
    deployment = Deployment.objects.filter(organization=organization, name=NAME).first()
    if deployment is None:
        blueprint = Blueprint.objects.filter(organization=None, slug="hello").first()
        if blueprint is None or blueprint.latest_version is None:
            blueprint_sync_bundled()
            blueprint = Blueprint.objects.get(organization=None, slug="hello")
        version = blueprint.latest_version
        assert version is not None  # the bundled blueprints come with their version
        values = values_validate(
            version, {"name": organization.name, "labels": '{"env": "sandbox"}'}
        )
        deployment = deployment_create(
            organization=organization, name=NAME, version=version, account=None,
            values=values, user=owner,
        )  # fmt: skip
    try:
        plan = run_plan_queue(deployment=deployment, user=owner, enqueue=False)
    except ActionRefused as refused:
        return f"{NAME}: {refused.message}"
    planned = run_execute(run_id=plan.pk)
    if planned is not None and planned.status == DeploymentRun.Status.NO_CHANGES:
        deployment.refresh_from_db()
        return f"{NAME}: applied, up to date ({len(deployment.outputs)} outputs)"
    if planned is None or planned.status != DeploymentRun.Status.PLANNED:
        return f"{NAME}: the plan failed ({planned.error if planned else 'gone'})"
    try:
        apply = run_approve(plan_run=planned, user=owner, enqueue=False)
    except ActionRefused as refused:
        return f"{NAME}: planned, not applied: {refused.message}"
    applied = run_execute(run_id=apply.pk)
    if applied is None or applied.status != DeploymentRun.Status.APPLIED:
        return f"{NAME}: the apply failed ({applied.error if applied else 'gone'})"
    return f"{NAME}: applied ({len(applied.outputs)} outputs)"
