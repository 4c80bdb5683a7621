"""The three clouds, one registry entry each: everything the apps know about a provider is
in its entry below (words, colours, adapter, credentials, sandbox, Terraform sources) or
named by it (its credentials form and its templates). See `mcloud.clouds.registry`.

Code elsewhere asks the registry (`provider_get(account.provider).scope`) and never branches
on which provider an account is. A fourth cloud is one more `provider_register` call, with
its adapter, form and words; nothing else changes.

The entries are registered when the inventory app is ready (InventoryConfig.ready).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from inventory.forms.aws_account import AwsAccountForm
from inventory.forms.azure_account import AzureAccountForm
from inventory.forms.cloud_account import CloudAccountForm
from inventory.forms.gcp_account import GcpAccountForm
from mcloud.clouds.base import (
    CLEANUP_OF,
    VM_ACTIONS,
    AwsCredentials,
    AzureCredentials,
    GcpCredentials,
    ResourceType,
)
from mcloud.clouds.registry import (
    CloudProvider,
    Colours,
    SandboxMapping,
    StoredAccount,
    provider_get,
    provider_register,
)

CLEANUP_TYPES = tuple(CLEANUP_OF)  # every provider removes its disks, snapshots and IPs


@dataclass(frozen=True, kw_only=True)
class AccountProvider(CloudProvider):
    """A provider with the inventory's parts: the form that connects an account of it, and
    the templates of what the form says first and of the account's connection panel (given
    `account` and `external_id`)."""

    form: type[CloudAccountForm]
    form_help_template: str = ""
    connection_template: str = "inventory/providers/connection.html"
    # What a connection's page says of its member accounts' set-up (providers with members).
    members_help_template: str = ""
    # How a member account's page says it signs in and what it covers.
    member_template: str = "inventory/providers/member_connection.html"
    # The module that reads the provider's public price list (`inventory.price_sources`:
    # MAIN_REGION, LABEL and prices_fetch); empty: `refresh_prices` cannot refresh it.
    price_source: str = ""

    def account_form(self, *args: Any, **kwargs: Any) -> CloudAccountForm:
        return self.form(*args, provider=self, **kwargs)


def account_provider(key: str) -> AccountProvider:
    """The entry of `key` with its inventory parts; UnknownProvider when there is none."""
    provider = provider_get(key)
    if not isinstance(provider, AccountProvider):
        raise ImproperlyConfigured(
            f"The cloud provider {key!r} is registered without a form and templates: "
            "register it as an inventory.providers.AccountProvider."
        )
    return provider


# --- AWS ------------------------------------------------------------------------------------
def _aws_credentials(stored: StoredAccount) -> AwsCredentials:
    config, secrets = stored.config, stored.secrets
    by_role = config.get("auth_method") == "role"
    return AwsCredentials(
        access_key_id="" if by_role else config.get("access_key_id", ""),
        secret_access_key="" if by_role else secrets.get("secret_access_key", ""),
        session_token="" if by_role else secrets.get("session_token", ""),
        role_arn=config.get("role_arn", "") if by_role else "",
        external_id=stored.external_id() if by_role else "",
        regions=tuple(config.get("regions") or ()),
        export_bucket=config.get("export_bucket", ""),
        export_prefix=config.get("export_prefix", ""),
        export_name=config.get("export_name", ""),
        costs_by_account=bool(config.get("discover_members")),
    )


# The role discovery assumes in each member account unless the connection names another.
AWS_MEMBER_ROLE = "mcloud-reader"


def _aws_member_credentials(parent: StoredAccount, member_id: str) -> AwsCredentials:
    """A member account's credentials: the connection's own, then the member's reader role,
    with the organization's external ID (which the role's trust policy names). The
    connection's data export is its own: a member's costs come with the connection's."""
    signed_in = _aws_credentials(parent)
    role = parent.config.get("member_role_name") or AWS_MEMBER_ROLE
    return AwsCredentials(
        **{**vars(signed_in), "external_id": parent.external_id(),
           "member_role_arn": f"arn:aws:iam::{member_id}:role/{role}",
           "export_bucket": "", "export_prefix": "", "export_name": "",
           "costs_by_account": False}
    )  # fmt: skip


