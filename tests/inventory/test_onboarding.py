"""The connection forms' set-up: a trust policy and commands filled in for this organization,
each with a copy button that points at what it copies."""

from __future__ import annotations

import html as markup
import json
import re

import pytest
from django.urls import reverse

from inventory.account_adapters import external_id_for

pytestmark = pytest.mark.django_db

PRINCIPAL = "arn:aws:iam::111122223333:role/mcloud-workers"


def _form(client, provider: str) -> str:
    return client.get(reverse("inventory:account_create"), {"provider": provider}).content.decode()


def _pre(html: str, element_id: str) -> str:
    found = re.search(rf'<pre [^>]*id="{element_id}">(.*?)</pre>', html, re.S)
    assert found, element_id
    return markup.unescape(found.group(1))


def _copy_targets_exist(html: str) -> int:
    targets = re.findall(r'data-copy="#([\w-]+)"', html)
    for target in targets:
        assert f'id="{target}"' in html, target
    return len(targets)


def test_the_aws_trust_policy_names_mcloud_and_the_external_id(login, ada, org, settings):
    settings.AWS_PRINCIPAL_ARN = PRINCIPAL
    html = _form(login(ada), "aws")
    statement = json.loads(_pre(html, "aws-trust-policy"))["Statement"][0]
    assert statement["Principal"] == {"AWS": PRINCIPAL}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": external_id_for(org)}}
    for commands in (_pre(html, "aws-create-stack"), _pre(html, "aws-stack-set")):
        assert f"ParameterValue='{PRINCIPAL}'" in commands
        assert "--capabilities CAPABILITY_NAMED_IAM" in commands
    assert "--permission-model SERVICE_MANAGED" in _pre(html, "aws-stack-set")
    assert "Replace <code>" not in html
    assert _copy_targets_exist(html) == 4


def test_without_its_principal_set_the_form_says_what_to_replace(login, ada, settings):
    settings.AWS_PRINCIPAL_ARN = ""
    html = _form(login(ada), "aws")
    assert "Replace <code>&lt;the ARN mcloud runs as&gt;</code>" in html
    assert '"AWS": "<the ARN mcloud runs as>"' in _pre(html, "aws-trust-policy")


def test_the_reader_role_template_trusts_the_configured_principal(login, ada, settings):
    settings.AWS_PRINCIPAL_ARN = PRINCIPAL
    body = login(ada).get(reverse("inventory:aws_reader_role_template")).content.decode()
    assert f'Default: "{PRINCIPAL}"' in body


@pytest.mark.parametrize(
    ("provider", "element", "expected"),
    [
        ("azure", "azure-create-sp", "az ad sp create-for-rbac --name mcloud-reader --role Reader"),
        ("azure", "azure-create-sp", '--role "Cost Management Reader"'),
        ("gcp", "gcp-create-sa", "gcloud iam service-accounts keys create mcloud-reader.json"),
        ("gcp", "gcp-create-sa", "roles/cloudasset.viewer"),
    ],
)
def test_azure_and_gcp_forms_give_their_cli_commands(login, ada, provider, element, expected):
    html = _form(login(ada), provider)
    assert expected in _pre(html, element)
    assert _copy_targets_exist(html) == 1


def test_a_new_token_has_a_copy_button(login, alice, org):
    response = login(alice).post(
        reverse("accounts:token_list"),
        {"name": "ci", "organization": org.pk, "role": "viewer", "expires_in_days": "30"},
        follow=True,
    )
    html = response.content.decode()
    assert 'data-copy="#new-token"' in html
    assert _copy_targets_exist(html) == 1
