"""The Azure credentials form: a service principal (tenant, client ID and secret) and the
subscriptions it reads."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from inventory.forms.cloud_account import CloudAccountForm, secret_field, split_list

TENANT_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", re.IGNORECASE)
# Azure's rule for a management group's ID: up to 90 letters, digits, -, _, (, ) and periods,
# not ending in a period.
MANAGEMENT_GROUP = re.compile(r"^[A-Za-z0-9_()\-.]{0,89}[A-Za-z0-9_()\-]$")


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class AzureAccountForm(CloudAccountForm):
    secret_fields = ("client_secret",)

    tenant_id = forms.CharField(
        label="Tenant (directory) ID",
        help_text="A GUID, or a domain such as contoso.onmicrosoft.com.",
    )
    client_id = forms.CharField(label="Client (application) ID")
    client_secret = secret_field("Client secret")
    subscriptions_mode = forms.ChoiceField(
        label="Subscriptions",
        choices=[
            ("list", "Only these subscriptions"),
            ("all", "Every subscription the application can see, new ones included"),
        ],
        widget=forms.RadioSelect,
        initial="list",
        required=False,  # a form posted without it names its subscriptions, as before
        help_text="Every subscription: each is found at every sync of this connection and "
        "checked and synced on its own; subscriptions the application no longer sees are "
        "retired.",
    )
    subscription_ids = forms.CharField(
        label="Subscription IDs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more, separated by new lines or commas.",
    )

    management_group = forms.CharField(
        label="Only under management group (optional)",
        required=False,
        max_length=90,
        help_text="A management group's ID (not its display name): only the subscriptions "
        "below it, at any depth, are discovered. The application needs Management Group "
        "Reader on it.",
    )

    SHOW_IF = {
        "subscription_ids": "subscriptions_mode=list",
        "management_group": "subscriptions_mode=all",
    }

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            **config,
            "subscriptions_mode": "all" if config.get("discover_members") else "list",
            "subscription_ids": "\n".join(config.get("subscription_ids", [])),
        }

    @classmethod
    def from_api(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Subscriptions given mean only those; none, every subscription it can see."""
        return {"subscriptions_mode": "list" if values.get("subscription_ids") else "all", **values}

    def clean_tenant_id(self) -> str:
        value = self.cleaned_data["tenant_id"].strip()
        if not (_is_guid(value) or TENANT_DOMAIN.match(value)):
            raise ValidationError("A tenant ID is a GUID or a domain name.")
        return value

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip()
        if not _is_guid(value):
            raise ValidationError(
                "A client ID is a GUID such as 00000000-0000-0000-0000-000000000000."
            )
        return value

    def clean_subscription_ids(self) -> list[str]:
        ids = split_list(self.cleaned_data["subscription_ids"])
        bad = [i for i in ids if not _is_guid(i)]
        if bad:
            raise ValidationError(f"Not a subscription ID: {', '.join(bad)}.")
        return list(dict.fromkeys(i.lower() for i in ids))

    def clean_management_group(self) -> str:
        value = self.cleaned_data["management_group"].strip()
        if value and not MANAGEMENT_GROUP.match(value):
            raise ValidationError(
                "A management group ID has letters, digits, -, _, (, ) and periods only "
                "(90 at most, not ending in a period)."
            )
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["subscriptions_mode"] = data.get("subscriptions_mode") or "list"
        named = data.get("subscription_ids") or "subscription_ids" in self.errors
        if data["subscriptions_mode"] == "list" and not named:
            self.add_error("subscription_ids", "Enter at least one subscription ID.")
        return data

    def config(self) -> dict[str, Any]:
        d = self.cleaned_data
        every = d["subscriptions_mode"] == "all"
        config: dict[str, Any] = {
            "tenant_id": d["tenant_id"],
            "client_id": d["client_id"],
            "subscription_ids": [] if every else d["subscription_ids"],
        }
        if every:
            config["discover_members"] = True
            if d.get("management_group"):
                config["management_group"] = d["management_group"]
        return config
