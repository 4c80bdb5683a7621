"""The sandbox estate: `manage.py demo` and the button, syncing from `python -m emulators`."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.urls import reverse

from accounts.models import Membership, Organization, User
from accounts.tenancy import SESSION_KEY
from inventory.models import CloudAccount, HealthStatus, Resource, SyncRun
from inventory.services.health import connection_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser(email="admin@localhost", password="x" * 20)


def test_demo_builds_a_synced_estate_and_can_run_twice(sandbox, admin_user, capsys):
    call_command("demo")
    org = Organization.objects.get(slug="sandbox")
    assert Membership.objects.get(organization=org, user=admin_user).role == "owner"
    accounts = CloudAccount.objects.filter(organization=org)
    assert sorted(accounts.values_list("name", flat=True)) == [
        "aws-sandbox",
        "azure-sandbox",
        "gcp-sandbox",
    ]
    assert all(a.is_sandbox and a.secrets == {} for a in accounts)  # nothing stored
    assert set(SyncRun.objects.values_list("status", flat=True)) == {"succeeded"}
    per_type = dict(
        Resource.objects.filter(organization=org).values_list("type").annotate(n=Count("id"))
    )
    assert sum(per_type.values()) > 500
    assert all(per_type[t] >= 15 for t in ("vm", "disk", "storage", "network"))
    aws_databases = Resource.objects.filter(organization=org, type="database", provider="aws")
    assert aws_databases.count() == 12  # per AWS region: 2 RDS instances, an Aurora cluster + 1
    azure_databases = Resource.objects.filter(organization=org, type="database", provider="azure")
    assert azure_databases.count() == 2 * 4  # per Azure subscription: 2 SQL, 2 flexible
    per_provider = dict(
        Resource.objects.filter(organization=org, type="vm")
        .values_list("provider")
        .annotate(n=Count("id"))
    )
    assert set(per_provider) == {"aws", "azure", "gcp"}
    assert Resource.objects.filter(organization=org, status="stopped").exists()
    assert Resource.objects.filter(organization=org, tags__team="payments").exists()
    first_count = Resource.objects.count()

    call_command("demo")
    assert Organization.objects.filter(slug="sandbox").count() == 1
    assert CloudAccount.objects.filter(organization=org).count() == 3
    assert Resource.objects.count() == first_count
    assert "Done. Log in as admin@localhost" in capsys.readouterr().out


def test_sandbox_accounts_are_healthy(sandbox, admin_user):
    call_command("demo")
    for account in CloudAccount.objects.all():
        check = connection_check(account=account)
        assert check.status == HealthStatus.HEALTHY, (account.name, check.message)


def test_the_button_creates_a_sandbox_organization_for_the_user(
    sandbox, login, bob, org, django_capture_on_commit_callbacks
):
    client = login(bob)
    assert b"Load a sandbox estate" in client.get(reverse("inventory:account_list")).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("inventory:sandbox_create"))
    assert response.url == reverse("inventory:account_list")
    sandbox_org = Organization.objects.get(name="Sandbox")
    assert client.session[SESSION_KEY] == sandbox_org.pk
    assert Membership.objects.get(organization=sandbox_org, user=bob).role == "owner"
    assert Resource.objects.filter(organization=sandbox_org).count() > 500
    assert not Resource.objects.filter(organization=org).exists()  # Acme is untouched

    # A second click opens the same sandbox: no second organization, no duplicate accounts.
    resources = Resource.objects.filter(organization=sandbox_org).count()
    client.post(reverse("accounts:organization_switch"), {"organization": org.pk})
    assert client.session[SESSION_KEY] == org.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("inventory:sandbox_create"))
    assert response.url == reverse("inventory:account_list")
    assert Organization.objects.filter(name="Sandbox").count() == 1
    assert CloudAccount.objects.filter(organization=sandbox_org).count() == 3
    assert client.session[SESSION_KEY] == sandbox_org.pk
    assert Resource.objects.filter(organization=sandbox_org).count() == resources


def test_without_emulators_the_demo_says_how_to_start_them(admin_user, settings):
    settings.SANDBOX_URL = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="The sandbox emulators do not answer"):
        call_command("demo")
    assert not Organization.objects.filter(slug="sandbox").exists()


def test_the_button_is_hidden_and_refused_when_the_sandbox_is_off(login, bob, org, settings):
    settings.SANDBOX_ENABLED = False
    client = login(bob)
    assert b"Load a sandbox estate" not in client.get(reverse("inventory:account_list")).content
    assert client.post(reverse("inventory:sandbox_create")).status_code == 404


def test_the_estate_drifts_and_syncs_show_the_activity(admin_user, settings):
    """The emulators change a little over time: the next sync records what changed."""
    import random

    from emulators import estate
    from emulators.estate_servers import Sandbox
    from inventory.models import ResourceEvent

    with Sandbox() as box:
        settings.SANDBOX_URL = box.url
        call_command("demo")
        rng = random.Random(5)
        done = [estate.drift(box.aws, box.azure, box.gcp, rng) for _ in range(8)]
        call_command("demo")
    runs = SyncRun.objects.filter(status="succeeded").order_by("-finished_at")[:3]
    assert sum(run.created + run.updated for run in runs) >= 1, done
    assert ResourceEvent.objects.filter(kind__in=["status", "created"]).exists(), done


def test_the_control_endpoint_makes_provider_calls_fail_and_stops(sandbox):
    """bench/soak.py sets the emulators' faults through POST /faults."""
    import requests

    gcp = requests.get(f"{sandbox}/sandbox.json", timeout=10).json()["gcp"]["endpoint"]
    assert requests.post(f"{sandbox}/faults", json={"rate": 2}, timeout=10).status_code == 400
    assert (
        requests.post(f"{sandbox}/faults", json={"kinds": ["fire"]}, timeout=10).status_code == 400
    )
    try:
        body = {"rate": 1, "kinds": ["500"], "seed": 3}
        before = requests.post(f"{sandbox}/faults", json=body, timeout=10).json()
        statuses = {requests.get(f"{gcp}/storage/v1/b", timeout=10).status_code for _ in range(3)}
        after = requests.get(f"{sandbox}/faults", timeout=10).json()
    finally:
        requests.post(f"{sandbox}/faults", json={"rate": 0}, timeout=10)
    assert statuses == {500}
    assert after["gcp-fake"] == before["gcp-fake"] + 3
    assert requests.get(f"{gcp}/storage/v1/b", timeout=10).status_code == 401  # as without
