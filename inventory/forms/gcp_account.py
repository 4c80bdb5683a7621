"""The GCP credentials form: a service-account key (pasted or uploaded, checked before it is
stored), the projects to read and the billing export table.

A key pasted into a form refused for another reason is kept server-side (`KeptKeys`) so it
need not be pasted again and is never sent back to the browser.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict

from inventory.forms.cloud_account import CloudAccountForm, secret_field, split_list
from mcloud.clouds.base import GOOGLE_TOKEN_URI, GOOGLE_UNIVERSE

PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
PROJECT_PARENT = re.compile(r"^(organizations|folders)/\d{1,32}$")
BILLING_TABLE = re.compile(
    r"^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_-]{1,1024}$"
)


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

    service_account_key = secret_field("Service-account key (JSON)", required=False, textarea=True)
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
    project_parent = forms.CharField(
        label="…or every project under",
        required=False,
        max_length=64,
        help_text="An organization or folder (organizations/123 or folders/456): every "
        "project the service account can see in it and its folders is found at each sync, "
        "new ones included, and checked and synced on its own; projects that go are retired. "
        "Leave the project IDs blank to use it.",
    )

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "project_ids": "\n".join(config.get("project_ids", [])),
            "billing_table": config.get("billing_table", ""),
            "project_parent": config.get("project_parent", ""),
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
        super().clean()
        data = self.cleaned_data
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
                    # The page's QueryDict, or the API's dict: the form shown again carries
                    # the reference in its hidden field.
                    posted = (
                        self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
                    )
                    posted["key_ref"] = self.key_kept
                    self.data = posted
        elif self.account is not None and self.account.secrets.get("service_account_key"):
            self._key = json.loads(self.account.secrets["service_account_key"])
        else:
            self.add_error("service_account_key", "Paste or upload the service-account key.")
            return data
        ids = split_list(data.get("project_ids", ""))
        bad = [i for i in ids if not PROJECT_ID.match(i)]
        if bad:
            self.add_error("project_ids", f"Not a project ID: {', '.join(bad)}.")
        parent = (data.get("project_parent") or "").strip()
        if parent and not PROJECT_PARENT.match(parent):
            self.add_error("project_parent", "Write organizations/123 or folders/456.")
        elif parent and ids:
            self.add_error(
                "project_parent",
                "Name the projects or an organization or folder to find them in, not both.",
            )
        data["project_parent"] = parent
        # Discovering: no project of its own; else the named ones, or the key's own.
        default = [] if parent else [self._key["project_id"]]
        data["project_ids"] = list(dict.fromkeys(ids)) or default
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
        } | (
            {"project_parent": parent, "discover_members": True}
            if (parent := self.cleaned_data.get("project_parent"))
            else {}
        )

    def secrets(self) -> dict[str, str]:
        return {"service_account_key": json.dumps(self._key)}
