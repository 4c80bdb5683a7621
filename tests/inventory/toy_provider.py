"""A fourth cloud, Toy Cloud, made only of what a provider brings: an adapter (speaking to an
in-memory cloud of its own, never to our code), a credentials form and a registry entry
with its words ("zone", "zones"). Tests register it with the same `provider_register` call
as the three real clouds, to show that nothing else needs to change for a new provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from inventory.forms.cloud_account import CloudAccountForm
from inventory.providers import AccountProvider
from mcloud.clouds.base import (
    CloudError,
    ConnectionResult,
    CostRecord,
    Endpoints,
    Listing,
    ResourceType,
    ScopeListing,
    Status,
    TagCostRecord,
)
from mcloud.clouds.records import record_or_skip
from mcloud.clouds.registry import Colours, StoredAccount


# --- the cloud itself, in memory ----------------------------------------------------------
class ToyRefused(Exception):
    """The toy API's answer to an unknown token."""


class ToyDown(Exception):
    """The toy API's answer when a zone cannot be listed."""


@dataclass
class ToyCloud:
    """Toy Cloud's API: who a token is, its zones, the machines of each, the bill."""

    tokens: dict[str, str] = field(default_factory=dict)  # token -> user name
    zones: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bill: list[dict[str, Any]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)  # zones whose listing fails
    calls: list[str] = field(default_factory=list)

    def call(self, token: str, operation: str, **arguments: Any) -> Any:
        self.calls.append(operation)
        if token not in self.tokens:
            raise ToyRefused("unknown token")
        if operation == "whoami":
            return self.tokens[token]
        if operation == "zones":
            return sorted(self.zones)
        if operation == "machines":
            if arguments["zone"] in self.down:
                raise ToyDown(f"zone {arguments['zone']} is down")
            return list(self.zones[arguments["zone"]])
        if operation == "bill":
            return list(self.bill)
        raise ValueError(operation)


CLOUD = ToyCloud()


# --- what the provider brings: credentials, adapter, form -------------------------------
@dataclass(frozen=True)
class ToyCredentials:
    token: str = field(repr=False)
    zones: tuple[str, ...]


class ToyAdapter:
    """Toy Cloud's adapter, following mcloud.clouds.base.CloudAdapter."""

    def __init__(self, credentials: ToyCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints

    def _api(self, operation: str, **arguments: Any) -> Any:
        try:
            return CLOUD.call(self.credentials.token, operation, **arguments)
        except ToyRefused:
            raise CloudError("Toy Cloud refused the API token", permanent=True) from None
        except ToyDown as down:
            raise CloudError(f"Toy Cloud failed: {down}") from None

    def test_connection(self) -> ConnectionResult:
        who = self._api("whoami")
        return ConnectionResult(f"Connected to Toy Cloud as {who}", identity=who)

    def scope_listing(self) -> ScopeListing:
        offered = set(self._api("zones"))
        chosen = self.credentials.zones
        return ScopeListing(
            [z for z in chosen if z in offered],
            gone={z: "no longer offered" for z in chosen if z not in offered},
        )

    def scopes(self) -> list[str]:
        return self.scope_listing().scopes

    def list_scope(self, scope: str) -> Listing:
        listing = Listing()
        for machine in self._api("machines", zone=scope):
            listing.add(
                record_or_skip(
                    kind="machine",
                    resource_id=machine.get("id"),
                    name=machine.get("name"),
                    type=ResourceType.VM,
                    region=scope,
                    status=Status.RUNNING if machine.get("up") else Status.STOPPED,
                    metadata={"size": machine.get("size")},
                )
            )
        return listing

    def costs(self, start: date, end: date) -> list[CostRecord]:
        return [
            CostRecord(date=line["day"], service=line["service"], amount=Decimal(line["usd"]),
                       currency="USD", region=line["zone"])
            for line in self._api("bill")
            if start <= line["day"] < end
        ]  # fmt: skip

    def tag_costs(self, start: date, end: date, keys: list[str]) -> list[TagCostRecord]:
        return [
            TagCostRecord(date=line["day"], key=key, value=line.get("tags", {}).get(key, ""),
                          amount=Decimal(line["usd"]), currency="USD")
            for line in self._api("bill")
            if start <= line["day"] < end
            for key in keys
        ]  # fmt: skip

    def terraform_env(self) -> dict[str, str]:
        return {"TOY_TOKEN": self.credentials.token}


class ToyAccountForm(CloudAccountForm):
    secret_fields = ("api_token",)

    api_token = forms.CharField(
        label="API token", widget=forms.PasswordInput(render_value=False), strip=True
    )
    zones = forms.CharField(label="Zones", help_text="Separated by commas.")

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"zones": ", ".join(config.get("zones", []))}

    def clean_zones(self) -> list[str]:
        zones = [z.strip() for z in self.cleaned_data["zones"].split(",") if z.strip()]
        if not zones:
            raise ValidationError("Name at least one zone.")
        return zones

    def config(self) -> dict[str, Any]:
        return {"zones": self.cleaned_data["zones"]}


def _credentials(stored: StoredAccount) -> ToyCredentials:
    return ToyCredentials(token=stored.secrets["api_token"], zones=tuple(stored.config["zones"]))


TOY = AccountProvider(
    key="toy",
    label="Toy Cloud",
    article="a",
    scope="zone",
    scopes="zones",
    name_hint="toy-prod",
    summary="An API token and the zones it may read.",
    colours=Colours(chart="#8a2be2", badge_background="#8a2be2", badge_text="#ffffff"),
    adapter="tests.inventory.toy_provider.ToyAdapter",
    credentials=_credentials,
    covers=lambda config: list(config.get("zones", [])),
    form=ToyAccountForm,
)
