"""The cloud account pages: who may do what, forms, write-only secrets, query counts."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django_q.models import Schedule

from accounts.models import AuditEvent
from inventory.models import CloudAccount
from tests.inventory.factories import aws_account, azure_account, gcp_account
from tests.inventory.keys import service_account_key

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def _aws_keys_form(**extra):
    return {
        "name": "aws-prod",
        "enabled": "on",
        "auth_method": "keys",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": "s3cr3t-value",
        "regions_mode": "list",
        "regions": ["eu-west-1", "us-east-1"],
        **extra,
    }


def test_every_role_sees_the_accounts(login, team, org):
    account = aws_account(org, ("AKIAIOSFODNN7EXAMPLE", "x"))
    for name in ("alice", "ada", "bob", "vera"):
        client = login(team[name])
        assert b"aws-prod" in client.get(reverse("inventory:account_list")).content
        detail = client.get(reverse("inventory:account_detail", args=[account.pk]))
        assert detail.status_code == 200


@pytest.mark.parametrize("name", ["bob", "vera"])
def test_members_and_viewers_cannot_add_edit_test_or_delete(login, team, org, name):
    account = aws_account(org, ("AKIAIOSFODNN7EXAMPLE", "x"))
    client = login(team[name])
    pk = account.pk
    assert client.get(reverse("inventory:account_create") + "?provider=aws").status_code == 403
    assert (
        client.post(
            reverse("inventory:account_create") + "?provider=aws", _aws_keys_form(name="other")
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("inventory:account_edit", args=[pk]), _aws_keys_form(name="renamed")
        ).status_code
        == 403
    )
    assert client.post(reverse("inventory:account_test", args=[pk])).status_code == 403
    assert client.post(reverse("inventory:account_toggle", args=[pk])).status_code == 403
    assert client.post(reverse("inventory:account_resume", args=[pk])).status_code == 403
    assert (
        client.post(
            reverse("inventory:account_delete", args=[pk]), {"confirm_name": "aws-prod"}
        ).status_code
        == 403
    )
    account.refresh_from_db()
    assert (account.name, account.enabled) == ("aws-prod", True)
    assert (
        b"Test connection" not in client.get(reverse("inventory:account_detail", args=[pk])).content
    )


def test_it_checks_ownership(login, charlie, org):
    account = aws_account(org, ("AKIAIOSFODNN7EXAMPLE", "x"))
    client = login(charlie)
    pk = account.pk
    assert b"aws-prod" not in client.get(reverse("inventory:account_list")).content
    for name in ("account_detail", "account_edit", "account_delete"):
        assert client.get(reverse(f"inventory:{name}", args=[pk])).status_code == 404
    for name in ("account_test", "account_toggle", "account_resume", "account_delete"):
        assert client.post(reverse(f"inventory:{name}", args=[pk])).status_code == 404
    assert CloudAccount.objects.filter(pk=pk, enabled=True).exists()


def test_an_admin_adds_an_aws_account_with_an_access_key(login, ada, org):
    response = login(ada).post(
        reverse("inventory:account_create") + "?provider=aws", _aws_keys_form()
    )
    account = CloudAccount.objects.get(organization=org)
    assert response.url == reverse("inventory:account_detail", args=[account.pk])
    assert account.provider == "aws"
    assert account.config == {
        "auth_method": "keys",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "role_arn": "",
        "regions": ["eu-west-1", "us-east-1"],
    }
    assert account.secrets == {"secret_access_key": "s3cr3t-value"}
    event = AuditEvent.objects.get(action="cloud_account.created")
    assert "s3cr3t-value" not in json.dumps(event.data)


def test_an_admin_adds_an_aws_role_and_sees_the_external_id(login, ada, org):
    client = login(ada)
    page = client.get(reverse("inventory:account_create") + "?provider=aws").content.decode()
    assert 'id="external-id">mcloud-' in page
    client.post(
        reverse("inventory:account_create") + "?provider=aws",
        {
            "name": "aws-role",
            "enabled": "on",
            "auth_method": "role",
            "role_arn": "arn:aws:iam::123456789012:role/mcloud-reader",
            "regions_mode": "all",
        },
    )
    account = CloudAccount.objects.get()
    assert account.config["role_arn"] == "arn:aws:iam::123456789012:role/mcloud-reader"
    assert account.secrets == {}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"auth_method": "role", "role_arn": "arn:aws:s3:::bucket"},
            "role_arn",
            "Enter a role ARN",
        ),
        ({"access_key_id": "not-a-key"}, "access_key_id", "starts with AKIA or ASIA"),
        ({"secret_access_key": ""}, "secret_access_key", "Enter the secret access key"),
        ({"regions": []}, "regions", "Choose at least one region"),
    ],
)
def test_bad_aws_input_gets_a_clear_message_and_changes_nothing(
    login, ada, org, data, field, message
):
    response = login(ada).post(
        reverse("inventory:account_create") + "?provider=aws", _aws_keys_form(**data)
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert not CloudAccount.objects.exists()


def test_an_admin_adds_an_azure_account(login, ada, org):
    login(ada).post(
        reverse("inventory:account_create") + "?provider=azure",
        {
            "name": "azure-main",
            "enabled": "on",
            "tenant_id": TENANT,
            "client_id": CLIENT,
            "client_secret": "azure-secret",
            "subscription_ids": f"{SUB.upper()}\n{SUB}",
        },
    )
    account = CloudAccount.objects.get()
    assert account.config == {"tenant_id": TENANT, "client_id": CLIENT, "subscription_ids": [SUB]}
    assert account.secrets == {"client_secret": "azure-secret"}


def test_an_azure_connection_may_discover_every_subscription_or_name_them(login, ada, org):
    client = login(ada)
    url = reverse("inventory:account_create") + "?provider=azure"
    base = {"name": "azure-all", "enabled": "on", "tenant_id": TENANT, "client_id": CLIENT,
            "client_secret": "azure-secret"}  # fmt: skip
    refused = client.post(url, {**base, "subscriptions_mode": "list"})
    assert refused.context["form"].errors["subscription_ids"] == [
        "Enter at least one subscription ID."
    ]
    client.post(url, {**base, "subscriptions_mode": "all", "subscription_ids": SUB})
    account = CloudAccount.objects.get()
    assert account.config == {"tenant_id": TENANT, "client_id": CLIENT, "subscription_ids": [],
                              "discover_members": True}  # fmt: skip
    assert account.scopes_display == ["every subscription it can see"]


def test_an_azure_connection_may_keep_to_one_management_group(login, ada, org):
    client = login(ada)
    url = reverse("inventory:account_create") + "?provider=azure"
    base = {"name": "azure-all", "enabled": "on", "tenant_id": TENANT, "client_id": CLIENT,
            "client_secret": "azure-secret", "subscriptions_mode": "all"}  # fmt: skip
    refused = client.post(url, {**base, "management_group": "Prod Group."})
    assert "management group ID" in refused.context["form"].errors["management_group"][0]
    assert not CloudAccount.objects.exists()
    client.post(url, {**base, "management_group": " mg-prod "})
    account = CloudAccount.objects.get()
    assert account.config["management_group"] == "mg-prod"
    assert account.scopes_display == ["every subscription under management group mg-prod"]


def test_bad_azure_ids_are_refused(login, ada, org):
    response = login(ada).post(
        reverse("inventory:account_create") + "?provider=azure",
        {
            "name": "azure-main",
            "tenant_id": "not a tenant",
            "client_id": "nope",
            "client_secret": "x",
            "subscription_ids": "123",
        },
    )
    errors = response.context["form"].errors
    assert errors["tenant_id"] == ["A tenant ID is a GUID or a domain name."]
    assert "A client ID is a GUID" in errors["client_id"][0]
    assert errors["subscription_ids"] == ["Not a subscription ID: 123."]
    assert not CloudAccount.objects.exists()


def test_a_gcp_key_is_pasted_or_uploaded_and_defaults_the_project(login, ada, org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    key = service_account_key("my-project-1")
    client = login(ada)
    upload = SimpleUploadedFile("key.json", json.dumps(key).encode(), "application/json")
    client.post(
        reverse("inventory:account_create") + "?provider=gcp",
        {"name": "gcp-main", "enabled": "on", "key_file": upload},
    )
    account = CloudAccount.objects.get()
    assert account.config == {
        "client_email": key["client_email"],
        "key_id": key["private_key_id"],
        "project_ids": ["my-project-1"],
        "billing_table": "",
    }
    assert json.loads(account.secrets["service_account_key"]) == key


def test_a_gcp_connection_may_discover_the_projects_of_an_organization(login, ada, org):
    key = json.dumps(service_account_key("my-project-1"))
    client = login(ada)
    url = reverse("inventory:account_create") + "?provider=gcp"
    base = {"name": "gcp-org", "enabled": "on", "service_account_key": key}
    both = client.post(url, {**base, "project_ids": "p-one-1", "project_parent": "folders/9"})
    assert "not both" in both.context["form"].errors["project_parent"][0]
    bad = client.post(url, {**base, "project_parent": "acme"})
    assert bad.context["form"].errors["project_parent"] == [
        "Write organizations/123 or folders/456."
    ]
    client.post(url, {**base, "project_parent": "organizations/123"})
    account = CloudAccount.objects.get()
    assert (account.config["project_ids"], account.config["project_parent"]) == (
        [], "organizations/123"
    )  # fmt: skip
    assert account.config["discover_members"] is True
    assert account.scopes_display == ["every project under organizations/123"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "This is not JSON"),
        ('{"type": "authorized_user"}', 'its "type" must be "service_account"'),
        ('{"type": "service_account", "project_id": "p"}', "The key lacks private_key_id"),
    ],
)
def test_a_bad_gcp_key_gets_a_clear_message(login, ada, org, text, message):
    response = login(ada).post(
        reverse("inventory:account_create") + "?provider=gcp",
        {"name": "gcp-main", "service_account_key": text},
    )
    assert message in response.context["form"].errors["service_account_key"][0]
    assert not CloudAccount.objects.exists()


def test_a_gcp_key_with_a_broken_private_key_is_refused(login, ada, org):
    key = {**service_account_key("my-project-1"), "private_key": "-----BEGIN PRIVATE KEY-----"}
    response = login(ada).post(
        reverse("inventory:account_create") + "?provider=gcp",
        {"name": "gcp-main", "service_account_key": json.dumps(key)},
    )
    assert (
        "not a valid PEM private key" in response.context["form"].errors["service_account_key"][0]
    )


def test_a_refused_form_does_not_send_a_pasted_key_back(login, ada, org):
    key = service_account_key("my-project-1")
    response = login(ada).post(
        reverse("inventory:account_create") + "?provider=gcp",
        {"name": "gcp-main", "service_account_key": json.dumps(key), "billing_table": "x y"},
    )
    assert response.context["form"].errors["billing_table"]
    assert key["private_key"].splitlines()[1] not in response.content.decode()
    assert 'name="service_account_key"' in response.content.decode()


def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(login, ada, org):
    account = azure_account(org, TENANT, CLIENT, "first-secret", [SUB])
    client = login(ada)
    form = {
        "name": "azure-main",
        "enabled": "on",
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": "",
        "subscription_ids": SUB,
    }
    page = client.get(reverse("inventory:account_edit", args=[account.pk])).content.decode()
    assert "A value is stored. Leave this blank to keep it." in page
    assert "first-secret" not in page
    client.post(reverse("inventory:account_edit", args=[account.pk]), form)
    account.refresh_from_db()
    assert account.secrets == {"client_secret": "first-secret"}
    client.post(
        reverse("inventory:account_edit", args=[account.pk]),
        {**form, "client_secret": "second-secret", "name": "azure-renamed"},
    )
    account.refresh_from_db()
    assert (account.name, account.secrets) == ("azure-renamed", {"client_secret": "second-secret"})
    event = AuditEvent.objects.filter(action="cloud_account.updated").first()
    assert event.data == {"changed": ["name"], "secrets_replaced": ["client_secret"]}


def test_names_are_unique_per_organization(login, ada, org, charlie, other_org):
    aws_account(other_org, ("AKIAIOSFODNN7EXAMPLE", "x"))  # same name elsewhere is fine
    client = login(ada)
    client.post(reverse("inventory:account_create") + "?provider=aws", _aws_keys_form())
    response = client.post(reverse("inventory:account_create") + "?provider=aws", _aws_keys_form())
    assert (
        "Another cloud account of this organization has this name."
        in response.context["form"].errors["name"]
    )
    assert CloudAccount.objects.filter(organization=org).count() == 1


def test_disable_enable_and_delete_are_audited(login, ada, org):
    account = aws_account(org, ("AKIAIOSFODNN7EXAMPLE", "x"))
    client = login(ada)
    client.post(reverse("inventory:account_toggle", args=[account.pk]))
    account.refresh_from_db()
    assert not account.enabled
    client.post(reverse("inventory:account_delete", args=[account.pk]), {"confirm_name": "AWS"})
    assert CloudAccount.objects.filter(pk=account.pk).exists()
    client.post(
        reverse("inventory:account_delete", args=[account.pk]), {"confirm_name": "aws-prod"}
    )
    assert not CloudAccount.objects.filter(pk=account.pk).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"cloud_account.disabled", "cloud_account.deleted"} <= actions


def test_the_list_runs_a_fixed_number_of_queries(login, alice, org, django_assert_max_num_queries):
    client = login(alice)
    for i in range(3):
        gcp_account(org, service_account_key(f"proj-{i}-xyz"), name=f"gcp-{i}")
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("inventory:account_list"))
    for i in range(3, 40):
        azure_account(org, TENANT, CLIENT, "s", [SUB], name=f"azure-{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("inventory:account_list"))
    assert b"azure-39" in page.content


def test_each_enabled_account_has_its_own_sync_schedule_kept_in_step(login, ada, org):
    client = login(ada)
    create = reverse("inventory:account_create") + "?provider=aws"
    client.post(create, _aws_keys_form(sync_interval_minutes="15"))
    account = CloudAccount.objects.get(organization=org)

    def schedule():
        return Schedule.objects.filter(name=f"inventory: sync account {account.pk}").first()

    assert schedule().func == "inventory.tasks.sync_account"
    assert schedule().args == repr((account.pk,))
    assert (schedule().schedule_type, schedule().minutes) == (Schedule.MINUTES, 15)
    edit = reverse("inventory:account_edit", args=[account.pk])
    client.post(edit, _aws_keys_form(sync_interval_minutes="45", secret_access_key=""))
    assert schedule().minutes == 45
    client.post(reverse("inventory:account_toggle", args=[account.pk]))  # disabled
    assert schedule() is None
    client.post(reverse("inventory:account_toggle", args=[account.pk]))  # enabled again
    assert schedule().minutes == 45
    client.post(
        reverse("inventory:account_delete", args=[account.pk]), {"confirm_name": "aws-prod"}
    )
    assert schedule() is None
    assert Schedule.objects.filter(name__startswith="inventory: sync account").count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token_uri": "http://127.0.0.1:9/token"}, "token_uri is not Google"),
        ({"token_uri": "https://evil.example/token"}, "token_uri is not Google"),
        ({"universe_domain": "evil.example"}, "universe_domain is not googleapis.com"),
    ],
)
def test_a_gcp_key_naming_another_token_endpoint_is_refused(
    login, ada, org, token_for, client, change, message
):
    key = {**service_account_key("my-project-1"), **change}
    response = login(ada).post(
        reverse("inventory:account_create") + "?provider=gcp",
        {"name": "gcp-main", "service_account_key": json.dumps(key)},
    )
    assert message in response.context["form"].errors["service_account_key"][0]
    api = client.post(
        "/api/cloud-accounts",
        {"provider": "gcp", "name": "gcp-api", "settings": {"service_account_key": key}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(ada)}",
    )
    assert api.status_code == 422
    assert message in json.dumps(api.json())
    assert not CloudAccount.objects.exists()


def test_an_aws_connection_can_discover_its_organization(login, ada, org):
    url = reverse("inventory:account_create") + "?provider=aws"
    client = login(ada)
    bad = client.post(url, _aws_keys_form(discover_members="on", member_role_name="no spaces"))
    assert "A role name is 1 to 64 letters" in bad.content.decode()
    assert not CloudAccount.objects.exists()

    client.post(url, _aws_keys_form(discover_members="on", member_role_name="acme-reader"))

    config = CloudAccount.objects.get(organization=org).config
    assert (config["discover_members"], config["member_role_name"]) == (True, "acme-reader")
