"""Drift on the pages: the deployment page's differences, the list's "drifted" filter, the
dashboard tile (each with bounded query counts), the drift checks' interval setting, and
another organization's drift, never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from provisioning.models import Deployment, DeploymentDrift, ProvisioningSettings
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
DIFFERENCE = {"address": "aws_instance.web[0]", "resource_id": "i-0abc", "resource": None,
              "kind": "deleted", "attribute": "existence", "expected": "exists",
              "actual": "deleted"}  # fmt: skip


def drifted(deployment: Deployment, hours: int = 1) -> DeploymentDrift:
    return DeploymentDrift.objects.create(
        organization_id=deployment.organization_id, deployment=deployment,
        inventory_differences=[DIFFERENCE], inventory_checked_at=timezone.now(),
        drifted_since=timezone.now() - timedelta(hours=hours),
    )  # fmt: skip


def many(org, user, version, count: int, prefix: str = "d") -> list[Deployment]:
    """`count` deployments, every other one drifted, one more only checked and in line."""
    rows = [make_deployment(org, user, version, f"{prefix}-{n}") for n in range(count)]
    for n, deployment in enumerate(rows):
        if n % 2 == 0:
            drifted(deployment, hours=n + 1)
    DeploymentDrift.objects.create(organization=org, deployment=rows[1],
                                   inventory_checked_at=timezone.now())  # fmt: skip
    return rows


def tile(client) -> str:
    response = client.get(reverse("inventory:dashboard_tile", args=["drift"]), headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    return body


@pytest.mark.parametrize("count", [4, 40])
def test_the_drifted_filter_lists_the_drifted_ones_in_bounded_queries(
    count, login, alice, org, other_org, charlie, hello_version, django_assert_max_num_queries
):
    many(org, alice, hello_version, count)
    many(other_org, charlie, hello_version, 3, prefix="theirs")
    client = login(alice)
    with django_assert_max_num_queries(6):
        page = client.get(reverse("provisioning:deployment_list"), {"drift": "drifted"})
    names = [d.name for d in page.context["deployments"]]
    assert sorted(names) == sorted(f"d-{n}" for n in range(0, count, 2))
    html = page.content.decode()
    assert html.count("data-drifted") == len(names)
    assert "theirs" not in html
    with django_assert_max_num_queries(6):
        everything = client.get(reverse("provisioning:deployment_list"))
    assert len(everything.context["deployments"]) == count
    assert everything.content.decode().count("data-drifted") == len(names)


@pytest.mark.parametrize("count", [4, 40])
def test_the_tile_counts_the_drifted_deployments_in_bounded_queries(
    count, login, vera, org, other_org, charlie, hello_version, django_assert_max_num_queries
):
    many(org, vera, hello_version, count)
    many(other_org, charlie, hello_version, 9, prefix="theirs")
    client = login(vera)
    with django_assert_max_num_queries(6):
        body = tile(client)
    assert f'id="drift-count">{count // 2}<' in body
    assert body.count("bi-exclamation-diamond") == min(5, count // 2)
    assert f"d-{(count // 2 - 1) * 2}" in body  # the longest drifted first
    assert "theirs" not in body
    assert "?drift=drifted" in body


def test_the_tile_says_when_nothing_drifted(login, vera, org, hello_version, other_org, charlie):
    drifted(make_deployment(other_org, charlie, hello_version, "theirs"))
    assert 'id="drift-none"' in tile(login(vera))


def test_the_page_shows_the_differences_to_its_organization_only(
    login, vera, charlie, org, alice, hello_version, django_assert_max_num_queries
):
    deployment = make_deployment(org, alice, hello_version, "web-stack")
    drifted(deployment)
    url = reverse("provisioning:deployment_detail", args=[deployment.pk])
    client = login(vera)
    with django_assert_max_num_queries(10):  # and its cost: resources, applied estimate
        page = client.get(url)
    html = page.content.decode()
    assert 'id="drift-differences"' in html
    assert "aws_instance.web[0]" in html
    assert "i-0abc" in html
    assert 'id="reconcile"' not in html  # a viewer does not plan
    assert login(charlie).get(url).status_code == 404
    DeploymentDrift.objects.filter(deployment=deployment).update(
        inventory_differences=[], drifted_since=None
    )
    html = login(vera).get(url).content.decode()
    assert 'id="drift-none"' in html
    assert "data-drifted" not in html


def test_admins_set_the_drift_check_interval_and_a_bad_one_changes_nothing(login, ada, bob, org):
    url = reverse("provisioning:settings_update")
    assert login(bob).post(url, {"drift_check_hours": "24"}).status_code == 403
    refused = login(ada).post(url, {"drift_check_hours": "999"}, follow=True)
    assert "Nothing was saved" in refused.content.decode()
    assert not ProvisioningSettings.objects.filter(organization=org).exists()
    login(ada).post(url, {"drift_check_hours": "24"})
    assert ProvisioningSettings.objects.get(organization=org).drift_check_hours == 24
    page = login(ada).get(reverse("provisioning:deployment_list")).content.decode()
    assert '<option value="24" selected>Daily</option>' in page


def test_the_api_says_since_when_a_deployment_drifted(org, alice, vera, hello_version, token_for):
    ours = make_deployment(org, alice, hello_version, "a")
    make_deployment(org, alice, hello_version, "b")
    drift = drifted(ours)
    api = Client(headers={"Authorization": f"Bearer {token_for(vera)}"})
    found = {d["name"]: d["drifted_since"] for d in api.get("/api/deployments").json()}
    assert found["b"] is None
    assert found["a"].startswith(drift.drifted_since.strftime("%Y-%m-%dT%H:%M:%S."))
    one = api.get(f"/api/deployments/{ours.pk}").json()
    assert one["drifted_since"] == found["a"]
