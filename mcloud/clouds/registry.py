"""The provider registry: one entry per cloud, holding everything provider-specific that the
apps need, so that no other code asks which provider an account is.

- An entry is added once, by `provider_register`, the only way in: the inventory app adds
  the three real clouds (inventory/providers.py) when it is ready, and a test's fourth
  provider goes in the same way. Entries keep the order they were registered in.
- A key nobody registered raises `UnknownProvider`, everywhere: nothing falls through to a
  default provider.
- The adapter class is named by its dotted path and imported when first used (boto3 and the
  Azure and Google SDKs are slow to import).
- This module imports no app; an app adds its own parts (forms, templates) by registering a
  subclass of `CloudProvider`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from mcloud.clouds.base import CloudAdapter, CloudError

_KEY = re.compile(r"^[a-z][a-z0-9]{1,9}$")  # fits the 10-character columns and CSS classes
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class UnknownProvider(CloudError, LookupError):
    """A provider key that no entry has: a typo, or a provider this install does not have.

    A CloudError too (permanent): a connection test, sync or cost import of such an account
    fails with this message rather than an unexpected error."""

    def __init__(self, key: object) -> None:
        known = ", ".join(_PROVIDERS) or "none"
        super().__init__(
            f"Unknown cloud provider {key!r} (registered: {known}).",
            permanent=True,
            code="UnknownProvider",
        )
        self.key = key


@dataclass(frozen=True)
class Colours:
    """How a provider looks: `chart` on the dashboard's bars and the billing chart alike,
    the rest on its badge. Each a #rrggbb colour."""

    chart: str
    badge_background: str
    badge_text: str
    badge_border: str = ""


@dataclass(frozen=True)
class StoredAccount:
    """What a cloud account stores, as a provider's credentials mapping reads it."""

    config: Mapping[str, Any]
    secrets: Mapping[str, str]
    # The organization's external ID (which an AWS role's trust policy names), made on the
    # first call: providers that do not use it never create one.
    external_id: Callable[[], str]


@dataclass(frozen=True)
class SandboxMapping:
    """How a sandbox account of the provider reads the emulators' description (their
    `sandbox.json`): the endpoint overrides (`Endpoints` fields), the config it shows and
    the secrets it uses, never stored."""

    endpoints: Callable[[Mapping[str, Any]], dict[str, Any]]
    config: Callable[[Mapping[str, Any]], dict[str, Any]]
    secrets: Callable[[Mapping[str, Any]], dict[str, str]]


