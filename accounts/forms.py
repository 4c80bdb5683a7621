from __future__ import annotations

from django import forms

from accounts.roles import Role


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
