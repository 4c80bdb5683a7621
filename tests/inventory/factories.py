"""Cloud accounts for tests, built the way the services build them."""

from __future__ import annotations

import json
from typing import Any

from accounts.models import Organization
from inventory.models import CloudAccount


def aws_account(org: Organization, key: tuple[str, str], **config: Any) -> CloudAccount:
    return CloudAccount.objects.create(
        organization=org,
        provider="aws",
        name=config.pop("name", "aws-prod"),
        config={"auth_method": "keys", "access_key_id": key[0], "regions": [], **config},
        secrets={"secret_access_key": key[1]},
    )


def aws_role_account(org: Organization, role_arn: str, name: str = "aws-role") -> CloudAccount:
    return CloudAccount.objects.create(
        organization=org,
        provider="aws",
        name=name,
        config={"auth_method": "role", "role_arn": role_arn, "regions": []},
    )


def azure_account(
    org: Organization,
    tenant: str,
    client: str,
    secret: str,
    subscriptions: list[str],
    name: str = "azure-main",
) -> CloudAccount:
    return CloudAccount.objects.create(
        organization=org,
        provider="azure",
        name=name,
        config={"tenant_id": tenant, "client_id": client, "subscription_ids": subscriptions},
        secrets={"client_secret": secret},
    )


def gcp_account(
    org: Organization,
    key: dict[str, Any],
    projects: list[str] | None = None,
    name: str = "gcp-main",
) -> CloudAccount:
    return CloudAccount.objects.create(
        organization=org,
        provider="gcp",
        name=name,
        config={
            "client_email": key["client_email"],
            "key_id": key["private_key_id"],
            "project_ids": projects or [key["project_id"]],
        },
        secrets={"service_account_key": json.dumps(key)},
    )
