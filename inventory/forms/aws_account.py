"""The AWS credentials form: an IAM role to assume (recommended) or an access key, the
regions to cover, and where the account's CUR 2.0 data export is (for cost history beyond
Cost Explorer's 14 days per resource)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from inventory.forms.cloud_account import CloudAccountForm, secret_field
from inventory.regions import AWS_REGIONS

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")
# S3's rules for a bucket name (general purpose buckets).
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# A key prefix of S3's safe characters, in folders; a Data Exports export name.
EXPORT_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()=-]+(/[A-Za-z0-9!_.*'()=-]+)*$")
EXPORT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


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

    export_bucket = forms.CharField(
        label="Data export bucket",
        required=False,
        max_length=63,
        help_text="For cost history beyond Cost Explorer's 14 days per resource: the S3 "
        "bucket a CUR 2.0 export (AWS Data Exports, Parquet) is delivered to. Leave blank "
        "to read Cost Explorer alone.",
    )
    export_prefix = forms.CharField(
        label="Export path prefix",
        required=False,
        max_length=512,
        help_text="The export's S3 path prefix, e.g. cur/payer (blank when it has none).",
    )
    export_name = forms.CharField(
        label="Export name",
        required=False,
        max_length=128,
        help_text="The export's name, as in Data Exports: its files are in "
        "<prefix>/<name>/data/BILLING_PERIOD=YYYY-MM/.",
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
        self._clean_export(data)
        return data

    def _clean_export(self, data: dict[str, Any]) -> None:
        """The export's place: a bucket and a name, or nothing; each as S3 and Data Exports
        would take it (a pasted s3:// or trailing slash is forgiven)."""
        bucket = data.get("export_bucket", "").strip().removeprefix("s3://").strip("/")
        prefix = data.get("export_prefix", "").strip().strip("/")
        name = data.get("export_name", "").strip().strip("/")
        data["export_bucket"], data["export_prefix"], data["export_name"] = bucket, prefix, name
        if not bucket:
            if prefix or name:
                self.add_error(
                    "export_bucket",
                    "Name the bucket the export is delivered to, or clear the export's fields.",
                )
            return
        if not BUCKET.match(bucket) or ".." in bucket or IP_ADDRESS.match(bucket):
            self.add_error(
                "export_bucket",
                "A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, "
                "starting and ending with a letter or digit (no s3:// or path).",
            )
        if prefix and (not EXPORT_PREFIX.match(prefix) or ".." in prefix.split("/")):
            self.add_error(
                "export_prefix",
                "Write the prefix as folders of letters, digits and ! _ . * ' ( ) = - "
                "characters, separated by /.",
            )
        if not name:
            self.add_error("export_name", "Enter the export's name, as in Data Exports.")
        elif not EXPORT_NAME.match(name):
            self.add_error(
                "export_name",
                "An export name is 1 to 128 letters, digits, hyphens and underscores.",
            )

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
        if d.get("export_bucket"):
            config |= {"export_bucket": d["export_bucket"], "export_prefix": d["export_prefix"],
                       "export_name": d["export_name"]}  # fmt: skip
        return config

    def secrets(self) -> dict[str, str]:
        if self.cleaned_data.get("auth_method") == "role":
            return {}  # a role needs no stored secret: drop any old key
        return super().secrets()
