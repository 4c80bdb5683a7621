""" "Managed" means in the current Terraform state of a deployment of the same organization; the
`mcloud-deployment` tag is only a hint. States are saved as a run saves them (no Terraform)."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse

from inventory.managed import managed_by
from inventory.models import ActionRun, Resource
from inventory.services.actions import resource_action_refusal, resource_action_request
from mcloud.errors import ActionRefused
from provisioning.models import DeploymentResource
from provisioning.services.managed import state_provider_ids
from provisioning.services.state import DatabaseStateStore
from tests.inventory import estate

pytestmark = pytest.mark.django_db


@pytest.fixture
def resources(org):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 3, prefix="web")
    return {r.resource_id: r for r in Resource.objects.filter(account=acct)}


def test_a_resource_tagged_with_another_organizations_deployment_is_not_managed(
    login, vera, org, other_org, charlie, hello_version, resources
):
    theirs = estate.deploy(other_org, charlie, hello_version, "theirs", "aws-web-0")
    Resource.objects.filter(resource_id="aws-web-0").update(deployment_ref=str(theirs.pk))
    assert managed_by(organization_id=org.pk, resource_ids=["aws-web-0"]) == {}
    page = login(vera).get(reverse("inventory:resource_detail", args=[resources["aws-web-0"].pk]))
    html = page.content.decode()
    assert 'id="unmanaged"' in html
    assert reverse("provisioning:deployment_detail", args=[theirs.pk]) not in html
    assert "theirs" not in html
    managed = login(vera).get(reverse("inventory:resource_list"), {"managed": "managed"})
    assert managed.context["page"].paginator.count == 0


def test_a_resource_in_a_deployments_state_is_managed(
    login, vera, org, alice, hello_version, resources, token_for
):
    # Azure spells ids in either case: the state's and the inventory's match regardless.
    deployment = estate.deploy(org, alice, hello_version, "web-stack", "AWS-WEB-1")
    page = login(vera).get(reverse("inventory:resource_detail", args=[resources["aws-web-1"].pk]))
    link = reverse("provisioning:deployment_detail", args=[deployment.pk])
    assert f'id="managed-by" href="{link}"' in page.content.decode()
    api = Client(headers={"Authorization": f"Bearer {token_for(vera)}"})
    found = api.get("/api/resources", {"managed": "managed"}).json()["results"]
    assert [(r["resource_id"], r["managed"], r["managed_by"][0]["name"]) for r in found] == [
        ("aws-web-1", True, "web-stack")
    ]
    assert api.get("/api/resources", {"managed": "unmanaged"}).json()["count"] == 2

    # A new state replaces the old one's ids; an empty one (a destroy) leaves nothing managed.
    DatabaseStateStore(deployment).save(estate.terraform_state("aws-web-2"))
    assert set(managed_by(organization_id=org.pk, resource_ids=list(resources))) == {"aws-web-2"}
    DatabaseStateStore(deployment).save(b'{"version": 4, "serial": 3, "resources": []}')
    assert not DeploymentResource.objects.exists()


def test_the_state_gives_ids_arns_and_gcp_paths_of_managed_resources_only():
    state = {
        "resources": [
            {"mode": "managed", "type": "aws_lb", "name": "web", "module": "module.net",
             "instances": [{"attributes": {"id": "arn:aws:lb/1", "arn": "arn:aws:lb/1"}}]},
            {"mode": "managed", "type": "google_compute_disk", "name": "d", "instances": [
                {"attributes": {"id": "projects/p/zones/z/disks/d", "self_link":
                 "https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/d"}}]},
            {"mode": "data", "type": "aws_vpc", "name": "main",
             "instances": [{"attributes": {"id": "vpc-1"}}]},
            {"mode": "managed", "type": "x", "name": "odd", "instances": [None, {"attributes": 3}]},
        ]
    }  # fmt: skip
    assert list(state_provider_ids(json.dumps(state).encode())) == [
        ("module.net.aws_lb.web", "arn:aws:lb/1"),
        ("google_compute_disk.d", "projects/p/zones/z/disks/d"),
        (
            "google_compute_disk.d",
            "https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/d",
        ),
    ]
    assert list(state_provider_ids(b"not json")) == []


def test_the_migration_records_the_current_states_saved_before_it(org, alice, hello_version):
    deployment = estate.deploy(org, alice, hello_version, "web-stack", "i-old")
    DatabaseStateStore(deployment).save(estate.terraform_state("i-new"))
    DeploymentResource.objects.all().delete()  # as before the migration
    migration = importlib.import_module("provisioning.migrations.0005_deployment_resources")
    migration.record_current_states(django_apps, None)
    assert list(DeploymentResource.objects.values_list("deployment_id", "key")) == [
        (deployment.pk, "i-new")
    ]


def test_a_managed_vm_is_acted_on_only_through_its_deployment(
    login, bob, org, alice, other_org, charlie, hello_version, resources
):
    vm = Resource.objects.select_related("account").get(resource_id="aws-web-0")
    assert vm.type == "vm"
    estate.deploy(other_org, charlie, hello_version, "theirs", "aws-web-0")
    assert resource_action_refusal(resource=vm, action="start") == ""  # not this organization's

    deployment = estate.deploy(org, alice, hello_version, "web-stack", "aws-web-0")
    assert resource_action_refusal(resource=vm, action="start").startswith(
        "The deployment web-stack manages it"
    )
    with pytest.raises(ActionRefused):
        resource_action_request(resource=vm, action="start", user=bob)
    assert not ActionRun.objects.exists()
    html = login(bob).get(reverse("inventory:resource_detail", args=[vm.pk])).content.decode()
    link = reverse("provisioning:deployment_detail", args=[deployment.pk])
    assert f'<a href="{link}">Open web-stack</a></p>' in html
    assert 'data-action="start"' not in html