AWS = AccountProvider(
    key="aws",
    price_source="inventory.price_sources.aws",
    actions=VM_ACTIONS,
    price_sizes={
        ResourceType.VM: ("instance_type",),
        ResourceType.DISK: ("volume_type",),
        ResourceType.DATABASE: ("instance_class",),
        ResourceType.LOAD_BALANCER: ("load_balancer_type",),
    },
    # EC2's mutating calls refill at 5 a second per account and region (bucket of 50).
    action_rate=5.0,
    action_burst=20,
    # Every other call, per account, region and service (the adapter's domain): EC2's
    # non-mutating calls refill at 20 a second per account and region (bucket of 100);
    # most other services allow as much or more.
    call_rate=20.0,
    call_burst=100,
    cleanups=CLEANUP_TYPES,
    label="AWS",
    article="an",
    scope="region",
    scopes="regions",
    name_hint="aws-prod",
    summary="An IAM role to assume, or an access key.",
    colours=Colours(chart="#ff9900", badge_background="#232f3e", badge_text="#ff9900"),
    adapter="mcloud.clouds.aws.AwsAdapter",
    credentials=_aws_credentials,
    covers=lambda config: config.get("regions") or ["all enabled regions"],
    uncounted_scopes=("global",),  # S3 and Route 53 (mcloud.clouds.aws.GLOBAL_SCOPE)
    resource_costs="no",
    terraform_sources=("hashicorp/aws",),
    members="member accounts",
    member="member account",
    member_credentials=_aws_member_credentials,
    sandbox=SandboxMapping(
        endpoints=lambda d: {"aws_endpoint_url": d["aws"]["endpoint"]},
        config=lambda d: {
            "auth_method": "keys",
            "access_key_id": d["aws"]["access_key_id"],
            "role_arn": "",
            "regions": d["aws"]["regions"],
        },
        secrets=lambda d: {"secret_access_key": d["aws"]["secret_access_key"]},
    ),
    form=AwsAccountForm,
    form_help_template="inventory/providers/aws_form_help.html",
    connection_template="inventory/providers/aws_connection.html",
    members_help_template="inventory/providers/aws_members_help.html",
    member_template="inventory/providers/aws_member_connection.html",
)


# --- Azure ----------------------------------------------------------------------------------
def _azure_credentials(stored: StoredAccount) -> AzureCredentials:
    return AzureCredentials(
        tenant_id=stored.config["tenant_id"],
        client_id=stored.config["client_id"],
        client_secret=stored.secrets.get("client_secret", ""),
        subscription_ids=tuple(stored.config.get("subscription_ids", ())),
        management_group=stored.config.get("management_group", ""),
    )


def _azure_covers(config: Mapping[str, Any]) -> list[str]:
    if config.get("discover_members") and config.get("management_group"):
        return [f"every subscription under management group {config['management_group']}"]
    if config.get("discover_members"):
        return ["every subscription it can see"]
    return list(config.get("subscription_ids", []))


def _azure_member_credentials(parent: StoredAccount, member_id: str) -> AzureCredentials:
    """A discovered subscription signs in as its connection's service principal and covers
    itself alone."""
    return AzureCredentials(
        **{**vars(_azure_credentials(parent)), "subscription_ids": (member_id,),
           "management_group": ""}
    )  # fmt: skip


# The emulators end an operation within a poll or two and say `Retry-After: 0`: poll fast, so
# a sandbox VM's new state shows within seconds.
SANDBOX_POLL_SECONDS = 0.5


def _azure_sandbox_endpoints(description: Mapping[str, Any]) -> dict[str, Any]:
    azure = description["azure"]
    return {
        "azure_arm_url": azure["arm_endpoint"],
        "azure_authority": azure["authority"],
        "azure_ca_bundle": azure["ca_bundle"],
        "poll_seconds": SANDBOX_POLL_SECONDS,
    }


AZURE = AccountProvider(
    key="azure",
    price_source="inventory.price_sources.azure",
    actions=VM_ACTIONS,
    price_sizes={
        ResourceType.VM: ("vm_size",),
        ResourceType.DISK: ("sku",),
        # A SQL database by its objective ("GP_Gen5_2"), a flexible server by its SKU.
        ResourceType.DATABASE: ("service_objective", "sku"),
    },
    # Resource Manager's writes: about 1,200 an hour per subscription in the old limits, a
    # token bucket refilling 10 a second in the new; the lower one is the safe one.
    action_rate=3.0,
    action_burst=10,
    # Every other call, per subscription (tenant-wide calls per tenant): Resource Manager's
    # reads refill at 25 a second per subscription (bucket of 250) in the new limits; half,
    # to leave the customer's own tools their share. Resource Graph allows fewer (15 per
    # 5 s per principal): its 429s are waited out as Retry-After says.
    call_rate=12.0,
    call_burst=120,
    cleanups=CLEANUP_TYPES,
    label="Azure",
    article="an",
    scope="subscription",
    scopes="subscriptions",
    name_hint="azure-prod",
    summary="A service principal (tenant, client ID and secret) and its subscriptions.",
    colours=Colours(chart="#0078d4", badge_background="#0078d4", badge_text="#ffffff"),
    adapter="mcloud.clouds.azure.AzureAdapter",
    credentials=_azure_credentials,
    covers=_azure_covers,
    resource_costs="yes",
    terraform_sources=("hashicorp/azurerm",),
    members="subscriptions",
    member="subscription",
    member_credentials=_azure_member_credentials,
    member_is_scope=True,
    sandbox=SandboxMapping(
        endpoints=_azure_sandbox_endpoints,
        config=lambda d: {
            "tenant_id": d["azure"]["tenant_id"],
            "client_id": d["azure"]["client_id"],
            "subscription_ids": d["azure"]["subscription_ids"],
        },
        secrets=lambda d: {"client_secret": d["azure"]["client_secret"]},
    ),
    form=AzureAccountForm,
    form_help_template="inventory/providers/azure_form_help.html",
    connection_template="inventory/providers/azure_connection.html",
)


