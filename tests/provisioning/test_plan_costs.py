"""Cost estimates of plans: each bundled cloud blueprint's plan JSON priced from the catalog,
changes and destroys as deltas, unknown types and sizes listed as not estimated (never zero),
and the estimate on the run's page, in the API and in the policies' input."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from inventory.models import Price
from provisioning.models import DeploymentRun
from provisioning.plan_costs import estimate_line, plan_cost_estimate
from provisioning.services.runs import run_plan_queue
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db
PLANS = Path(__file__).with_name("plans")


def plan_fixture(name: str) -> dict[str, Any]:
    return json.loads((PLANS / f"{name}.json").read_text())


def catalog(provider: str, kind: str, size: str, region: str, quantity: float = 1) -> Decimal:
    """The month's price as the catalog's rows say (the region's own, else any region's)."""
    rows = Price.objects.filter(provider=provider, kind=kind, size__iexact=size)
    row = rows.filter(region=region).first() or rows.get(region="")
    hours = Decimal(730) if row.unit == "hour" else Decimal(1)
    return row.usd * hours * Decimal(str(quantity))


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def by_address(estimate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["address"]: row for row in estimate["resources"]}


@pytest.mark.parametrize(
    ("fixture", "parts"),
    [
        ("aws-ec2-instance", [("aws", "vm", "t3.micro", "eu-west-1", 1),
                              ("aws", "disk", "gp3", "eu-west-1", 20)]),
        ("azure-linux-vm", [("azure", "vm", "Standard_B2s", "westeurope", 1),
                            ("azure", "disk", "StandardSSD_LRS", "westeurope", 30)]),
        ("gcp-compute-instance", [("gcp", "vm", "e2-small", "europe-west1", 1),
                                  ("gcp", "disk", "pd-standard", "europe-west1", 10)]),
    ],
)  # fmt: skip
def test_each_cloud_blueprints_plan_is_priced_from_the_catalog(fixture, parts):
    plan = plan_fixture(fixture)
    estimate = plan_cost_estimate(plan)
    expected = sum((catalog(*part) for part in parts), Decimal(0))
    assert estimate["monthly_delta"] == cents(expected)
    assert estimate["monthly_total"] == cents(expected)
    assert estimate["currency"] == "USD"
    assert estimate["not_estimated"] == 0
    # Free types (networks, firewalls, security groups) neither count nor go unestimated.
    priced = [row for row in estimate["resources"] if row["after"]]
    assert len(priced) == 1
    assert priced[0]["action"] == "create"


def test_the_fixtures_sizes_are_the_ones_priced():
    """The parametrization above names each fixture's real size, region and disk (a boot
    disk without a type is Google's default, pd-standard)."""
    plan = plan_fixture("aws-ec2-instance")
    vm = next(c for c in plan["resource_changes"] if c["type"] == "aws_instance")["change"]
    assert vm["after"]["instance_type"] == "t3.micro"
    root = vm["after"]["root_block_device"][0]
    assert (root["volume_size"], root["volume_type"]) == (20, "gp3")
    assert plan["variables"]["region"]["value"] == "eu-west-1"
    plan = plan_fixture("azure-linux-vm")
    vm = next(c for c in plan["resource_changes"] if c["type"].endswith("virtual_machine"))
    assert vm["change"]["after"]["size"] == "Standard_B2s"
    disk = vm["change"]["after"]["os_disk"][0]
    assert (disk["storage_account_type"], disk["disk_size_gb"]) == ("StandardSSD_LRS", 30)
    plan = plan_fixture("gcp-compute-instance")
    vm = next(c for c in plan["resource_changes"] if c["type"] == "google_compute_instance")
    assert vm["change"]["after"]["machine_type"] == "e2-small"
    assert vm["change"]["after"]["zone"].startswith("europe-west1-")
    assert "type" not in vm["change"]["after"]["boot_disk"][0]["initialize_params"][0]


