"""Secrets are encrypted at rest and never rendered, logged or audited; keys rotate."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.models import AuditEvent, User
from inventory.models import CloudAccount
from inventory.services.health import connection_check
from tests.inventory.factories import aws_account, azure_account, gcp_account

pytestmark = pytest.mark.django_db

AWS_SECRET = "AWS-SECRET-wJalrXUtnFEMI-K7MDENG-bPxRfiCY"
AZURE_SECRET = "AZURE-SECRET-Qx8~abcdefghijklmnopqrstu"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


@pytest.fixture
def secret_accounts(org, aws, azure, gcp):
    """One account per provider, each holding a known secret, each tested once."""
    gcp_key = gcp.add_service_account("acme-prod")
    azure.add_subscription(SUB, "Production", TENANT)
    azure.add_app(TENANT, CLIENT, AZURE_SECRET, [SUB])
    accounts = [
        aws_account(org, ("AKIAUNKNOWNKEY000000", AWS_SECRET)),
        azure_account(org, TENANT, CLIENT, AZURE_SECRET, [SUB]),
        gcp_account(org, gcp_key),
    ]
    secrets = [
        AWS_SECRET,
        AZURE_SECRET,
        gcp_key["private_key"],
        gcp_key["private_key"].splitlines()[1],
    ]
    return accounts, secrets


def test_no_secret_appears_in_pages_admin_audit_or_logs(secret_accounts, login, alice, caplog):
    accounts, secrets = secret_accounts
    caplog.set_level(logging.DEBUG)
    client = login(alice)
    urls = [reverse("inventory:account_list"), reverse("accounts:audit_log")]
    for account in accounts:
        connection_check(account=account)
        client.post(
            reverse("inventory:account_test", args=[account.pk]), headers={"HX-Request": "true"}
        )
        urls += [
            reverse(f"inventory:{name}", args=[account.pk])
            for name in ("account_detail", "account_edit", "account_delete")
        ]
    staff = User.objects.create_superuser(email="root@example.test", password="x" * 20)
    admin_client = login(staff, organization=accounts[0].organization)
    admin_urls = (
        [reverse("admin:inventory_cloudaccount_changelist")]
        + [reverse("admin:inventory_cloudaccount_change", args=[a.pk]) for a in accounts]
        + [
            reverse("admin:inventory_providerhealth_changelist"),
            reverse("admin:accounts_auditevent_changelist"),
        ]
    )

    pages = [client.get(url) for url in urls] + [admin_client.get(url) for url in admin_urls]
    assert all(page.status_code == 200 for page in pages)
    text = "\n".join(page.content.decode() for page in pages)
    audit = json.dumps(list(AuditEvent.objects.values()), default=str)
    for secret in secrets:
        assert secret not in text
        assert secret not in caplog.text
        assert secret not in audit


def test_the_database_holds_only_ciphertext(secret_accounts):
    _accounts, secrets = secret_accounts
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets, config FROM inventory_cloudaccount")
        raw = "\n".join(f"{s}{c}" for s, c in cursor.fetchall())
    for secret in secrets:
        assert secret not in raw
    assert raw.count("gAAAAA") == 3  # a Fernet token per account


def test_rotation_re_encrypts_and_old_keys_still_decrypt_before_it(
    secret_accounts, settings, capsys
):
    accounts, _ = secret_accounts
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    # Before rotation, rows written with the old key still read fine.
    assert CloudAccount.objects.get(pk=accounts[0].pk).secrets["secret_access_key"] == AWS_SECRET

    call_command("rotate_encryption_keys")
    assert "inventory.CloudAccount: re-encrypted 3 rows" in capsys.readouterr().out

    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM inventory_cloudaccount ORDER BY id")
        tokens = [row[0] for row in cursor.fetchall()]
    for token in tokens:
        Fernet(new_key).decrypt(token.encode())
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(token.encode())
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can go now
    assert CloudAccount.objects.get(pk=accounts[1].pk).secrets["client_secret"] == AZURE_SECRET


def test_totp_seeds_are_encrypted_and_rotated(alice, settings):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(alice, "JBSWY3DPEHPK3PXP")
    stored = Authenticator.objects.get(user=alice).data["secret"]
    assert "JBSWY3DPEHPK3PXP" not in stored
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_encryption_keys")
    rotated = Authenticator.objects.get(user=alice).data["secret"]
    assert Fernet(new_key).decrypt(rotated.encode()) == b"JBSWY3DPEHPK3PXP"


def test_tasks_receive_ids_not_credentials(aws, org, scheduled):
    from django_q.models import OrmQ, Task

    from inventory.tasks import check_all_accounts

    account = aws_account(org, ("AKIAUNKNOWNKEY000000", AWS_SECRET))
    scheduled(check_all_accounts)
    stored = [str(t.args) + str(t.kwargs) + str(t.result) for t in Task.objects.all()]
    stored += [str(q.payload) for q in OrmQ.objects.all()]
    assert any(str(account.pk) in s for s in stored)
    assert not any(AWS_SECRET in s for s in stored)
