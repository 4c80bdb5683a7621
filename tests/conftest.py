"""Shared fixtures: one organization, Acme, with alice (owner), ada (admin), bob (member)
and vera (viewer); and charlie, the outsider, who owns another organization."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import Membership, Organization, User
from accounts.roles import Role
from accounts.tenancy import SESSION_KEY
from accounts.tokens import token_create
from provisioning.models import Blueprint, BlueprintVersion
from provisioning.services.blueprints import blueprint_sync_bundled
from tests.processes import reachable_dir

PASSWORD = "correct horse battery staple 42"
_DATABASE_FIXTURES = {
    "db", "transactional_db", "live_server", "django_db_reset_sequences",
    "django_db_serialized_rollback", "django_user_model", "admin_user", "admin_client",
}  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With DATABASE_TESTS_ONLY=true (the PostgreSQL leg of bin/run-tests), keep only the
    tests that use a database: the others ran on the first leg, and nothing of theirs
    depends on which database is configured."""
    if os.environ.get("DATABASE_TESTS_ONLY") != "true":
        return
    kept, dropped = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        uses_db = item.get_closest_marker("django_db") or fixtures & _DATABASE_FIXTURES
        (kept if uses_db else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def make_user(email: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _health_is_not_timed(settings) -> None:
    """A real call's duration depends on the machine: tests that check "degraded" set the
    threshold themselves (and make the provider slow); others never see it by chance."""
    settings.HEALTH_DEGRADED_MS = 600_000


@pytest.fixture
def scheduled(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Run a scheduled task as a q2 worker does: outside any transaction, so what it queues
    is queued at once (the test's transaction would hold it until the end)."""

    def run(task: Callable[..., Any], *args: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return task(*args)

    return run


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A folder for Terraform's run directories that a root worker's sandbox can reach."""
    with reachable_dir("runs-") as folder:
        yield folder


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="Acme", slug="acme")


@pytest.fixture
def other_org(db) -> Organization:
    return Organization.objects.create(name="Umbrella", slug="umbrella")


def _member(org: Organization, email: str, role: Role) -> User:
    user = make_user(email)
    Membership.objects.create(organization=org, user=user, role=role)
    return user


@pytest.fixture
def alice(org) -> User:
    return _member(org, "alice@acme.test", Role.OWNER)


@pytest.fixture
def ada(org) -> User:
    return _member(org, "ada@acme.test", Role.ADMIN)


@pytest.fixture
def bob(org) -> User:
    return _member(org, "bob@acme.test", Role.MEMBER)


@pytest.fixture
def vera(org) -> User:
    return _member(org, "vera@acme.test", Role.VIEWER)


@pytest.fixture
def charlie(other_org) -> User:
    return _member(other_org, "charlie@umbrella.test", Role.OWNER)


@pytest.fixture
def team(alice, ada, bob, vera, charlie) -> dict[str, User]:
    return {"alice": alice, "ada": ada, "bob": bob, "vera": vera, "charlie": charlie}


@pytest.fixture
def login() -> Callable[[User], Client]:
    """A client signed in as `user`, with the user's first organization current."""

    def _login(user: User, organization: Organization | None = None) -> Client:
        client = Client()
        client.force_login(user)
        if organization is None:
            organization = user.memberships.order_by("id").first().organization
        session = client.session
        session[SESSION_KEY] = organization.pk
        session.save()
        return client

    return _login


# --- Cloud emulators ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def _aws_server():
    from emulators.aws import AwsEmulator

    with AwsEmulator() as emulator:
        yield emulator


@pytest.fixture
def aws(_aws_server, settings, monkeypatch):
    """moto's server, reset, with the app pointed at it. mcloud's own AWS identity (used to
    assume customer roles) is the emulator's admin user."""
    _aws_server.reset()
    settings.AWS_ENDPOINT_URL = _aws_server.url
    key_id, secret = _aws_server.admin_key
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    return _aws_server


@pytest.fixture(scope="session")
def _azure_server():
    from emulators.azure import AzureFake

    server = AzureFake().start()
    yield server
    server.stop()


@pytest.fixture
def azure(_azure_server, settings):
    """The Azure fake, reset, with the app pointed at it."""
    _azure_server.reset()
    settings.AZURE_ARM_ENDPOINT = _azure_server.base_url
    settings.AZURE_AUTHORITY_HOST = _azure_server.authority
    settings.AZURE_CA_BUNDLE = _azure_server.ca_bundle
    settings.CLOUD_POLL_SECONDS = 0.01
    return _azure_server


@pytest.fixture(scope="session")
def _gcp_server():
    from emulators.gcp import GcpFake

    server = GcpFake().start()
    yield server
    server.stop()


@pytest.fixture
def gcp(_gcp_server, settings):
    """The GCP fake, reset, with the app pointed at it."""
    _gcp_server.reset()
    settings.GCP_COMPUTE_ENDPOINT = _gcp_server.url
    settings.GCP_ASSET_ENDPOINT = _gcp_server.url
    settings.GCP_RESOURCE_MANAGER_ENDPOINT = _gcp_server.url
    settings.GCP_STORAGE_ENDPOINT = _gcp_server.url
    settings.GCP_BIGQUERY_ENDPOINT = _gcp_server.url
    settings.GCP_TOKEN_URI = f"{_gcp_server.url}/token"
    settings.CLOUD_POLL_SECONDS = 0.01
    return _gcp_server


@pytest.fixture(scope="session")
def _sandbox_process(tmp_path_factory):
    """`python -m emulators` in its own process (moto's state is per process, so it cannot
    share one with the `aws` fixture), on four free ports."""
    import random
    import socket
    import subprocess
    import sys
    import time

    import requests

    from tests.processes import ROOT

    def free(base: int) -> bool:
        for port in range(base, base + 4):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return False
        return True

    # Below the kernel's ephemeral range (32768 and up), where the tests' own client
    # sockets could hold a port that looks free but cannot be bound.
    base = next(p for p in iter(lambda: random.randrange(20000, 32000), None) if free(p))
    log = tmp_path_factory.mktemp("emulators") / "output.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulators", "--port", str(base), "--drift-seconds", "3600"],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{base + 3}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{url}/sandbox.json", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.3)
    else:
        proc.kill()
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the sandbox emulators did not start:\n{tail}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def sandbox(_sandbox_process, settings):
    settings.SANDBOX_URL = _sandbox_process
    settings.SANDBOX_ENABLED = True
    return _sandbox_process


@pytest.fixture
def token_for():
    """A bearer token for `user` in their first organization (or `organization`)."""

    def _make(user: User, role: Role | None = None, organization=None, **kwargs) -> str:
        membership = Membership.objects.filter(user=user).select_related("organization")
        membership = (
            membership.get(organization=organization)
            if organization
            else membership.order_by("id").first()
        )
        _, value = token_create(
            user=user,
            organization=membership.organization,
            name="test",
            role=role or membership.role_enum,
            expires_in_days=kwargs.get("days", 30),
        )
        return value

    return _make


@pytest.fixture
def hello_version(db) -> BlueprintVersion:
    """The bundled hello blueprint's version (real Terraform, null provider)."""
    blueprint_sync_bundled()  # idempotent; flushes between transactional tests empty the table
    return Blueprint.objects.get(organization=None, slug="hello").latest_version


@pytest.fixture(autouse=True)
def _provider_calls_not_paced(settings) -> None:
    """Calls to the providers are not paced unless a test turns it on
    (tests/inventory/test_call_limits.py): a sync's listing threads take their tokens on
    database connections of their own, which a test's open transaction keeps waiting on
    SQLite. Throttling answers are still waited out."""
    settings.CLOUD_RATE_LIMITS = "off"
