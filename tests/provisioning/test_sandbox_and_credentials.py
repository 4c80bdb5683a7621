"""The sandbox step (hello, planned, approved and applied inline) and the cloud credentials
each adapter hands to Terraform."""

from __future__ import annotations

import json

import pytest

from inventory.account_adapters import adapter_for, external_id_for
from inventory.extensions import SANDBOX_STEPS
from mcloud.clouds.azure import AzureAdapter
from mcloud.clouds.base import AzureCredentials, Endpoints, GcpCredentials
from mcloud.clouds.gcp import GcpAdapter
from provisioning.models import Deployment, DeploymentRun
from tests.inventory.factories import aws_account, aws_role_account

pytestmark = pytest.mark.django_db


def test_the_sandbox_step_deploys_hello_and_can_run_twice(org, alice, hello_version):
    step = SANDBOX_STEPS["provisioning"]
    assert step(org, alice) == "hello: applied (4 outputs)"
    deployment = Deployment.objects.get(organization=org, name="hello")
    assert deployment.status == Deployment.Status.ACTIVE
    assert deployment.outputs["message"]["value"] == "Hello, Acme!"
    assert step(org, alice) == "hello: applied, up to date (4 outputs)"
    assert Deployment.objects.filter(organization=org).count() == 1
    kinds = list(deployment.runs.order_by("pk").values_list("kind", "status"))
    assert kinds == [("plan", "approved"), ("apply", "applied"), ("plan", "no_changes")]
    assert DeploymentRun.objects.filter(plan_file__isnull=False).count() == 0


def test_aws_credentials_reach_terraform_from_the_key_or_the_assumed_role(aws, org):
    key_id, secret = aws.create_user_key("deployer")
    env = adapter_for(aws_account(org, (key_id, secret), regions=["eu-west-1"])).terraform_env()
    assert env == {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
                   "AWS_DEFAULT_REGION": "eu-west-1"}  # fmt: skip
    arn = aws.create_role("mcloud-deployer", external_id=external_id_for(org))
    env = adapter_for(aws_role_account(org, arn)).terraform_env()
    assert env["AWS_ACCESS_KEY_ID"] != key_id  # the role's temporary credentials
    assert env["AWS_SESSION_TOKEN"]
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_azure_and_gcp_credentials_reach_terraform_as_their_providers_read_them():
    azure = AzureAdapter(
        AzureCredentials("tenant-1", "client-1", "s3cr3t", ("sub-1", "sub-2")), Endpoints()
    )
    assert azure.terraform_env() == {
        "ARM_CLIENT_ID": "client-1", "ARM_CLIENT_SECRET": "s3cr3t",
        "ARM_TENANT_ID": "tenant-1", "ARM_SUBSCRIPTION_ID": "sub-1",
    }  # fmt: skip
    key = {"type": "service_account", "project_id": "p-1", "client_email": "a@p-1.iam"}
    gcp = GcpAdapter(GcpCredentials(key, ("p-2", "p-3")), Endpoints())
    env = gcp.terraform_env()
    assert json.loads(env["GOOGLE_CREDENTIALS"]) == key
    assert env["GOOGLE_PROJECT"] == "p-2"


def test_sandbox_accounts_give_terraform_the_emulators_credentials(sandbox, alice):
    from inventory.models import CloudAccount
    from inventory.services.sandbox import sandbox_load

    organization = sandbox_load(owner=alice)
    envs = {
        account.provider: adapter_for(account).terraform_env()
        for account in CloudAccount.objects.filter(organization=organization, is_sandbox=True)
    }
    assert envs["aws"]["AWS_ACCESS_KEY_ID"]
    assert envs["aws"]["AWS_SECRET_ACCESS_KEY"]
    assert envs["azure"]["ARM_SUBSCRIPTION_ID"]
    assert envs["azure"]["ARM_CLIENT_SECRET"]
    assert json.loads(envs["gcp"]["GOOGLE_CREDENTIALS"])["type"] == "service_account"
    assert envs["gcp"]["GOOGLE_PROJECT"]
