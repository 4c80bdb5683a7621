"""The provider contract: one registry entry per cloud (mcloud/clouds/registry.py, filled by
inventory/providers.py), adapters that follow `CloudAdapter`, one source of provider
choices, and no code elsewhere that asks which provider an account is."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields, replace
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.template import Context, Template
from django.test import Client

from billing.models import CostDaily
from inventory.account_adapters import adapter_for, credentials_for
from inventory.models import CloudAccount, Resource
from inventory.providers import account_provider
from inventory.services.health import connection_check
from inventory.services.sync import cloud_account_sync
from mcloud.clouds import registry
from mcloud.clouds.base import CloudAdapter
from mcloud.clouds.registry import (
    CloudProvider,
    Colours,
    UnknownProvider,
    provider_choices,
    provider_get,
    provider_list,
    provider_register,
)
from provisioning.models import BlueprintVersion
from tests.inventory.toy_provider import TOY

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("accounts", "inventory", "billing", "provisioning", "mcloud", "templates")
# Where provider knowledge lives: the registry, its entries, and each adapter (one
# provider's own code by definition).
REGISTRY = {"mcloud/clouds/registry.py", "inventory/providers.py"}
ADAPTERS = ("mcloud/clouds/aws/", "mcloud/clouds/azure/", "mcloud/clouds/gcp/")
# Lines that name a provider's key for another reason, and why.
ALLOWED = {
    ("mcloud/settings.py", '"azure": {"level": "WARNING"},'): "the Azure SDK's logger name",
}


def _branching_patterns() -> list[re.Pattern[str]]:
    keys = "|".join(re.escape(p.key) for p in provider_list())
    constants = "|".join(re.escape(p.key.upper()) for p in provider_list())
    q = "[\"']"
    return [
        re.compile(rf"provider[\w.]*\s*[!=]=\s*{q}"),  # provider == "aws", provider.value != 'x'
        re.compile(rf"{q}\s*[!=]=\s*[\w.]*provider\b"),
        re.compile(rf"[!=]=\s*{q}({keys}){q}"),  # anything == "aws"
        re.compile(rf"{q}({keys}){q}\s*[!=]="),
        re.compile(rf"\b[A-Z]\w*\.({constants})\b"),  # Provider.AWS, Cloud.GCP
        re.compile(rf"^\s*({constants})\s*="),  # a second choices class: AWS = "aws", "AWS"
        re.compile(rf"\bcase\s+{q}({keys}){q}"),  # match/case
        re.compile(rf"{q}({keys}){q}\s*:"),  # a dict keyed by provider
        re.compile(rf"\[\s*{q}({keys}){q}\s*[],]"),  # x["aws"], Literal["aws", ...]
        re.compile(rf"\.get\(\s*{q}({keys}){q}"),
        re.compile(rf"\bin\s*[(\[{{]\s*{q}({keys}){q}"),  # provider in ("aws", ...)
        re.compile(rf"\(\s*{q}({keys}){q}\s*,"),  # f("aws", ...), ("aws", "AWS")
    ]


def _product_files() -> list[Path]:
    files = []
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.suffix not in (".py", ".html") or "/migrations/" in relative:
                continue
            if relative not in REGISTRY and not relative.startswith(ADAPTERS):
                files.append(path)
    return files


def test_no_code_outside_the_registry_branches_on_a_provider():
    patterns = _branching_patterns()
    found = []
    for path in _product_files():
        relative = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if (relative, line.strip()) in ALLOWED:
                continue
            if any(pattern.search(line) for pattern in patterns):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == [], "Ask the provider registry instead:\n" + "\n".join(found)


def test_the_scan_finds_the_branches_it_forbids():
    patterns = _branching_patterns()
    branches = [
        'if account.provider == "aws":',
        "if provider != 'gcp':",
        '{% elif provider.value == "azure" %}',
        'elif value == "azure":',
        "if account.provider == Provider.AWS:",
        'case "gcp":',
        'WORDS = {"aws": "region"}',
        'description["gcp"]["endpoint"]',
        'LABELS.get("azure", "")',
        'if provider in ("aws", "azure"):',
        'hourly_price("aws", machine_type)',
        '    AWS = "aws", "AWS"',
        'provider: Literal["aws", "azure", "gcp"]',
    ]
    for line in branches:
        assert any(p.search(line) for p in patterns), line
    fine = ["if account.provider != version.cloud:", "provider_get(account.provider).scope"]
    for line in fine:
        assert not any(p.search(line) for p in patterns), line


def test_no_stylesheet_defines_a_providers_colours():
    keys = "|".join(p.key for p in provider_list())
    colour = re.compile(rf"(provider|bar|series)-({keys})\b")
    sheets = [*(ROOT / "static").rglob("*.css"), *(ROOT / "static").rglob("*.js")]
    sheets = [s for s in sheets if "vendor" not in s.parts]
    assert sheets
    for sheet in sheets:
        assert not colour.search(sheet.read_text()), sheet


@pytest.mark.django_db
def test_pages_take_each_providers_colours_from_its_entry(client):
    page = client.get("/accounts/login/").content.decode()
    for provider in provider_list():
        chart = provider.colours.chart
        assert f":root {{ --provider-{provider.key}: {chart}; }}" in page
        assert (
            f".provider-{provider.key} {{ background: {provider.colours.badge_background};" in page
        )


# --- unknown providers --------------------------------------------------------------------
def test_an_unknown_provider_raises_a_clear_error():
    with pytest.raises(
        UnknownProvider, match=r"Unknown cloud provider 'gpc' \(registered: aws, azure, gcp\)"
    ):
        provider_get("gpc")
    with pytest.raises(UnknownProvider):
        Template("{% load inventory_tags %}{{ 'gpc'|provider_label }}").render(Context())
    with pytest.raises(UnknownProvider):
        Template("{% load inventory_tags %}{{ 2|scope_word:'gpc' }}").render(Context())


@pytest.mark.django_db
def test_an_account_of_an_unknown_provider_is_never_taken_for_another(org):
    # Written past the form (a typo in a script, a provider since removed).
    account = CloudAccount.objects.create(organization=org, name="typo", provider="gpc")
    for use in (adapter_for, credentials_for, lambda a: a.scopes_display):
        with pytest.raises(UnknownProvider, match="'gpc'"):
            use(account)


@pytest.mark.django_db
def test_a_test_or_sync_of_such_an_account_fails_saying_why(org):
    account = CloudAccount.objects.create(organization=org, name="typo", provider="gpc")
    check = connection_check(account=account)
    run = cloud_account_sync(account=account)
    why = "Unknown cloud provider 'gpc' (registered: aws, azure, gcp)."
    assert (check.status, check.message) == ("error", why)
    assert (run.status, run.error) == ("failed", why)


@pytest.mark.django_db
def test_an_entry_without_the_inventorys_parts_is_refused_by_name(scratch_registry):
    provider_register(
        CloudProvider(**{f.name: getattr(TOY, f.name) for f in fields(CloudProvider)})
    )
    assert provider_get("toy").label == "Toy Cloud"
    with pytest.raises(ImproperlyConfigured, match="'toy' is registered without a form"):
        account_provider("toy")


@pytest.mark.django_db
def test_the_api_refuses_an_unknown_provider_by_name(ada, token_for):
    client = Client(headers={"Authorization": f"Bearer {token_for(ada)}"})
    refused = client.post(
        "/api/cloud-accounts",
        {"provider": "gpc", "name": "typo", "settings": {}},
        content_type="application/json",
    )
    assert refused.status_code == 422
    (message,) = refused.json()["error"]["details"]["provider"]
    assert message.startswith("Unknown cloud provider 'gpc'")
    assert not CloudAccount.objects.exists()


# --- registering ----------------------------------------------------------------------------
@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(registry, "_PROVIDERS", dict(registry._PROVIDERS))


def test_a_provider_is_registered_once(scratch_registry):
    with pytest.raises(ValueError, match="'aws' is registered already"):
        provider_register(provider_get("aws"))


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"key": "Toy Cloud"}, "2 to 10 lower-case letters and digits"),
        ({"key": "toy-cloud"}, "2 to 10 lower-case letters and digits"),
        ({"key": "averylongkey"}, "2 to 10 lower-case letters and digits"),
        ({"colours": Colours("red", "#000000", "#ffffff")}, "must be #rrggbb"),
        ({"colours": Colours("#000000", "#000000", "#fff; } body { x")}, "must be #rrggbb"),
    ],
)
def test_a_key_or_colour_that_would_break_a_column_or_a_page_is_refused(
    scratch_registry, changes, refusal
):
    with pytest.raises(ValueError, match=refusal):
        provider_register(replace(TOY, **changes))
    assert "toy" not in dict(provider_choices())


@pytest.mark.django_db
def test_a_registered_provider_is_a_valid_choice_of_every_provider_column(scratch_registry, org):
    provider_register(TOY)
    account = CloudAccount(organization=org, name="toy-main", provider="toy")
    account.full_clean(exclude=["secrets"])
    assert account.get_provider_display() == "Toy Cloud"
    for model, name in [(CloudAccount, "provider"), (Resource, "provider"),
                        (CostDaily, "provider"), (BlueprintVersion, "cloud")]:  # fmt: skip
        assert ("toy", "Toy Cloud") in model._meta.get_field(name).choices
    assert BlueprintVersion._meta.get_field("cloud").choices[0] == ("", "No cloud")


@pytest.mark.django_db
def test_the_choices_need_no_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


# --- the adapters' contract -----------------------------------------------------------------
def _members(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(value)
        for name, value in vars(protocol).items()
        if callable(value) and (not name.startswith("_") or name == "__init__")
    }


@pytest.mark.parametrize("key", ["aws", "azure", "gcp"])
def test_every_adapter_follows_the_contract(key):
    adapter = provider_get(key).adapter_class()
    for name, wanted in _members(CloudAdapter).items():
        method = getattr(adapter, name, None)
        assert callable(method), f"{adapter.__name__} has no {name}"
        parameters = list(inspect.signature(method).parameters)
        assert parameters == list(wanted.parameters), (adapter.__name__, name)
