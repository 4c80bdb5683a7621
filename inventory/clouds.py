"""From a CloudAccount row to a provider adapter: the one place that reads credentials."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from inventory.models import AwsExternalId, CloudAccount, Provider
from inventory.sandbox import (
    sandbox_config,
    sandbox_description,
    sandbox_endpoints,
    sandbox_secrets,
)
from mcloud.clouds.base import (
    AwsCredentials,
    AzureCredentials,
    Credentials,
    Endpoints,
    GcpCredentials,
)
from mcloud.clouds.registry import adapter_class


def endpoints(**overrides: Any) -> Endpoints:
    """Provider endpoints from the settings (the real clouds unless configured)."""
    values = {
        "aws_endpoint_url": settings.AWS_ENDPOINT_URL or None,
        "aws_ca_bundle": settings.AWS_CA_BUNDLE or None,
        "azure_arm_url": settings.AZURE_ARM_ENDPOINT,
        "azure_authority": settings.AZURE_AUTHORITY_HOST,
        "azure_ca_bundle": settings.AZURE_CA_BUNDLE or None,
        "gcp_compute_endpoint": settings.GCP_COMPUTE_ENDPOINT or None,
        "gcp_storage_endpoint": settings.GCP_STORAGE_ENDPOINT or None,
        "gcp_bigquery_endpoint": settings.GCP_BIGQUERY_ENDPOINT or None,
        "gcp_token_uri": settings.GCP_TOKEN_URI or None,
        "timeout": settings.CLOUD_TIMEOUT,
        "retries": settings.CLOUD_RETRIES,
    }
    return Endpoints(**{**values, **overrides})


def external_id_for(organization: Any) -> str:
    return AwsExternalId.objects.get_or_create(organization=organization)[0].value


def credentials_for(account: CloudAccount, sandbox: dict[str, Any] | None = None) -> Credentials:
    config, secrets = account.config, account.secrets
    if sandbox is not None:  # the emulators' credentials of today, never stored
        config = sandbox_config(account.provider, sandbox)
        secrets = sandbox_secrets(account.provider, sandbox)
    if account.provider == Provider.AWS:
        by_role = config.get("auth_method") == "role"
        return AwsCredentials(
            access_key_id="" if by_role else config.get("access_key_id", ""),
            secret_access_key="" if by_role else secrets.get("secret_access_key", ""),
            session_token="" if by_role else secrets.get("session_token", ""),
            role_arn=config.get("role_arn", "") if by_role else "",
            external_id=external_id_for(account.organization) if by_role else "",
            regions=tuple(config.get("regions") or ()),
        )
    if account.provider == Provider.AZURE:
        return AzureCredentials(
            tenant_id=config["tenant_id"],
            client_id=config["client_id"],
            client_secret=secrets.get("client_secret", ""),
            subscription_ids=tuple(config.get("subscription_ids", ())),
        )
    return GcpCredentials(
        key_info=json.loads(secrets.get("service_account_key") or "{}"),
        project_ids=tuple(config.get("project_ids", ())),
        billing_table=config.get("billing_table", ""),
    )


def adapter_for(account: CloudAccount, **endpoint_overrides: Any) -> Any:
    sandbox = sandbox_description() if account.is_sandbox else None
    if sandbox is not None:
        endpoint_overrides = {**sandbox_endpoints(account.provider, sandbox), **endpoint_overrides}
    return adapter_class(account.provider)(
        credentials_for(account, sandbox), endpoints(**endpoint_overrides)
    )
