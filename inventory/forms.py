"""Cloud account forms, one per provider (each provider's registry entry names its form, in
inventory/providers.py, and makes it with `AccountProvider.account_form`).

Secret fields are write-only: they never render a value, and left blank on an edit they keep
what is stored. Each form turns its input into `config` (shown) and `secrets` (encrypted).
"""

from __future__ import annotations

import json
import re
import secrets as random_tokens
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from inventory.models import CloudAccount, default_sync_interval
from inventory.regions import AWS_REGIONS
from mcloud.clouds.base import GOOGLE_TOKEN_URI, GOOGLE_UNIVERSE
from mcloud.clouds.registry import CloudProvider
from mcloud.crypto import DecryptionError, decrypt, encrypt

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BILLING_TABLE = re.compile(
    r"^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_-]{1,1024}$"
)
TENANT_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", re.IGNORECASE)
SECRET_KEPT = "A value is stored. Leave this blank to keep it."


class SecretTextarea(forms.Textarea):
    """A textarea that, like PasswordInput(render_value=False), never renders its value: a form
    shown again with errors must not send a pasted key back."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        return super().get_context(name, None, attrs)


def _secret_field(label: str, *, required: bool = True, textarea: bool = False) -> forms.Field:
    widget = (
        SecretTextarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"})
        if textarea
        else forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
    )
    return forms.CharField(label=label, required=required, strip=True, widget=widget)


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


class KeptKeys:
    """Keys pasted into a form that was refused for another reason (a bad table name, a name
    in use): kept encrypted in the user's session under a random reference that the form
    carries in a hidden field, so the key need not be pasted again and is never sent back
    to the browser. A reference lives an hour, and only in the session that made it."""

    SESSION_KEY = "inventory.kept_keys"
    LIFETIME = 3600

    def __init__(self, session: MutableMapping[str, Any]) -> None:
        self.session = session

    def _entries(self) -> dict[str, dict[str, Any]]:
        now = time.time()
        entries = self.session.get(self.SESSION_KEY) or {}
        return {r: e for r, e in entries.items() if now - e.get("at", 0) < self.LIFETIME}

    def put(self, text: str, ref: str = "") -> str:
        entries = self._entries()
        ref = ref if ref in entries else random_tokens.token_urlsafe(16)
        entries[ref] = {"key": encrypt(text), "at": time.time()}
        self.session[self.SESSION_KEY] = entries
        return ref

    def get(self, ref: str) -> str:
        entry = self._entries().get(ref) if ref else None
        if entry is None:
            return ""
        try:
            return decrypt(entry["key"])
        except DecryptionError:
            return ""

    def drop(self, ref: str) -> None:
        entries = self._entries()
        if entries.pop(ref, None) is not None or self.SESSION_KEY in self.session:
            self.session[self.SESSION_KEY] = entries


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


class AwsAccountForm(CloudAccountForm):
    secret_fields = ("secret_access_key", "session_token")

    auth_method = forms.ChoiceField(
        label="How mcloud signs in",
        choices=[("role", "Assume an IAM role (recommended)"), ("keys", "An access key")],
        widget=forms.RadioSelect,
        initial="role",
    )
    role_arn = forms.CharField(
        label="Role ARN",
        required=False,
        help_text="e.g. arn:aws:iam::123456789012:role/mcloud-reader",
    )
    access_key_id = forms.CharField(label="Access key ID", required=False)
    secret_access_key = _secret_field("Secret access key", required=False)
    session_token = _secret_field("Session token (optional)", required=False)
    regions_mode = forms.ChoiceField(
        label="Regions",
        choices=[("all", "Every region enabled for the account"), ("list", "Only these regions")],
        widget=forms.RadioSelect,
        initial="all",
    )
    regions = forms.MultipleChoiceField(
        choices=[(r, r) for r in AWS_REGIONS], required=False, widget=forms.CheckboxSelectMultiple
    )
    discover_members = forms.BooleanField(
        label="Discover the organization's member accounts",
        required=False,
        help_text="For the management account of an AWS organization (or its delegated "
        "administrator): every member account is found, then checked and synced through the "
        "reader role below, with this organization's external ID.",
    )
    member_role_name = forms.CharField(
        label="Reader role in each member account",
        required=False,
        initial="mcloud-reader",
        max_length=64,
    )

    # Shown only for the options they belong to (see data-show-if in static/js/mcloud.js).
    SHOW_IF = {
        "member_role_name": "discover_members=on",
        "role_arn": "auth_method=role",
        "access_key_id": "auth_method=keys",
        "secret_access_key": "auth_method=keys",
        "session_token": "auth_method=keys",
        "regions": "regions_mode=list",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, condition in self.SHOW_IF.items():
            self.fields[name].show_if = condition

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "regions_mode": "list" if config.get("regions") else "all"}

    @classmethod
    def from_api(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Regions given (as a list) mean only those; none, every region."""
        return {"regions_mode": "list" if values.get("regions") else "all", **values}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("auth_method") == "role":
            if not ROLE_ARN.match(data.get("role_arn", "")):
                self.add_error(
                    "role_arn",
                    "Enter a role ARN such as arn:aws:iam::123456789012:role/mcloud-reader.",
                )
        elif data.get("auth_method") == "keys":
            if not ACCESS_KEY_ID.match(data.get("access_key_id", "")):
                self.add_error(
                    "access_key_id",
                    "An access key ID starts with AKIA or ASIA followed by letters and digits.",
                )
            if not self.secrets().get("secret_access_key"):
                self.add_error("secret_access_key", "Enter the secret access key.")
        if data.get("regions_mode") == "list" and not data.get("regions"):
            self.add_error("regions", "Choose at least one region, or cover every region.")
        if data.get("discover_members") and not ROLE_NAME.match(data.get("member_role_name", "")):
            self.add_error(
                "member_role_name",
                "A role name is 1 to 64 letters, digits and + = , . @ _ - characters.",
            )
        return data

    def config(self) -> dict[str, Any]:
        d = self.cleaned_data
        by_role = d["auth_method"] == "role"
        config = {
            "auth_method": d["auth_method"],
            "role_arn": d["role_arn"] if by_role else "",
            "access_key_id": "" if by_role else d["access_key_id"],
            "regions": sorted(d["regions"]) if d["regions_mode"] == "list" else [],
        }
        if d.get("discover_members"):
            config |= {"discover_members": True, "member_role_name": d["member_role_name"]}
        return config

    def secrets(self) -> dict[str, str]:
        if self.cleaned_data.get("auth_method") == "role":
            return {}  # a role needs no stored secret: drop any old key
        return super().secrets()


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
    client_secret = _secret_field("Client secret")
    subscription_ids = forms.CharField(
        label="Subscription IDs",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more, separated by new lines or commas.",
    )

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "subscription_ids": "\n".join(config.get("subscription_ids", []))}

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
        ids = _split(self.cleaned_data["subscription_ids"])
        bad = [i for i in ids if not _is_guid(i)]
        if bad:
            raise ValidationError(f"Not a subscription ID: {', '.join(bad)}.")
        if not ids:
            raise ValidationError("Enter at least one subscription ID.")
        return list(dict.fromkeys(i.lower() for i in ids))

    def config(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "tenant_id": d["tenant_id"],
            "client_id": d["client_id"],
            "subscription_ids": d["subscription_ids"],
        }