@dataclass(frozen=True, kw_only=True)
class CloudProvider:
    """Everything about one cloud that is not its adapter's own business."""

    key: str  # stored in the database: never change it once accounts use it
    label: str  # "AWS"
    article: str  # "an": "an AWS account"
    scope: str  # what one sync scope is called: "region"
    scopes: str  # and many: "regions"
    name_hint: str  # the example in the account form's name field: "aws-prod"
    summary: str  # one line on how mcloud signs in, where a provider is chosen
    colours: Colours
    adapter: str  # dotted path of a class that follows CloudAdapter
    # The account's stored config and secrets as the adapter's credentials dataclass.
    credentials: Callable[[StoredAccount], Any]
    # What the account covers, in words, from its config: ["eu-west-1"], ["all regions"].
    covers: Callable[[Mapping[str, Any]], list[str]]
    # Scopes a sync lists beside the counted ones (AWS's global S3 listing is no region).
    uncounted_scopes: tuple[str, ...] = ()
    # Whether imported costs name resources: "yes", "no" or a short condition.
    resource_costs: str = "no"
    # Terraform provider sources ("hashicorp/aws") whose blueprints need this cloud.
    terraform_sources: tuple[str, ...] = ()
    sandbox: SandboxMapping | None = None  # None: the sandbox has no account of it
    # What the accounts a connection discovers in its organization are called ("member
    # accounts"), and the credentials of one of them (`member_id`) from the connection's
    # stored account; empty and None: the provider discovers nothing.
    members: str = ""
    member: str = ""  # and one of them: "member account"
    member_credentials: Callable[[StoredAccount, str], Any] | None = None
    # Whether a member account is one scope of the provider's (an Azure subscription, a GCP
    # project), covering itself, rather than covering its connection's scopes (AWS regions).
    member_is_scope: bool = False

    def member_covers(self, connection_config: Mapping[str, Any], member_id: str) -> list[str]:
        """What a member account covers, in words."""
        return [member_id] if self.member_is_scope else self.covers(connection_config)

    # The VM actions (`mcloud.clouds.base.VM_ACTIONS`) its adapter performs (`VmActions`);
    # empty: resources of this provider are only looked at.
    actions: tuple[str, ...] = ()
    # For each resource type it prices, the metadata keys that name the size the price
    # catalog knows it by (a machine type, a disk class, a database class), first given wins:
    # {ResourceType.VM: ("instance_type",)}. A type without one is priced by its kind alone.
    price_sizes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # How fast mcloud sends those actions, shared by every worker and host
    # (`inventory.rate_limit`): calls a second, and how many may go at once after a pause.
    # The ACTION_RATE_LIMITS setting overrides them per install.
    action_rate: float = 5.0
    action_burst: int = 10
    # How fast mcloud calls the provider's API otherwise (syncs, discovery, cost imports,
    # connection tests), shared by every worker and host (`inventory.cloud_limits`): calls
    # a second and the bucket's size, per rate-limit domain that the adapter names (its
    # `Endpoints.throttle` docstring says which). CLOUD_RATE_LIMITS overrides them.
    call_rate: float = 10.0
    call_burst: int = 50
    # The resource types (`mcloud.clouds.base.CLEANUP_OF`) its adapter removes
    # (`ResourceCleanups`); empty: waste is only shown.
    cleanups: tuple[str, ...] = ()

    def adapter_class(self) -> type[CloudAdapter]:
        module, _, name = self.adapter.rpartition(".")
        return cast("type[CloudAdapter]", getattr(importlib.import_module(module), name))

    def scope_word(self, count: int | None) -> str:
        """The word for `count` scopes: "region" for one, "regions" otherwise."""
        return self.scope if count == 1 else self.scopes

    def counted_scopes(self, scopes: list[str]) -> list[str]:
        """The scopes that progress counts in the provider's word ("3 of 3 regions")."""
        return [scope for scope in scopes if scope not in self.uncounted_scopes]


_PROVIDERS: dict[str, CloudProvider] = {}


def provider_register(provider: CloudProvider) -> None:
    """Add a provider. Its key and colours are checked (they end up in columns and CSS);
    a key registered already is refused rather than silently replaced."""
    if not _KEY.match(provider.key):
        raise ValueError(
            f"A provider key is 2 to 10 lower-case letters and digits: {provider.key!r}."
        )
    if provider.key in _PROVIDERS:
        raise ValueError(f"The cloud provider {provider.key!r} is registered already.")
    colours = [c for c in vars(provider.colours).values() if c]
    if not all(_COLOUR.match(c) for c in colours):
        raise ValueError(f"Colours of {provider.key!r} must be #rrggbb: {colours}.")
    _PROVIDERS[provider.key] = provider


def provider_get(key: str) -> CloudProvider:
    """The entry of `key`; UnknownProvider when there is none."""
    try:
        return _PROVIDERS[key]
    except (KeyError, TypeError):
        raise UnknownProvider(key) from None


def provider_list() -> list[CloudProvider]:
    return list(_PROVIDERS.values())


def provider_choices(blank: str = "") -> list[tuple[str, str]]:
    """(key, label) of every provider, after ("", blank) when `blank` is given: the choices
    of every provider column and filter. Given as the callable, so that a provider
    registered later is a valid choice without a migration."""
    return [*([("", blank)] if blank else []), *((p.key, p.label) for p in _PROVIDERS.values())]


def provider_for_terraform_source(source: str) -> CloudProvider | None:
    """The provider whose Terraform provider `source` is ("hashicorp/aws"), if any."""
    source = source.lower()
    return next((p for p in _PROVIDERS.values() if source in p.terraform_sources), None)


def adapter_class(provider: str) -> type[CloudAdapter]:
    return provider_get(provider).adapter_class()
