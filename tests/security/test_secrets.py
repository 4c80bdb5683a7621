"""Secrets never leak (issue 9). Known, distinctive secrets are put everywhere a secret goes in:
each provider's credentials (an AWS secret access key, an Azure client secret, a GCP
service-account private key), a sensitive Terraform variable (which a sensitive output repeats),
an API token, a Slack webhook URL (a notification channel, which the runs then notify), and
mcloud's own keys. Then the product does its work for real: the accounts are
added through the pages and the API (forms refused once first), tested, synced and their costs
imported through the real SDKs against the emulators, and a deployment of the bundled hello
blueprint is planned, applied and destroyed by the real Terraform, inline as Q_SYNC makes it.
Every page, HTMX partial, admin page and GET operation of the API is rendered.

Scanned for the secrets, as text and as JSON-escaped, URL-encoded and base64 text (at each of
the three byte alignments, so a secret inside a longer base64 blob is found too): every response
body, header and cookie; every log record of every logger at DEBUG (the SQL statements with
their parameters included); what was printed; the mail sent; the django-q tables with their
task payloads decoded; the audit log; the sessions, decoded; every file of Terraform's working
directories while they exist (polled from a thread); and every column of every table, read raw,
with base64 and zlib layers inside the values decoded too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import stat
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.signing import SignedPackage

from accounts.models import AuditEvent, Invitation, Membership, NotificationChannel, User
from billing.models import Anomaly, Budget, BudgetAlert, Finding, ImportRun
from emulators.aws import ACCOUNT_ID
from emulators.base import FakeServer, Response
from inventory.models import (
    ActionRun,
    BulkAction,
    CloudAccount,
    PowerSchedule,
    Resource,
    SavedView,
    SyncRun,
)
from provisioning.models import Deployment, DeploymentRun, Policy
from provisioning.services.policy_sets import default_policy_set
from provisioning.services.state import DatabaseStateStore
from tests.inventory import aws_estate
from tests.security.urls import Url, admin_urls, get_urls

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"
AZURE_SECRET = "az-Cl1ent~Secret.LEAKCHECK-9d7Q2mXv"  # with the characters Azure's contain
TF_SECRET = "tf-sensitive+LEAKCHECK/58c1e0b7a4"  # + and / change when URL-encoded
BILLING_TABLE = "acme-prod.billing.gcp_billing_export_v1_0123"
SLACK_TOKEN = "xoxLEAKCHECKhook9f8e7d6c5b4a"  # the part of a Slack webhook URL that is its key
MIN_FORM = 12  # shorter encodings of a secret could turn up by chance


# --- the scanner -----------------------------------------------------------------------------
def encodings(secret: str) -> set[bytes]:
    """The forms a secret takes in transit or at rest: as is, escaped in JSON, URL-encoded, and
    base64 (standard and URL-safe) at each byte alignment, leaving out the characters that
    depend on the bytes around it."""
    raw = secret.encode()
    found = {raw, json.dumps(secret)[1:-1].encode(), quote(secret).encode(),
             quote_plus(secret).encode()}  # fmt: skip
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + raw)
            first = 4 if shift else 0  # the first group mixes in the bytes before
            last = (shift + len(raw)) // 3 * 4  # the last partial group, the bytes after
            found.add(text[first:last])
    return {form for form in found if len(form) >= MIN_FORM}


class Scanner:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.needles = [(label, form) for label, s in secrets.items() for form in encodings(s)]
        self.hits: list[str] = []
        self.scanned: list[str] = []
        self._lock = threading.Lock()

    def find(self, data: str | bytes) -> list[str]:
        """The labels of the secrets in `data`, in any of their forms, and in any base64 or
        zlib layer inside it."""
        blob = data.encode(errors="backslashreplace") if isinstance(data, str) else bytes(data)
        return sorted({label for layer in _layers(blob) for label, n in self.needles if n in layer})

    def scan(self, where: str, data: str | bytes) -> None:
        found = self.find(data)
        with self._lock:
            self.scanned.append(where)
            self.hits += [f"{label} in {where}" for label in found]


_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{24,}={0,2}")


def _layers(blob: bytes, depth: int = 2) -> Iterator[bytes]:
    """`blob`, and what its base64 runs decode to (and zlib streams in those inflate to), as
    Django's signing, sessions, the database cache and django-q store values."""
    yield blob
    if depth == 0:
        return
    for run in _BASE64_RUN.findall(blob):
        padded = run.rstrip(b"=") + b"=" * (-len(run.rstrip(b"=")) % 4)
        for altchars in (b"+/", b"-_"):
            try:
                decoded = base64.b64decode(padded, altchars=altchars, validate=True)
            except (binascii.Error, ValueError):
                continue
            if decoded.startswith((b"x\x9c", b"x\xda", b"x\x01", b"x^")):
                with suppress(zlib.error):
                    decoded = zlib.decompress(decoded)
            yield from _layers(decoded, depth - 1)


