"""The sandbox: accounts that point at the local emulators (`python -m emulators`).

The emulators make fresh credentials each time they start and tell them at
`SANDBOX_URL/sandbox.json`; sandbox accounts store no secret and read them from there.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from django.conf import settings

from mcloud.clouds.base import CloudError


def sandbox_description() -> dict[str, Any]:
    """Endpoints and credentials of the running emulators; a CloudError when none runs."""
    try:
        answer = requests.get(f"{settings.SANDBOX_URL}/sandbox.json", timeout=3)
        answer.raise_for_status()
    except requests.RequestException:
        raise CloudError(
            f"The sandbox emulators do not answer at {settings.SANDBOX_URL}. Start them with "
            "`make run` (or `python -m emulators`).",
            code="SandboxDown",
        ) from None
    return answer.json()


def sandbox_endpoints(provider: str, description: dict[str, Any]) -> dict[str, Any]:
    if provider == "aws":
        return {"aws_endpoint_url": description["aws"]["endpoint"]}
    if provider == "azure":
        azure = description["azure"]
        return {"azure_arm_url": azure["arm_endpoint"], "azure_authority": azure["authority"],
                "azure_ca_bundle": azure["ca_bundle"]}  # fmt: skip
    gcp = description["gcp"]["endpoint"]
    return {"gcp_compute_endpoint": gcp, "gcp_storage_endpoint": gcp,
            "gcp_bigquery_endpoint": gcp, "gcp_token_uri": f"{gcp}/token"}  # fmt: skip


def sandbox_config(provider: str, description: dict[str, Any]) -> dict[str, Any]:
    """What a sandbox account shows (no secret)."""
    if provider == "aws":
        aws = description["aws"]
        return {"auth_method": "keys", "access_key_id": aws["access_key_id"], "role_arn": "",
                "regions": aws["regions"]}  # fmt: skip
    if provider == "azure":
        azure = description["azure"]
        return {"tenant_id": azure["tenant_id"], "client_id": azure["client_id"],
                "subscription_ids": azure["subscription_ids"]}  # fmt: skip
    gcp = description["gcp"]
    return {"client_email": gcp["key"]["client_email"], "key_id": gcp["key"]["private_key_id"],
            "project_ids": gcp["project_ids"],
            "billing_table": gcp.get("billing_table", "")}  # fmt: skip


def sandbox_secrets(provider: str, description: dict[str, Any]) -> dict[str, str]:
    if provider == "aws":
        return {"secret_access_key": description["aws"]["secret_access_key"]}
    if provider == "azure":
        return {"client_secret": description["azure"]["client_secret"]}
    return {"service_account_key": json.dumps(description["gcp"]["key"])}
