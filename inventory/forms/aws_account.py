"""The AWS credentials form: an IAM role to assume (recommended) or an access key, and the
regions to cover."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from inventory.forms.cloud_account import CloudAccountForm, secret_field
from inventory.regions import AWS_REGIONS

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")


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
    secret_access_key = secret_field("Secret access key", required=False)
    session_token = secret_field("Session token (optional)", required=False)
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

    # Shown only for the options they belong to (read by mcloud.forms.BootstrapBoundField).
    SHOW_IF = {
        "member_role_name": "discover_members=on",
        "role_arn": "auth_method=role",
        "access_key_id": "auth_method=keys",
        "secret_access_key": "auth_method=keys",
        "session_token": "auth_method=keys",
        "regions": "regions_mode=list",
    }

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "regions_mode": "list" if config.get("regions") else "all"}

    @classmethod
    def from_api(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Regions given (as a list) mean only those; none, every region."""
        return {"regions_mode": "list" if values.get("regions") else "all", **values}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
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
        config: dict[str, Any] = {
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