def test_the_scanner_finds_a_planted_secret():
    """The scan can fail: each form of a secret, inside other text, is found."""
    secret = TF_SECRET
    scanner = Scanner({"planted": secret})
    assert scanner.find("nothing here") == []
    assert scanner.find(f"...{secret}...") == ["planted"]
    assert scanner.find(json.dumps({"v": secret})) == ["planted"]
    assert scanner.find(f"a=1&b={quote_plus(secret)}") == ["planted"]
    for prefix in (b"", b"a", b"ab"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            blob = encode(prefix + secret.encode() + b"!")
            assert scanner.find(b"x " + blob + b" y") == ["planted"], (prefix, encode)
            assert scanner.find(b"." + base64.b64encode(zlib.compress(blob))) == ["planted"]
    cookie = base64.urlsafe_b64encode(zlib.compress(json.dumps(["m", secret]).encode()))
    assert scanner.find(b"messages=." + cookie.rstrip(b"=") + b":sig") == ["planted"]
    assert scanner.find(secret[:-1]) == []  # a part of it is not it


# --- what the app logs, prints and stores -----------------------------------------------------
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


# The emulators run in this process; they stand in for the clouds, which do know the secrets.
EMULATOR_LOGGERS = ("moto", "werkzeug", "flask_cors", "emulators")


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.records: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.names.add(record.name)
        if record.name.split(".")[0] in EMULATOR_LOGGERS:
            return
        try:
            text = self.format(record)
        except Exception:  # a record that cannot format is still scanned  # noqa: BLE001
            text = f"{record.msg!r} {record.args!r}"
        extra = {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}
        self.records.append(f"{text} {extra!r}" if extra else text)


@contextmanager
def everything_logged() -> Iterator[LogCapture]:
    """Every logger at DEBUG, the ones that do not propagate (django-q) included, and the SQL
    statements with their parameters (Django logs them only with a debug cursor)."""
    handler = LogCapture()
    known = logging.root.manager.loggerDict.values()
    loggers = [logging.root, *(log for log in known if isinstance(log, logging.Logger))]
    saved = [(log, log.level, log.disabled) for log in loggers]
    debug_cursor = connection.force_debug_cursor
    for log in loggers:
        log.setLevel(logging.DEBUG)
        log.disabled = False
        if log is logging.root or not log.propagate:
            log.addHandler(handler)
    connection.force_debug_cursor = True
    try:
        yield handler
    finally:
        connection.force_debug_cursor = debug_cursor
        for log, level, disabled in saved:
            log.setLevel(level)
            log.disabled = disabled
            log.removeHandler(handler)


class TempWatch(threading.Thread):
    """Reads every file under `root` (where tempfile now makes its directories, Terraform's
    working directories included) again each time it changes, until stopped."""

    def __init__(self, root: Path, scanner: Scanner) -> None:
        super().__init__(name="temp-watch", daemon=True)
        self.root, self.scanner = root, scanner
        self.seen: set[tuple[str, int, int]] = set()
        self.paths: set[str] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sweep()
            self.done.wait(0.002)
        self.sweep()

    def sweep(self) -> None:
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(folder, name)
                try:
                    info = path.lstat()
                    key = (str(path), info.st_mtime_ns, info.st_size)
                    if not stat.S_ISREG(info.st_mode) or key in self.seen:
                        continue
                    data = path.read_bytes()
                except OSError:  # removed while we looked: the next sweep sees what is left
                    continue
                self.seen.add(key)
                relative = str(path.relative_to(self.root))
                self.paths.add(relative)
                self.scanner.scan(f"the temporary file {relative}", data)


def database_tables() -> Iterator[tuple[str, bytes]]:
    """Every table, every column, read raw: (table, its cells as bytes, joined)."""

    def cell(value: Any) -> bytes:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        if isinstance(value, dict | list):  # json columns, as psycopg hands them over
            return json.dumps(value, ensure_ascii=False).encode() + repr(value).encode()
        return str(value).encode(errors="backslashreplace")

    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows = cursor.fetchall()
            yield table, b"\0".join(cell(v) for row in rows for v in row if v is not None)


# --- the world -------------------------------------------------------------------------------
@pytest.fixture
def clouds(aws, azure, gcp) -> dict[str, Any]:
    """Each emulator with an estate, costs, and credentials for us (made before any logging
    is captured: the emulator's answer to "create an access key" holds the secret, of course)."""
    key_id, aws_secret = aws.create_user_key("mcloud-reader")
    aws_estate.instances(aws, "eu-west-1", 2, Name="web")
    today = timezone.localdate()
    start, end = today - timedelta(days=2), today - timedelta(days=1)
    day = {
        "TimePeriod": {"Start": f"{start}", "End": f"{end}"},
        "Total": {},
        "Estimated": False,
        "Groups": [{"Keys": ["EC2", "eu-west-1"],
                    "Metrics": {"UnblendedCost": {"Amount": "4.5", "Unit": "USD"}}}],
    }  # fmt: skip
    requests.post(
        f"{aws.url}/moto-api/static/ce/cost-and-usage-results",
        # One result per distinct request: the first import's window, then the next one's.
        json={"results": [{"ResultsByTime": [day], "GroupDefinitions": []}] * 2,
              "account_id": ACCOUNT_ID},
        timeout=10,
    ).raise_for_status()  # fmt: skip

    azure.add_subscription(SUB, "Production", TENANT)
    azure.add_app(TENANT, CLIENT, AZURE_SECRET, [SUB])
    azure.add_vm(SUB, name="vm-1")
    vm = f"/subscriptions/{SUB}/resourcegroups/rg-default/providers/microsoft.compute/vm/vm-1"
    azure.add_costs(SUB, [{"date": today - timedelta(days=2), "service": "Virtual Machines",
                           "resource_id": vm, "cost": 3, "currency": "USD"}])  # fmt: skip

    gcp_key = gcp.add_service_account("acme-prod")
    gcp.add_instance("acme-prod", name="gvm-1")
    gcp.add_billing_rows(BILLING_TABLE, [{"usage_start_time": timezone.now() - timedelta(days=2),
                                          "service": "Compute Engine", "cost": 2.5}])  # fmt: skip
    return {"aws_key": (key_id, aws_secret), "gcp_key": gcp_key}


def known_secrets(clouds: dict[str, Any], api_token: str) -> dict[str, str]:
    pem = clouds["gcp_key"]["private_key"].strip().splitlines()
    return {
        "the AWS secret access key": clouds["aws_key"][1],
        "the Azure client secret": AZURE_SECRET,
        # Any part of the key would be a leak: its first, middle and last full lines.
        "the GCP private key": pem[1],
        "the GCP private key (middle)": pem[len(pem) // 2],
        "the GCP private key (end)": pem[-2],
        "the sensitive Terraform variable": TF_SECRET,
        "the API token": api_token,
        "mcloud's own AWS secret": os.environ["AWS_SECRET_ACCESS_KEY"],
        "SECRET_KEY": settings.SECRET_KEY,
        "the field encryption key": settings.FIELD_ENCRYPTION_KEYS[0],
    }


class Browser:
    """A client whose every response is scanned."""

    def __init__(self, client: Client, scanner: Scanner, **headers: str) -> None:
        self.client, self.scanner, self.headers = client, scanner, headers

    def _seen(self, what: str, response: HttpResponseBase) -> HttpResponseBase:
        body = (
            b"".join(response.streaming_content)  # type: ignore[attr-defined]
            if response.streaming
            else response.content
        )
        head = "\n".join(f"{k}: {v}" for k, v in response.items())
        head += "\n" + response.cookies.output()
        self.scanner.scan(f"the response to {what}", head.encode() + b"\n" + body)
        response.seen_text = body.decode(errors="replace")  # type: ignore[attr-defined]
        return response

    def get(self, path: str, *, htmx: bool = False) -> Any:
        headers = {**self.headers, **({"HX-Request": "true"} if htmx else {})}
        response = self.client.get(path, headers=headers)
        return self._seen(f"GET {path}{' (HTMX)' if htmx else ''}", response)

    def post(self, path: str, data: dict | None = None, **kwargs: Any) -> Any:
        return self._seen(f"POST {path}", self.client.post(path, data or {}, **kwargs))

    def send(self, method: str, path: str, body: dict | None = None) -> Any:
        response = getattr(self.client, method)(
            path, json.dumps(body or {}), content_type="application/json", headers=self.headers
        )
        return self._seen(f"{method.upper()} {path}", response)


def _gcp_form(key: dict[str, Any], **changes: str) -> dict[str, str]:
    return {"name": "gcp-main", "enabled": "on", "service_account_key": json.dumps(key),
            "billing_table": BILLING_TABLE, "project_ids": "", **changes}  # fmt: skip


def add_accounts(page: Browser, api: Browser, clouds: dict[str, Any]) -> list[CloudAccount]:
    """AWS and GCP through the page, Azure through the API; each refused once first, with the
    secret in the refused input."""
    key_id, aws_secret = clouds["aws_key"]
    aws_form = {"name": "aws-prod", "enabled": "on", "auth_method": "keys",
                "access_key_id": key_id, "secret_access_key": aws_secret,
                "regions_mode": "list", "regions": ["eu-west-1"]}  # fmt: skip
    new = reverse("inventory:account_create")
    assert page.post(f"{new}?provider=aws", {**aws_form, "name": ""}).status_code == 200
    assert page.post(f"{new}?provider=aws", aws_form).status_code == 302
    refused = page.post(f"{new}?provider=gcp", _gcp_form(clouds["gcp_key"], billing_table="x y"))
    assert "Write the table as project.dataset.table." in refused.seen_text
    assert page.post(f"{new}?provider=gcp", _gcp_form(clouds["gcp_key"])).status_code == 302

    azure = {"tenant_id": TENANT, "client_id": CLIENT, "client_secret": AZURE_SECRET,
             "subscription_ids": [SUB]}  # fmt: skip
    body = {"provider": "azure", "name": "azure-main", "settings": azure}
    assert api.send("post", "/api/cloud-accounts", {**body, "provider": 7}).status_code == 422
    bad = {**body, "settings": {**azure, "tenant_id": "not a tenant"}}
    assert api.send("post", "/api/cloud-accounts", bad).status_code == 422
    assert api.send("post", "/api/cloud-accounts", body).status_code == 201
    return list(CloudAccount.objects.order_by("provider"))


def deploy_and_destroy(
    page: Browser, api: Browser, hello_version: Any, capture: Callable[..., Any]
) -> Deployment:
    """Create (refused once), plan, apply and destroy a hello deployment with the secret."""
    form = {"name": "greeter", "account": "", "var_name": "Ada", "var_greeting": "Hello",
            "var_sleep_seconds": "0", "var_secret_token": TF_SECRET,
            "var_labels": "{}"}  # fmt: skip
    new = reverse("provisioning:deployment_create") + f"?blueprint={hello_version.blueprint_id}"
    assert page.post(new, {**form, "var_sleep_seconds": "soon"}).status_code == 200
    assert page.post(new, form).status_code == 302
    deployment = Deployment.objects.get(name="greeter")
    refused = {"name": "greeter-2", "blueprint_id": hello_version.blueprint_id,
               "variables": {"secret_token": TF_SECRET, "labels": "not a map"}}  # fmt: skip
    assert api.send("post", "/api/deployments", refused).status_code == 422

    with capture(execute=True):
        page.post(reverse("provisioning:deployment_plan", args=[deployment.pk]))
    plan = DeploymentRun.objects.get(deployment=deployment, kind="plan")
    assert plan.status == DeploymentRun.Status.PLANNED, plan.log
    with capture(execute=True):
        assert api.send("post", f"/api/runs/{plan.pk}/approve").status_code == 202
    apply = DeploymentRun.objects.get(deployment=deployment, kind="apply")
    assert apply.status == DeploymentRun.Status.APPLIED, apply.log
    # Terraform did get the value: it is in the state (encrypted at rest) and the output.
    assert TF_SECRET in DatabaseStateStore(deployment).load().decode()
    assert apply.outputs["connection_string"]["sensitive"] is True

    with capture(execute=True):
        response = api.send("post", f"/api/deployments/{deployment.pk}/destroy")
    destroy_plan = response.json()["id"]
    with capture(execute=True):
        approve = f"/api/runs/{destroy_plan}/approve"
        assert api.send("post", approve, {"confirm_name": "greeter"}).status_code == 202
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.DESTROYED
    return deployment


def each_account_and_run(accounts: list[CloudAccount], deployment: Deployment) -> list[Url]:
    """The pages of every account, its resources and syncs, and of every run (the URL walk
    shows one of each)."""
    found = []
    for account in accounts:
        found += [Url(name, reverse(name, args=[account.pk]), name.startswith("api-1"))
                  for name in ("inventory:account_detail", "inventory:account_edit",
                               "api-1:cloud_account_detail")]  # fmt: skip
        for resource in Resource.objects.filter(account=account):
            found.append(Url("", reverse("inventory:resource_detail", args=[resource.pk]), False))
            found.append(Url("", f"/api/resources/{resource.pk}", True))
        for run in SyncRun.objects.filter(account=account):
            found.append(Url("", reverse("inventory:sync_run_progress", args=[run.pk]), False))
            found.append(Url("", f"/api/sync-runs/{run.pk}", True))
    for run in DeploymentRun.objects.filter(deployment=deployment):
        for name in ("run_detail", "run_log", "run_panel"):
            found.append(Url("", reverse(f"provisioning:{name}", args=[run.pk]), False))
        found += [Url("", f"/api/runs/{run.pk}", True), Url("", f"/api/runs/{run.pk}/log", True)]
    return found


@pytest.fixture
def slack(settings) -> Iterator[FakeServer]:
    """A Slack receiver on this machine, allowed by exact host:port as an operator would."""
    with FakeServer(name="slack") as server:
        server.route("POST", r"/services/.*")(lambda request: Response(200, b"ok"))
        settings.EGRESS_ALLOW = frozenset({server.url.removeprefix("http://")})
        settings.EGRESS_ALLOW_HTTP = True
        yield server


def add_channel(page: Browser, slack: FakeServer) -> None:
    """A Slack channel for the runs' events, refused once first with the URL in the input."""
    new = reverse("accounts:channel_create") + "?kind=slack"
    form = {
        "name": "#ops",
        "address": f"{slack.url}/services/T0ACME/B0OPS/{SLACK_TOKEN}",
        "events": ["plan.awaiting_approval", "run.applied", "run.failed"],
        "enabled": "on",
    }
    refused = page.post(new, {**form, "address": f"https://10.0.0.1/services/T0/{SLACK_TOKEN}"})
    assert "mcloud does not connect there" in refused.seen_text
    assert page.post(new, form).status_code == 302


def page_objects(org: Any, team: dict[str, User]) -> dict[str, Any]:
    """The objects some pages point at, that the scenario does not make."""
    budget = Budget.objects.create(organization=org, name="B", amount=10, thresholds=[50])
    month = timezone.localdate().replace(day=1)
    return {
        "membership": Membership.objects.get(user=team["bob"]),
        "invitation": Invitation.objects.create(organization=org, email="i@x.test",
                                                token_hash="h" * 64,
                                                expires_at=timezone.now() + timedelta(days=1)),
        "saved_view": SavedView.objects.create(organization=org, owner=team["alice"], name="v",
                                               query="provider=aws", shared=True),
        "budget": budget,
        "alert": BudgetAlert.objects.create(organization=org, budget=budget, month=month,
                                            threshold=50, spent=6, basis="actual"),
        "channel": NotificationChannel.objects.get(organization=org, kind="slack"),
        "policy": Policy.objects.create(organization=org, name="P", source="package p\n",
                                        policy_set=default_policy_set(org)),
        "policy_set": default_policy_set(org),
        "power_schedule": PowerSchedule.objects.create(
            organization=org, name="Nights", time_zone="UTC", tag_filter="env=dev",
            week=[{"stop": "19:00", "start": "07:00"}] * 7,
        ),
        "anomaly": Anomaly.objects.create(
            organization=org, account=CloudAccount.objects.filter(organization=org).first(),
            provider="aws", service="EC2", day=month, currency="USD", expected_low=1,
            expected_high=2, actual=9,
        ),
        "finding": Finding.objects.create(
            organization=org, account=CloudAccount.objects.filter(organization=org).first(),
            resource=Resource.objects.filter(organization=org).first(), rule="unattached_disk",
            saving=5, currency="USD", fingerprint="f",
        ),
    }  # fmt: skip


def test_no_secret_leaks_anywhere(
    org, team, clouds, hello_version, login, token_for, run_dir, monkeypatch, capfd,
    django_capture_on_commit_callbacks, slack,
):  # fmt: skip
    alice = team["alice"]
    token = token_for(alice)
    scanner = Scanner({**known_secrets(clouds, token), "the Slack webhook's key": SLACK_TOKEN})
    page = Browser(login(alice), scanner)
    api = Browser(Client(), scanner, Authorization=f"Bearer {token}")
    temp = run_dir
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    watch = TempWatch(temp, scanner)
    watch.start()
    capture = django_capture_on_commit_callbacks

    with everything_logged() as logs:
        try:
            accounts = add_accounts(page, api, clouds)
            add_channel(page, slack)
            for account in accounts:
                test = reverse("inventory:account_test", args=[account.pk])
                page.post(test, headers={"HX-Request": "true"})
                api.send("post", f"/api/cloud-accounts/{account.pk}/test")
                with capture(execute=True):  # the sync, then the cost import that follows it
                    page.post(reverse("inventory:sync_now", args=[account.pk]))
            with capture(execute=True):
                page.post(reverse("billing:import_now"))
            for account in accounts:  # an action through each provider, and its re-sync
                vm = Resource.objects.filter(account=account, type="vm", status="running")[0]
                with capture(execute=True):
                    page.post(reverse("inventory:resource_action", args=[vm.pk, "stop"]))
            with capture(execute=True):  # a bulk reboot of every VM, through each provider
                page.post(reverse("inventory:bulk_action_create"),
                          {"action": "reboot", "scope": "all", "vm_only": "1"})  # fmt: skip
            deployment = deploy_and_destroy(page, api, hello_version, capture)
        finally:
            watch.done.set()
            watch.join()

        runs = SyncRun.objects.filter(organization=org)
        assert {r.status for r in runs} == {SyncRun.State.SUCCEEDED}, [r.error for r in runs]
        acted = ActionRun.objects.filter(organization=org, bulk__isnull=True)
        assert {a.status for a in acted} == {"succeeded"}, [a.error for a in acted]
        bulk = BulkAction.objects.get(organization=org)
        assert bulk.status == "finished"
        assert not bulk.runs.filter(status="failed").exists(), bulk.runs.values("error")
        assert runs.count() == 3
        imports = ImportRun.objects.filter(organization=org)
        assert {(i.status, i.rows > 0) for i in imports} == {(ImportRun.State.SUCCEEDED, True)}

        objects = {
            **page_objects(org, team),
            "account": accounts[0],
            "resource": Resource.objects.filter(account=accounts[0]).first(),
            "run": runs.first(),
            "vm": (vm := Resource.objects.filter(account=accounts[0], type="vm").first()),
            "action_run": ActionRun.objects.filter(organization=org).first(),
            "bulk_action": bulk,
            "blueprint": hello_version.blueprint,
            "deployment": deployment,
            "plan": DeploymentRun.objects.filter(deployment=deployment).first(),
        }
        for url in get_urls(objects) + each_account_and_run(accounts, deployment):
            if url.is_api:
                api.get(url.path)
            else:
                page.get(url.path)
                page.get(url.path, htmx=True)
        staff = User.objects.create_superuser(email="root@example.test", password="x" * 20)
        admin = Browser(login(staff, organization=org), scanner)
        for url in admin_urls():
            assert admin.get(url.path).status_code == 200, url

        # What the queue holds when a real cluster works it: payloads wait in django_q_ormq.
        monkeypatch.setattr(Conf, "SYNC", False)
        with capture(execute=True):
            page.post(reverse("inventory:sync_now", args=[accounts[1].pk]))
            page.post(reverse("billing:import_now"))
            page.post(reverse("provisioning:deployment_plan", args=[deployment.pk]))

    for where, source in (("the log", logs.records), ("the output", capfd.readouterr())):
        scanner.scan(where, "\n".join(source))
    scanner.scan("the mail sent", "\n".join(str(m.message()) for m in mail.outbox))
    tasks = [repr((t.func, t.args, t.kwargs, t.result)) for t in Task.objects.all()]
    queued = [SignedPackage.loads(q.payload) for q in OrmQ.objects.all()]
    scanner.scan("django-q's tasks", "\n".join(tasks))
    scanner.scan("django-q's queue", "\n".join(map(repr, queued)))
    scanner.scan("the audit log", json.dumps(list(AuditEvent.objects.values()), default=str))
    scanner.scan("the sessions", "\n".join(repr(s.get_decoded()) for s in Session.objects.all()))
    tables = dict(database_tables())
    for table, cells in tables.items():
        scanner.scan(f"the table {table}", cells)

    assert scanner.hits == [], "\n".join(scanner.hits)

    # Each place scanned held what it should, so the scan looked where it matters.
    assert len([w for w in scanner.scanned if w.startswith("the response")]) > 150
    assert {"botocore.endpoint", "django.db.backends", "django-q"} <= logs.names
    assert any(name.startswith(("inventory", "billing", "provisioning")) for name in logs.names)
    work = {p.split("/", 1)[1] for p in watch.paths if p.startswith("mcloud-tf-")}
    assert {"work/main.tf", "work/terraform.tfvars.json", "work/_mcloud_backend.tf"} <= work
    assert {"inventory.tasks.sync_run", "billing.tasks.import_account_costs",
            "provisioning.tasks.run_execute"} <= {t.func for t in Task.objects.all()}  # fmt: skip
    assert sorted(task["func"] for task in queued) == [
        "billing.tasks.import_account_costs", "billing.tasks.import_account_costs",
        "billing.tasks.import_account_costs", "inventory.tasks.sync_run",
        "provisioning.tasks.run_execute",
    ]  # fmt: skip
    assert clouds["aws_key"][0].encode() in tables["inventory_cloudaccount"]  # plain config
    assert b"greeter" in tables["provisioning_deployment"]
    assert AuditEvent.objects.filter(action="cloud_account.created").count() == 3
    # The runs told the channel (plans awaiting approval, applies), through the URL.
    assert len([p for _, p in slack.requests if p.endswith(SLACK_TOKEN)]) >= 4
    assert "accounts.tasks.deliver_notification" in {t.func for t in Task.objects.all()}
