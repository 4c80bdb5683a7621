"""From a CloudAccount row to a provider adapter: the one place that reads credentials.

What the row's config and secrets mean is its provider's business (`CloudProvider.credentials`,
in inventory/providers.py); an account of a provider nobody registered raises UnknownProvider.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from inventory.cloud_limits import calls_throttle
from inventory.models import AwsExternalId, CloudAccount
from inventory.sandbox_clouds import sandbox_description, sandbox_mapping
from mcloud.clouds.base import CloudAdapter, CloudError, Endpoints
from mcloud.clouds.registry import StoredAccount, provider_get


def endpoints(**overrides: Any) -> Endpoints:
    """Provider endpoints from the settings (the real clouds unless configured)."""
    values = {
        "aws_endpoint_url": settings.AWS_ENDPOINT_URL or None,
        "aws_ca_bundle": settings.AWS_CA_BUNDLE or None,
        "azure_arm_url": settings.AZURE_ARM_ENDPOINT,
        "azure_authority": settings.AZURE_AUTHORITY_HOST,
        "azure_ca_bundle": settings.AZURE_CA_BUNDLE or None,
        "gcp_compute_endpoint": settings.GCP_COMPUTE_ENDPOINT or None,
        "gcp_asset_endpoint": settings.GCP_ASSET_ENDPOINT or None,
        "gcp_resource_manager_endpoint": settings.GCP_RESOURCE_MANAGER_ENDPOINT or None,
        "gcp_storage_endpoint": settings.GCP_STORAGE_ENDPOINT or None,
        "gcp_bigquery_endpoint": settings.GCP_BIGQUERY_ENDPOINT or None,
        "gcp_token_uri": settings.GCP_TOKEN_URI or None,
        "timeout": settings.CLOUD_TIMEOUT,
        "retries": settings.CLOUD_RETRIES,
        "poll_seconds": settings.CLOUD_POLL_SECONDS,
    }
    return Endpoints(**{**values, **overrides})


def external_id_for(organization: Any) -> str:
    return AwsExternalId.objects.get_or_create(organization=organization)[0].value


def credentials_for(account: CloudAccount, sandbox: dict[str, Any] | None = None) -> Any:
    """The account's credentials dataclass, as its provider's adapter takes it; with
    `sandbox` (the emulators' description), the emulators' credentials of today instead of
    what the row stores. A member account signs in through the connection that found it."""
    provider = provider_get(account.provider)
    signs_in = account.parent or account
    config, secrets = signs_in.config, signs_in.secrets
    if sandbox is not None:
        mapping = sandbox_mapping(provider)
        config, secrets = mapping.config(sandbox), mapping.secrets(sandbox)
    stored = StoredAccount(
        config, secrets, external_id=lambda: external_id_for(account.organization)
    )
    if account.parent_id:
        if provider.member_credentials is None:
            raise CloudError(f"{provider.label} has no member accounts.", permanent=True)
        return provider.member_credentials(stored, account.member_id)
    return provider.credentials(stored)


def adapter_for(account: CloudAccount, **endpoint_overrides: Any) -> CloudAdapter:
    provider = provider_get(account.provider)
    sandbox = sandbox_description() if account.is_sandbox else None
    if sandbox is not None:
        endpoint_overrides = {**sandbox_mapping(provider).endpoints(sandbox), **endpoint_overrides}
    endpoint_overrides.setdefault("throttle", calls_throttle(provider.key))
    return provider.adapter_class()(
        credentials_for(account, sandbox), endpoints(**endpoint_overrides)
    )
