"""The cloud account form in each provider's own words, and the AWS form that shows only the
fields of the chosen sign-in and region mode."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from inventory.models import CloudAccount
from tests.inventory.keys import service_account_key

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("provider", "title", "hint"),
    [
        ("aws", "Add an AWS account", "e.g. aws-prod"),
        ("azure", "Add an Azure account", "e.g. azure-prod"),
        ("gcp", "Add a GCP account", "e.g. gcp-prod"),
    ],
)
def test_the_form_names_the_provider_with_its_article_and_hint(login, ada, provider, title, hint):
    page = login(ada).get(reverse("inventory:account_create"), {"provider": provider})
    text = page.content.decode()
    assert title in text
    assert "an GCP" not in text
    assert hint in text
    others = {"aws-prod", "azure-prod", "gcp-prod"} - {hint.removeprefix("e.g. ")}
    assert not any(f"e.g. {other}" in text for other in others)


def test_a_pasted_gcp_key_survives_a_validation_error_without_being_sent_back(login, ada, org):
    key = service_account_key("my-project-1")
    client = login(ada)
    url = reverse("inventory:account_create") + "?provider=gcp"
    refused = client.post(
        url, {"name": "gcp-main", "service_account_key": json.dumps(key), "billing_table": "x y"}
    )
    text = refused.content.decode()
    assert refused.context["form"].errors["billing_table"]
    assert key["private_key"].splitlines()[1] not in text
    assert key["private_key_id"] not in text
    assert "The key you pasted is kept for this form" in text
    ref = refused.context["form"]["key_ref"].value()
    assert ref
    # The second post carries only the form's reference, not the key.
    client.post(url, {"name": "gcp-main", "billing_table": "", "key_ref": ref})
    account = CloudAccount.objects.get()
    assert json.loads(account.secrets["service_account_key"]) == key


def test_a_kept_gcp_key_belongs_to_its_session_only(login, ada, alice, org):
    key = service_account_key("my-project-1")
    url = reverse("inventory:account_create") + "?provider=gcp"
    refused = login(ada).post(
        url, {"name": "gcp-main", "service_account_key": json.dumps(key), "billing_table": "x y"}
    )
    ref = refused.context["form"]["key_ref"].value()
    other = login(alice).post(url, {"name": "gcp-main", "key_ref": ref})
    assert other.context["form"].errors["service_account_key"]
    assert not CloudAccount.objects.exists()


def test_the_forms_mark_the_fields_of_one_option_and_no_others(login, ada):
    client = login(ada)
    url = reverse("inventory:account_create")
    aws = client.get(url, {"provider": "aws"}).content.decode()
    marked = re.findall(r'data-show-if="([^"]*)".*?name="(\w+)"', aws, re.DOTALL)
    assert sorted(marked) == sorted([
        ("auth_method=role", "role_arn"),
        ("auth_method=keys", "access_key_id"),
        ("auth_method=keys", "secret_access_key"),
        ("auth_method=keys", "session_token"),
        ("regions_mode=list", "regions"),
        ("discover_members=on", "member_role_name"),
    ])  # fmt: skip
    azure = client.get(url, {"provider": "azure"}).content.decode()
    marked = re.findall(r'data-show-if="([^"]*)".*?name="(\w+)"', azure, re.DOTALL)
    assert marked == [
        ("subscriptions_mode=list", "subscription_ids"),
        ("subscriptions_mode=all", "management_group"),
    ]
    assert "data-show-if" not in client.get(url, {"provider": "gcp"}).content.decode()
