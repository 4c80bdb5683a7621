"""The provider contract is whole: a fourth cloud (tests/inventory/toy_provider.py: its own
adapter speaking to an in-memory cloud of its own, its own form, its own scope word),
registered with the same `provider_register` as AWS, Azure and GCP, is connected with the
real pages, tested, synced and listed, with no other code changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import CostDaily
from inventory.models import CloudAccount, Resource, SyncRun
from mcloud.clouds import registry
from mcloud.clouds.registry import provider_register
from tests.inventory import toy_provider
from tests.inventory.toy_provider import TOY, ToyCloud

pytestmark = pytest.mark.django_db

TOKEN = "toy-token-0123456789"


@pytest.fixture
def toy(monkeypatch) -> ToyCloud:
    """Toy Cloud registered for this test only (the registry is put back after it), and its
    cloud: one user, two zones of machines and a small bill."""
    monkeypatch.setattr(registry, "_PROVIDERS", dict(registry._PROVIDERS))
    provider_register(TOY)
    yesterday = timezone.localdate() - timedelta(days=1)
    cloud = ToyCloud(
        tokens={TOKEN: "ops@toy.example"},
        zones={
            "zone-a": [
                {"id": "m-1", "name": "web-1", "up": True, "size": "small"},
                {"id": "m-2", "name": "web-2", "up": False, "size": "small"},
            ],
            "zone-b": [{"id": "m-3", "name": "db-1", "up": True, "size": "large"}],
            "zone-c": [{"id": "m-4", "name": "not-covered", "up": True}],
        },
        bill=[{"day": yesterday, "service": "Machines", "usd": "4.25", "zone": "zone-a"}],
    )
    monkeypatch.setattr(toy_provider, "CLOUD", cloud)
    return cloud


def _connect(client, **fields) -> CloudAccount:
    url = reverse("inventory:account_create") + "?provider=toy"
    data = {"name": "toy-main", "enabled": "on", "api_token": TOKEN, "zones": "zone-a, zone-b"}
    data.update(fields)
    response = client.post(url, data)
    account = CloudAccount.objects.get(name=data["name"])
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:account_detail", args=[account.pk])
    return account


def test_a_fourth_provider_is_connected_tested_synced_and_listed(
    toy, login, ada, bob, vera, django_capture_on_commit_callbacks
):
    admin = login(ada)
    # Connect: the chooser offers it, its own form asks in its own words.
    chooser = admin.get(reverse("inventory:account_create")).content.decode()
    assert "?provider=toy" in chooser
    assert "An API token and the zones it may read." in chooser
    form = admin.get(reverse("inventory:account_create"), {"provider": "toy"}).content.decode()
    assert "Add a Toy Cloud account" in form
    assert "e.g. toy-prod" in form
    assert 'name="api_token"' in form
    account = _connect(admin)
    assert (account.provider, account.config) == ("toy", {"zones": ["zone-a", "zone-b"]})
    assert account.secrets == {"api_token": TOKEN}
    assert account.get_provider_display() == "Toy Cloud"
    detail = admin.get(reverse("inventory:account_detail", args=[account.pk])).content.decode()
    assert ">Toy Cloud</span>" in detail
    assert '<dt class="col-sm-5">Zones</dt>' in detail
    assert "zone-a, zone-b" in detail
    assert TOKEN not in detail

    # Test the connection.
    tested = admin.post(
        reverse("inventory:account_test", args=[account.pk]), headers={"HX-Request": "true"}
    )
    assert "Connected to Toy Cloud as ops@toy.example" in tested.content.decode()
    account.refresh_from_db()
    assert account.latest_health.status == "healthy"

    # Sync (a member), which also imports the account's costs.
    with django_capture_on_commit_callbacks(execute=True):
        login(bob).post(
            reverse("inventory:sync_now", args=[account.pk]), headers={"HX-Request": "true"}
        )
    run = SyncRun.objects.get(account=account)
    assert (run.status, run.scopes_total, run.created) == (SyncRun.State.SUCCEEDED, 2, 3)
    assert run.scope_words == ("zone", "zones")
    rows = Resource.objects.filter(account=account).order_by("resource_id")
    assert [(r.resource_id, r.provider, r.region, r.status) for r in rows] == [
        ("m-1", "toy", "zone-a", "running"),
        ("m-2", "toy", "zone-a", "stopped"),
        ("m-3", "toy", "zone-b", "running"),
    ]
    assert CostDaily.objects.get(account=account).provider == "toy"

    # The inventory page: its rows with its badge, and a provider filter that offers it.
    viewer = login(vera)
    page = viewer.get(reverse("inventory:resource_list")).content.decode()
    table = page.split('id="resource-table"', 1)[1]  # (the phone's cards repeat the badges)
    assert table.count('provider-badge provider-toy">Toy Cloud</span>') == 3
    assert '<option value="toy">Toy Cloud</option>' in page
    assert ".provider-toy { background: #8a2be2; color: #ffffff; }" in page
    only = viewer.get(reverse("inventory:resource_list"), {"provider": "toy", "q": "db"})
    assert [r.name for r in only.context["page"]] == ["db-1"]
    # Its colour on the dashboard's bars and on the billing chart.
    tile = viewer.get(reverse("inventory:dashboard_tile", args=["by_provider"])).content.decode()
    assert 'class="bar bar-toy"' in tile
    billing = viewer.get(reverse("billing:overview"), {"period": "last_30"}).content.decode()
    assert 'class="series-toy"' in billing


def test_a_refused_token_fails_the_test_and_syncs_nothing(
    toy, login, ada, django_capture_on_commit_callbacks
):
    client = login(ada)
    account = _connect(client, api_token="not-a-token")
    tested = client.post(
        reverse("inventory:account_test", args=[account.pk]), headers={"HX-Request": "true"}
    )
    assert "Toy Cloud refused the API token" in tested.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("inventory:sync_now", args=[account.pk]))
    run = SyncRun.objects.get(account=account)
    assert (run.status, run.error) == (SyncRun.State.FAILED, "Toy Cloud refused the API token")
    assert not Resource.objects.filter(account=account).exists()


def test_the_run_speaks_of_zones(toy, login, ada, django_capture_on_commit_callbacks):
    toy.down = {"zone-a", "zone-b"}
    client = login(ada)
    account = _connect(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("inventory:sync_now", args=[account.pk]))
    run = SyncRun.objects.get(account=account)
    assert (run.status, run.error) == (SyncRun.State.FAILED, "Every zone failed.")


def test_its_form_refuses_bad_input_and_writes_nothing(toy, login, ada):
    url = reverse("inventory:account_create") + "?provider=toy"
    refused = login(ada).post(url, {"name": "toy-main", "api_token": TOKEN, "zones": " , "})
    assert refused.context["form"].errors["zones"] == ["Name at least one zone."]
    assert TOKEN not in refused.content.decode()
    assert not CloudAccount.objects.exists()


def test_the_api_connects_it_with_the_same_form(toy, ada, token_for):
    client = Client(headers={"Authorization": f"Bearer {token_for(ada)}"})
    created = client.post(
        "/api/cloud-accounts",
        {"provider": "toy", "name": "toy-api", "settings": {"api_token": TOKEN,
                                                            "zones": ["zone-b"]}},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201
    assert created.json()["config"] == {"zones": ["zone-b"]}
    assert created.json()["secrets_set"] == ["api_token"]


def test_it_checks_ownership(toy, login, ada, charlie):
    account = _connect(login(ada))
    outsider = login(charlie)
    assert outsider.get(reverse("inventory:account_detail", args=[account.pk])).status_code == 404
    test_url = reverse("inventory:account_test", args=[account.pk])
    assert outsider.post(test_url).status_code == 404
    assert toy.calls == []
