"""Cloud account forms: the fields and rules every provider shares. Each provider's registry
entry (inventory/providers.py) names its form, a subclass in this package, and makes it with
`AccountProvider.account_form`.

Secret fields are write-only: they never render a value, and left blank on an edit they keep
what is stored. Each form turns its input into `config` (shown) and `secrets` (encrypted).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from inventory.forms.kept_keys import KeptKeys
from inventory.models import CloudAccount, default_sync_interval
from mcloud.clouds.registry import CloudProvider

SECRET_KEPT = "A value is stored. Leave this blank to keep it."


class SecretTextarea(forms.Textarea):
    """A textarea that, like PasswordInput(render_value=False), never renders its value: a form
    shown again with errors must not send a pasted key back."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        return super().get_context(name, None, attrs)


def secret_field(label: str, *, required: bool = True, textarea: bool = False) -> forms.Field:
    """A write-only field for a secret: a password input, or a textarea that never renders."""
    widget = (
        SecretTextarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"})
        if textarea
        else forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
    )
    return forms.CharField(label=label, required=required, strip=True, widget=widget)


def split_list(text: str) -> list[str]:
    """The items of a list typed one a line, or separated by commas, semicolons or spaces."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


class CloudAccountForm(forms.Form):
    """Fields every provider shares; subclasses add theirs and map them."""

    secret_fields: tuple[str, ...] = ()

    name = forms.CharField(max_length=100)
    enabled = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Disabled accounts are neither checked nor synced.",
    )

    sync_interval_minutes = forms.IntegerField(
        label="Sync every (minutes)",
        min_value=5,
        max_value=24 * 60,
        required=False,
        help_text="How often mcloud refreshes this account's inventory.",
    )

    def __init__(
        self,
        *args: Any,
        provider: CloudProvider,
        account: CloudAccount | None = None,
        organization: Any = None,
        kept_keys: KeptKeys | None = None,
        **kwargs: Any,
    ) -> None:
        self.provider = provider
        self.account = account
        self.organization = organization
        self.kept_keys = kept_keys
        if account is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": account.name,
                    "enabled": account.enabled,
                    "sync_interval_minutes": account.sync_interval_minutes,
                    **self.initial_from(account.config),
                },
            )
        super().__init__(*args, **kwargs)
        hint = provider.name_hint
        self.fields["name"].help_text = f"How this account is shown, e.g. {hint}."
        self.fields["sync_interval_minutes"].initial = default_sync_interval()
        for shared in ("sync_interval_minutes", "enabled"):  # after the provider's own fields
            self.fields[shared] = self.fields.pop(shared)
        for name in self.secret_fields:
            if account is not None and account.secrets.get(name):
                self.fields[name].required = False
                self.fields[name].help_text = SECRET_KEPT

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return dict(config)

    @classmethod
    def from_api(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The API's settings as this form's fields take them (the API posts what the page
        would, so the same rules apply)."""
        return values

    def clean_sync_interval_minutes(self) -> int:
        value = self.cleaned_data.get("sync_interval_minutes")
        if value:
            return value
        return self.account.sync_interval_minutes if self.account else default_sync_interval()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = CloudAccount.objects.filter(organization=self.organization, name__iexact=name)
        if self.account is not None:
            others = others.exclude(pk=self.account.pk)
        if others.exists():
            raise ValidationError("Another cloud account of this organization has this name.")
        return name

    def secrets(self) -> dict[str, str]:
        """The stored secrets with the ones typed in replacing them."""
        stored = dict(self.account.secrets) if self.account is not None else {}
        typed = {k: self.cleaned_data[k] for k in self.secret_fields if self.cleaned_data.get(k)}
        return {**stored, **typed}

    def config(self) -> dict[str, Any]:
        """What the account stores that may be shown: each provider's form says (an abstract
        hook, as before the split; every registered form overrides it)."""
        raise NotImplementedError

    def forget_kept_key(self) -> None:
        """Drop what this form kept server-side (only the GCP form keeps a pasted key)."""

    def account_values(self) -> dict[str, Any]:
        """What the create and update services take from a valid form."""
        return {
            "name": self.cleaned_data["name"],
            "enabled": self.cleaned_data["enabled"],
            "config": self.config(),
            "secrets": self.secrets(),
            "sync_interval_minutes": self.cleaned_data["sync_interval_minutes"],
        }