def test_a_bucket_is_billed_by_usage_and_its_destroy_is_not_a_saving_of_zero():
    created = plan_cost_estimate(plan_fixture("aws-s3-bucket"))
    destroyed = plan_cost_estimate(plan_fixture("aws-s3-bucket-destroy-protected"))
    for estimate in (created, destroyed):
        [bucket] = [r for r in estimate["resources"] if r["type"] == "aws_s3_bucket"]
        assert bucket["estimated"] is False
        assert bucket["note"] == "billed by usage"
        assert bucket["delta"] is None
        assert estimate["not_estimated"] == 1
    assert destroyed["resources"][0]["action"] == "delete"


def _resized(plan: dict[str, Any], actions: list[str], before: str, after: str) -> dict:
    plan = copy.deepcopy(plan)
    change = next(c for c in plan["resource_changes"] if c["type"] == "aws_instance")
    change["change"]["actions"] = actions
    change["change"]["before"] = copy.deepcopy(change["change"]["after"]) | {
        "instance_type": before
    }
    change["change"]["after"]["instance_type"] = after
    return plan


def test_a_resize_costs_the_difference_and_a_destroy_saves_the_whole_price():
    plan = plan_fixture("aws-ec2-instance")
    disk = catalog("aws", "disk", "gp3", "eu-west-1", 20)
    small = catalog("aws", "vm", "t3.micro", "eu-west-1")
    large = catalog("aws", "vm", "m5.large", "eu-west-1")
    resized = plan_cost_estimate(_resized(plan, ["update"], "t3.micro", "m5.large"))
    assert resized["monthly_delta"] == cents(large - small)
    assert resized["monthly_total"] == cents(large + disk)
    replaced = by_address(plan_cost_estimate(_resized(plan, ["delete", "create"], "m5.large",
                                                      "t3.micro")))  # fmt: skip
    assert replaced["aws_instance.this"]["action"] == "replace"
    assert replaced["aws_instance.this"]["delta"] == cents(small - large)
    destroy = copy.deepcopy(plan)
    change = next(c for c in destroy["resource_changes"] if c["type"] == "aws_instance")
    change["change"].update(actions=["delete"], before=change["change"]["after"], after=None)
    estimate = plan_cost_estimate(destroy)
    assert estimate["monthly_delta"] == cents(-(small + disk))
    assert estimate_line(estimate).startswith("Cost estimate: -")


def test_unknown_types_sizes_and_prices_are_listed_as_not_estimated():
    plan = plan_fixture("aws-ec2-instance")
    instance = next(c for c in plan["resource_changes"] if c["type"] == "aws_instance")
    plan["resource_changes"] += [
        {"address": "null_resource.x", "mode": "managed", "type": "null_resource",
         "provider_name": "registry.terraform.io/hashicorp/null",
         "change": {"actions": ["create"], "before": None, "after": {"triggers": None}}},
        {"address": "aws_ebs_volume.data", "mode": "managed", "type": "aws_ebs_volume",
         "provider_name": "registry.terraform.io/hashicorp/aws",
         "change": {"actions": ["create"], "before": None, "after": {"type": "gp3"},
                    "after_unknown": {"size": True}}},
        {"address": "aws_instance.odd", "mode": "managed", "type": "aws_instance",
         "provider_name": "registry.terraform.io/hashicorp/aws",
         "change": {"actions": ["create"], "before": None,
                    "after": instance["change"]["after"] | {"instance_type": "zz9.huge"}}},
        {"address": "data.aws_ami.x", "mode": "data", "type": "aws_ami",
         "provider_name": "registry.terraform.io/hashicorp/aws",
         "change": {"actions": ["read"], "before": None, "after": {}}},
    ]  # fmt: skip
    estimate = plan_cost_estimate(plan)
    rows = by_address(estimate)
    assert rows["null_resource.x"]["note"] == "not a type mcloud prices"
    assert rows["aws_ebs_volume.data"]["note"] == "size known only after apply"
    assert rows["aws_instance.odd"]["note"] == "no list price for vm zz9.huge in eu-west-1"
    assert "data.aws_ami.x" not in rows
    assert estimate["not_estimated"] == 3
    assert all(rows[a]["delta"] is None for a in ("null_resource.x", "aws_instance.odd"))
    # The priced instance still counts; the others add nothing (and are not zero).
    alone = plan_cost_estimate(plan_fixture("aws-ec2-instance"))
    assert estimate["monthly_delta"] == alone["monthly_delta"]
    assert "(3 resources not estimated)" in estimate_line(estimate)


