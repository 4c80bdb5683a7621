from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings

from accounts.models import Membership, Theme
from accounts.roles import Role


class AuditFilterForm(forms.Form):
    """The audit log's filters; a refused value is named on the page and filters nothing."""

    actor = forms.CharField(required=False, max_length=254)
    type = forms.CharField(required=False, max_length=100)
    action = forms.CharField(required=False, max_length=100)
    since = forms.DateField(required=False, label="From")
    until = forms.DateField(required=False, label="To")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters, for audit_event_list()."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "actor": data.get("actor", ""),
            "target_type": data.get("type", ""),
            "action": data.get("action", ""),
            "since": data.get("since"),
            "until": data.get("until") if "until" not in self.errors else None,
        }


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(choices=Theme.choices)


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)


class MemberAddForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ConfirmNameForm(forms.Form):
    confirm_name = forms.CharField(label="Type the organization's name to confirm", max_length=100)


class TransferForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. the deploy pipeline.")
    organization = forms.TypedChoiceField(coerce=int, choices=[])
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.VIEWER,
        help_text="At most your own role in that organization.",
    )
    EXPIRIES = [(30, "in 30 days"), (90, "in 90 days"), (365, "in a year"), ("", "never")]
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        empty_value=None,
        required=False,
        initial=90,
        choices=EXPIRIES,
    )

    def __init__(self, *args: Any, memberships: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        longest = settings.API_TOKEN_MAX_DAYS
        if longest:  # only lifetimes within the instance's cap, and no "never"
            expires = cast(forms.TypedChoiceField, self.fields["expires_in_days"])
            days = [d for d, _ in self.EXPIRIES if isinstance(d, int) and d <= longest]
            days = days + ([longest] if longest not in days else [])
            expires.choices = [(d, f"in {d} days") for d in days]
            expires.required = True
            expires.initial = min(90, longest)
        cast(forms.TypedChoiceField, self.fields["organization"]).choices = [
            (m.organization_id, m.organization.name) for m in memberships
        ]
