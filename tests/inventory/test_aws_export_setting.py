"""The AWS account's data export setting (where its CUR 2.0 export is): set by an admin on the
account's form, checked with clear messages, shown on the account's page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import CloudAccount
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db


def form(**extra: str) -> dict[str, object]:
    return {
        "name": "aws-prod",
        "enabled": "on",
        "auth_method": "keys",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "regions_mode": "all",
        **extra,
    }


def test_an_admin_points_the_account_at_its_export(login, ada, team, org):
    account = aws_account(org, ("AKIAIOSFODNN7EXAMPLE", "s3cr3t"))
    edit = reverse("inventory:account_edit", args=[account.pk])

    refused = login(team["bob"]).post(edit, form(export_bucket="acme-cur", export_name="payer"))
    assert refused.status_code == 403

    client = login(ada)
    response = client.post(
        edit, form(export_bucket=" s3://acme-cur/ ", export_prefix="/cur/payer/",
                   export_name="acme-cur2")
    )  # fmt: skip
    assert response.status_code == 302
    account.refresh_from_db()
    assert {k: v for k, v in account.config.items() if k.startswith("export_")} == {
        "export_bucket": "acme-cur", "export_prefix": "cur/payer", "export_name": "acme-cur2"
    }  # fmt: skip
    page = client.get(reverse("inventory:account_detail", args=[account.pk])).content.decode()
    assert "s3://acme-cur/cur/payer/acme-cur2" in page

    client.post(edit, form())  # cleared: Cost Explorer alone again
    account.refresh_from_db()
    assert "export_bucket" not in account.config


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"export_name": "payer"}, "export_bucket", "Name the bucket"),
        ({"export_bucket": "Acme_CUR", "export_name": "payer"}, "export_bucket",
         "3 to 63 lower-case letters"),
        ({"export_bucket": "192.168.0.1", "export_name": "payer"}, "export_bucket",
         "3 to 63 lower-case letters"),
        ({"export_bucket": "acme-cur"}, "export_name", "Enter the export's name"),
        ({"export_bucket": "acme-cur", "export_name": "my export!"}, "export_name",
         "letters, digits, hyphens and underscores"),
        ({"export_bucket": "acme-cur", "export_name": "payer", "export_prefix": "cur/../x"},
         "export_prefix", "Write the prefix as folders"),
        ({"export_bucket": "acme-cur", "export_name": "payer", "export_prefix": "a b"},
         "export_prefix", "Write the prefix as folders"),
    ],
)  # fmt: skip
def test_a_bad_export_place_gets_a_clear_message_and_changes_nothing(
    login, ada, org, fields, field, message
):
    account = aws_account(org, ("AKIAIOSFODNN7EXAMPLE", "s3cr3t"))
    response = login(ada).post(reverse("inventory:account_edit", args=[account.pk]), form(**fields))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert CloudAccount.objects.get(pk=account.pk).config == account.config
