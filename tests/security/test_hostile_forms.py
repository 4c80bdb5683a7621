"""Property-based tests over the forms: whatever is posted, no server error, and a refused
post writes nothing."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import CloudAccount
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

# Text as hostile as a browser can send: control characters, markup, SQL, very long.
TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "../../etc",
            "=cmd|' /C calc'!A0",
            "9" * 400,
            "-1",
            "1e309",
            "null",
            "[]",
            "{}",
        ]
    ),
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# (url name, args, fields) of every form that writes.
FORMS = [
    ("accounts:organization_create", [], ["name"]),
    ("accounts:organization_settings", [], ["name"]),
    ("accounts:member_add", [], ["email", "role"]),
    ("accounts:organization_delete", [], ["confirm_name"]),
    ("accounts:token_list", [], ["name", "organization", "role", "expires_in_days"]),
    ("inventory:saved_view_create", [], ["name", "query", "shared"]),
    (
        "inventory:schedule_create",
        [],
        [
            "name",
            "time_zone",
            "stop_mon",
            "start_mon",
            "stop_fri",
            "saved_view",
            "tag_filter",
            "enabled",
            "preview",
        ],
    ),
    (
        "billing:budget_create",
        [],
        ["name", "account", "amount", "basis", "thresholds", "webhook_url"],
    ),
    ("billing:settings", [], ["currency", "rates"]),
]
PROVIDER_FIELDS = {
    "aws": [
        "name",
        "enabled",
        "sync_interval_minutes",
        "auth_method",
        "role_arn",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "regions_mode",
        "regions",
        "export_bucket",
        "export_prefix",
        "export_name",
    ],
    "azure": ["name", "tenant_id", "client_id", "client_secret", "subscription_ids"],
    "gcp": ["name", "service_account_key", "project_ids", "billing_table"],
}


def _counts() -> dict[str, int]:
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"accounts", "inventory", "billing", "provisioning"}
        # Per-organization defaults that a form page creates when it first shows them
        # (the AWS external ID, the billing currency) are not writes of the post.
        and m._meta.model_name not in {"auditevent", "awsexternalid", "billingsettings"}
    ]
    return {m._meta.label: m._default_manager.count() for m in models}


def _post(client, url: str, data: dict) -> None:
    before = _counts()
    response = client.post(url, data)
    assert response.status_code < 500, (url, data)
    if response.status_code == 200:  # the form again, with its errors: nothing written
        assert _counts() == before, (url, data)


@pytest.mark.parametrize(("name", "args", "fields"), FORMS)
def test_forms_survive_anything(login, alice, org, name, args, fields):
    client = login(alice)
    url = reverse(name, args=args)

    @SETTINGS
    @given(st.fixed_dictionaries(dict.fromkeys(fields, TEXT)))
    def check(data: dict) -> None:
        _post(client, url, data)

    check()


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_cloud_account_forms_survive_anything(login, ada, org, provider):
    client = login(ada)
    url = reverse("inventory:account_create") + f"?provider={provider}"

    @SETTINGS
    @given(st.fixed_dictionaries(dict.fromkeys(PROVIDER_FIELDS[provider], TEXT)))
    def check(data: dict) -> None:
        _post(client, url, data)

    check()


def test_filters_survive_anything(login, vera, org):
    client = login(vera)
    aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    keys = [
        "q",
        "provider",
        "account",
        "region",
        "type",
        "status",
        "tag",
        "managed",
        "attached_to",
        "unattached",
        "sort",
        "per_page",
        "page",
        "include_deleted",
    ]

    @SETTINGS
    @given(st.fixed_dictionaries(dict.fromkeys(keys, TEXT)))
    def check(params: dict) -> None:
        for url in (
            reverse("inventory:resource_list"),
            reverse("inventory:resource_export"),
            reverse("billing:overview"),
            reverse("billing:export"),
        ):
            response = client.get(url, {k: v.replace("\x00", "") for k, v in params.items()})
            assert response.status_code < 500, (url, params)

    check()
    assert CloudAccount.objects.count() == 1