# --- GCP ------------------------------------------------------------------------------------
def _gcp_credentials(stored: StoredAccount) -> GcpCredentials:
    return GcpCredentials(
        key_info=json.loads(stored.secrets.get("service_account_key") or "{}"),
        project_ids=tuple(stored.config.get("project_ids", ())),
        billing_table=stored.config.get("billing_table", ""),
        project_parent=stored.config.get("project_parent", ""),
    )


def _gcp_covers(config: Mapping[str, Any]) -> list[str]:
    if config.get("discover_members"):
        return [f"every project under {config.get('project_parent', '')}"]
    return list(config.get("project_ids", []))


def _gcp_member_credentials(parent: StoredAccount, member_id: str) -> GcpCredentials:
    """A discovered project signs in with its connection's key, covers itself alone, and
    leaves costs to the connection (whose billing export holds every project's)."""
    return GcpCredentials(
        **{**vars(_gcp_credentials(parent)), "project_ids": (member_id,),
           "costs_through_connection": True}
    )  # fmt: skip


def _gcp_sandbox_endpoints(description: Mapping[str, Any]) -> dict[str, Any]:
    endpoint = description["gcp"]["endpoint"]
    return {
        "gcp_compute_endpoint": endpoint,
        "gcp_asset_endpoint": endpoint,
        "gcp_resource_manager_endpoint": endpoint,
        "gcp_storage_endpoint": endpoint,
        "gcp_bigquery_endpoint": endpoint,
        "gcp_token_uri": f"{endpoint}/token",
        "poll_seconds": SANDBOX_POLL_SECONDS,
    }


def _gcp_sandbox_config(description: Mapping[str, Any]) -> dict[str, Any]:
    gcp = description["gcp"]
    return {
        "client_email": gcp["key"]["client_email"],
        "key_id": gcp["key"]["private_key_id"],
        "project_ids": gcp["project_ids"],
        "billing_table": gcp.get("billing_table", ""),
    }


GCP = AccountProvider(
    key="gcp",
    price_source="inventory.price_sources.gcp",
    actions=VM_ACTIONS,
    price_sizes={
        ResourceType.VM: ("machine_type",),
        ResourceType.DISK: ("disk_type",),
        ResourceType.DATABASE: ("tier",),
    },
    # Compute Engine's write requests: a per-project quota of about 20 a second.
    action_rate=10.0,
    action_burst=20,
    # Every other call, per project named in the request (else the service account's own):
    # Compute Engine's read requests are a per-project quota of about 25 a second; Cloud
    # Asset's and Resource Manager's are lower, and their 429s are waited out.
    call_rate=10.0,
    call_burst=50,
    cleanups=CLEANUP_TYPES,
    label="GCP",
    article="a",
    scope="project",
    scopes="projects",
    name_hint="gcp-prod",
    summary="A service-account key and its projects.",
    colours=Colours(
        chart="#34a853", badge_background="#ffffff", badge_text="#1a73e8", badge_border="#1a73e8"
    ),
    adapter="mcloud.clouds.gcp.GcpAdapter",
    credentials=_gcp_credentials,
    covers=_gcp_covers,
    resource_costs="with the detailed billing export",
    terraform_sources=("hashicorp/google",),
    members="projects",
    member="project",
    member_credentials=_gcp_member_credentials,
    member_is_scope=True,
    sandbox=SandboxMapping(
        endpoints=_gcp_sandbox_endpoints,
        config=_gcp_sandbox_config,
        secrets=lambda d: {"service_account_key": json.dumps(d["gcp"]["key"])},
    ),
    form=GcpAccountForm,
    form_help_template="inventory/providers/gcp_form_help.html",
    connection_template="inventory/providers/gcp_connection.html",
)


def register_default_providers() -> None:
    """Called once, from InventoryConfig.ready()."""
    for provider in (AWS, AZURE, GCP):
        provider_register(provider)
