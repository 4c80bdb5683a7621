"""Deployments of the bundled hello blueprint, run with the real Terraform and null provider."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Organization, User
from provisioning.models import BlueprintVersion, Deployment, DeploymentRun
from provisioning.services.deployments import deployment_create, values_validate
from provisioning.services.runs import run_approve, run_plan_queue
from provisioning.services.worker import run_execute

SECRET = "tok-3f9a-SECRET-7c21"
HOSTILE = '$(touch /tmp/pwned); rm -rf ~ && echo "x"'


def make_deployment(
    org: Organization,
    user: User,
    version: BlueprintVersion,
    deployment_name: str = "hello-1",
    /,
    **raw: Any,
) -> Deployment:
    """A deployment of `version`; keyword arguments are its variables' raw values."""
    return deployment_create(
        organization=org,
        name=deployment_name,
        version=version,
        account=None,
        values=values_validate(version, raw),
        user=user,
    )


@pytest.fixture
def deployment(org, alice, hello_version) -> Deployment:
    return make_deployment(org, alice, hello_version, "hello-1", secret_token=SECRET)


def planned(deployment: Deployment, user: User, *, destroy: bool = False) -> DeploymentRun:
    """Plan now, in this thread, and return the finished plan run."""
    run = run_plan_queue(deployment=deployment, user=user, destroy=destroy, enqueue=False)
    finished = run_execute(run_id=run.pk)
    assert finished is not None
    return finished


def applied(plan: DeploymentRun, user: User, **kwargs: Any) -> DeploymentRun:
    """Approve `plan` and apply it now, in this thread."""
    run = run_approve(plan_run=plan, user=user, enqueue=False, **kwargs)
    finished = run_execute(run_id=run.pk)
    assert finished is not None
    return finished