def test_hostile_plan_values_do_not_break_the_estimate():
    plan = plan_fixture("gcp-compute-instance")
    instance = next(c for c in plan["resource_changes"] if c["type"] == "google_compute_instance")
    instance["change"]["after"].update(boot_disk="nope", machine_type=None, zone=7)
    plan["resource_changes"].append({"mode": "managed"})
    estimate = plan_cost_estimate(plan)
    assert estimate["not_estimated"] >= 1
    assert plan_cost_estimate({}) == {
        "currency": "USD", "monthly_delta": 0.0, "monthly_total": 0.0, "not_estimated": 0,
        "resources": [],
    }  # fmt: skip


def test_the_estimate_shows_on_the_plan_page_and_in_the_api(
    org, alice, hello_version, login, token_for, client
):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    run = run_plan_queue(deployment=deployment, user=alice, enqueue=False)
    estimate = plan_cost_estimate(plan_fixture("aws-ec2-instance"))
    DeploymentRun.objects.filter(pk=run.pk).update(status="planned", cost_estimate=estimate)
    page = login(alice).get(reverse("provisioning:run_detail", args=[run.pk])).content.decode()
    assert f"+{estimate['monthly_delta']:.2f} USD/month" in page
    assert "aws_instance.this" in page
    api = client.get(f"/api/runs/{run.pk}", HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}")
    assert api.json()["cost_estimate"]["monthly_delta"] == estimate["monthly_delta"]


def test_the_deployment_page_shows_what_its_applied_plan_estimated(
    org, alice, hello_version, login
):
    deployment = make_deployment(org, alice, hello_version, "hello-1")
    plan = run_plan_queue(deployment=deployment, user=alice, enqueue=False)
    estimate = plan_cost_estimate(plan_fixture("aws-ec2-instance"))
    DeploymentRun.objects.filter(pk=plan.pk).update(status="applied", cost_estimate=estimate)
    DeploymentRun.objects.create(
        organization=org, deployment=deployment, kind="apply", status="applied",
        plan_run=plan, blueprint_version=plan.blueprint_version, started_by=alice,
    )  # fmt: skip
    page = login(alice).get(reverse("provisioning:deployment_detail", args=[deployment.pk]))
    html = page.content.decode()
    assert f"{estimate['monthly_total']:.2f} USD/month" in html
    assert f"plan #{plan.pk}" in html


def test_each_billed_month_from_the_apply_on_sits_beside_the_estimate():
    from datetime import date

    from inventory.extensions import ResourcesCost
    from provisioning.selectors import DeploymentCost

    billed = ResourcesCost(
        amounts={"USD": Decimal("5")}, billed=1,
        months=((date(2026, 11, 1), {"USD": Decimal("5")}),
                (date(2026, 10, 1), {"USD": Decimal("9")}),
                (date(2026, 9, 1), {"USD": Decimal("1")})),
    )  # fmt: skip
    cost = DeploymentCost(resources=1, cost=billed, estimate={"monthly_total": 8.5},
                          estimate_plan=3, estimate_since=date(2026, 10, 14))  # fmt: skip
    assert [(m.month, e) for m, _amounts, e in cost.months] == [(11, 8.5), (10, 8.5), (9, None)]
    assert DeploymentCost(resources=0, cost=None).months == []