KEY_FIELDS = ("type", "project_id", "private_key_id", "private_key", "client_email", "token_uri")


def parse_service_account_key(text: str) -> dict[str, Any]:
    """The key as a dict, or a ValidationError that says what is wrong with it."""
    try:
        key = json.loads(text)
    except ValueError:
        raise ValidationError(
            "This is not JSON. Paste the whole key file that Google "
            "created for the service account."
        ) from None
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise ValidationError(
            'This is not a service-account key: its "type" must be "service_account".'
        )
    missing = [f for f in KEY_FIELDS if not key.get(f)]
    if missing:
        raise ValidationError(f"The key lacks {', '.join(missing)}.")
    # mcloud sends the key's signed tokens to Google's token endpoint only, never to one the
    # key names: refuse keys that name another, so nobody is misled about where it goes.
    token_uri = settings.GCP_TOKEN_URI or GOOGLE_TOKEN_URI
    if key["token_uri"] != token_uri:
        raise ValidationError(
            f"The key's token_uri is not Google's ({token_uri}): mcloud accepts keys of "
            "Google Cloud's own service accounts only."
        )
    if key.get("universe_domain", GOOGLE_UNIVERSE) != GOOGLE_UNIVERSE:
        raise ValidationError(
            f"The key's universe_domain is not {GOOGLE_UNIVERSE}: mcloud connects to Google "
            "Cloud's public universe only."
        )
    try:
        load_pem_private_key(key["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise ValidationError("The key's private_key is not a valid PEM private key.") from None
    return key


class GcpAccountForm(CloudAccountForm):
    secret_fields = ("service_account_key",)

    service_account_key = _secret_field("Service-account key (JSON)", required=False, textarea=True)
    key_file = forms.FileField(label="…or upload the key file", required=False)
    key_ref = forms.CharField(required=False, widget=forms.HiddenInput)
    key_kept = ""  # the reference of the key kept for this form, once one parsed
    billing_table = forms.CharField(
        label="Billing export table",
        required=False,
        max_length=300,
        help_text="Where Cloud Billing exports costs to BigQuery, as project.dataset.table "
        "(standard or detailed export). Leave blank to skip costs.",
    )
    project_ids = forms.CharField(
        label="Project IDs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or more; the key's own project when left blank.",
    )

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "project_ids": "\n".join(config.get("project_ids", [])),
            "billing_table": config.get("billing_table", ""),
        }

    @classmethod
    def from_api(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The key may come as the JSON object itself."""
        key = values.get("service_account_key")
        if isinstance(key, dict):
            return {**values, "service_account_key": json.dumps(key)}
        return values

    def clean_key_file(self) -> str:
        upload = self.cleaned_data.get("key_file")
        if not upload:
            return ""
        if upload.size > 64 * 1024:
            raise ValidationError("A service-account key is a small JSON file; this is too big.")
        try:
            return upload.read().decode()
        except UnicodeDecodeError:
            raise ValidationError("The uploaded file is not a JSON key.") from None

    def clean_billing_table(self) -> str:
        value = self.cleaned_data["billing_table"].strip().strip("`")
        if value and not BILLING_TABLE.match(value):
            raise ValidationError("Write the table as project.dataset.table.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text = data.get("key_file") or data.get("service_account_key") or ""
        kept = ""
        if not text and self.kept_keys is not None:
            kept = text = self.kept_keys.get(data.get("key_ref", ""))
        if text:
            try:
                self._key = parse_service_account_key(text)
            except ValidationError as error:
                field = "key_file" if data.get("key_file") else "service_account_key"
                self.add_error(field, error)
                return data
            if self.kept_keys is not None:  # in case another field is refused
                self.key_kept = self.kept_keys.put(text, data.get("key_ref", ""))
                if not kept:
                    self.data = self.data.copy()
                    self.data["key_ref"] = self.key_kept
        elif self.account is not None and self.account.secrets.get("service_account_key"):
            self._key = json.loads(self.account.secrets["service_account_key"])
        else:
            self.add_error("service_account_key", "Paste or upload the service-account key.")
            return data
        ids = _split(data.get("project_ids", ""))
        bad = [i for i in ids if not PROJECT_ID.match(i)]
        if bad:
            self.add_error("project_ids", f"Not a project ID: {', '.join(bad)}.")
        data["project_ids"] = list(dict.fromkeys(ids)) or [self._key["project_id"]]
        return data

    @property
    def kept_key_note(self) -> str:
        """Said beside the key field when a pasted key waits server-side for this form."""
        if self.is_bound and self.key_kept and self.errors:
            return (
                "The key you pasted is kept for this form (it is not sent back to your "
                "browser): leave the field blank to use it, or paste another."
            )
        return ""

    def forget_kept_key(self) -> None:
        if self.kept_keys is not None and self.key_kept:
            self.kept_keys.drop(self.key_kept)

    def config(self) -> dict[str, Any]:
        return {
            "client_email": self._key["client_email"],
            "key_id": self._key["private_key_id"],
            "project_ids": self.cleaned_data["project_ids"],
            "billing_table": self.cleaned_data.get("billing_table", ""),
        }

    def secrets(self) -> dict[str, str]:
        return {"service_account_key": json.dumps(self._key)}
