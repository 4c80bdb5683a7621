"""Forms of the notification pages. They check shapes only; the services check the rules
(an address is refused by `ChannelKind.target_from`, as it will be when called)."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.notifications.channels import ChannelKind
from accounts.notifications.events import Event

ADDRESS_KEPT = "An address is stored (it is never shown again). Leave this blank to keep it."


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the team calls it, e.g. #ops.")
    address = forms.CharField(max_length=2000)
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Events it receives",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Turned on")

    def __init__(self, *args: Any, kind: ChannelKind, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        address = self.fields["address"]
        address.label, address.help_text = kind.address_label, kind.address_help
        if kind.secret_address:  # a form shown again with errors never sends the URL back
            address.widget = forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
            )
        if editing:
            address.required = False
            address.help_text = ADDRESS_KEPT


class PreferencesForm(forms.Form):
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="E-mail me when",
    )
