"""Forms: blueprint uploads, the variables form generated from a blueprint version, settings.

Sensitive variables are write-only: a password input that never renders a value, and left
blank on an edit it keeps the stored value.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Organization
from inventory.models import CloudAccount
from provisioning.blueprint_files import BlueprintError, MiB, files_from_texts, files_from_zip
from provisioning.models import (
    DRIFT_CHECK_INTERVALS,
    Blueprint,
    BlueprintVersion,
    Deployment,
    Enforcement,
    PolicySet,
    deployment_name_validator,
)
from provisioning.selectors import blueprint_list
from provisioning.services.deployments import values_check
from provisioning.services.policy_sets import DEFAULT_SET
from provisioning.variables import Variable

SECRET_KEPT = "A value is stored. Leave this blank to keep it."
PASTED = ("main.tf", "variables.tf", "outputs.tf")


def _pasted_field(name: str) -> str:
    return "paste_" + name.replace(".", "_")


class BlueprintFilesForm(forms.Form):
    """A zip archive, or the text of up to three .tf files. `files` holds the checked result."""

    archive = forms.FileField(
        label="Zip archive",
        required=False,
        help_text="A Terraform root module: .tf, .tf.json, .md and template files, 5 MiB at most.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in PASTED:
            self.fields[_pasted_field(name)] = forms.CharField(
                label=f"or paste {name}",
                required=False,
                strip=False,
                widget=forms.Textarea(
                    attrs={"rows": 6, "spellcheck": "false", "class": "text-mono"}
                ),
            )
        self.files_found: dict[str, str] = {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        archive = data.get("archive")
        pasted = {n: data.get(_pasted_field(n)) or "" for n in PASTED}
        pasted = {n: text for n, text in pasted.items() if text.strip()}
        if archive and pasted:
            raise ValidationError("Upload a zip archive or paste files, not both.")
        if not archive and not pasted:
            raise ValidationError("Upload a zip archive or paste at least main.tf.")
        try:
            if archive:
                if archive.size > 5 * MiB:
                    raise BlueprintError("The archive is larger than 5 MiB.")
                self.files_found = files_from_zip(archive.read())
            else:
                self.files_found = files_from_texts(pasted)
        except BlueprintError as error:
            raise ValidationError(str(error)) from None
        return data


class BlueprintCreateForm(BlueprintFilesForm):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)

    field_order = ["name", "description", "archive"]


class ProvisioningSettingsForm(forms.Form):
    require_second_approver = forms.BooleanField(
        required=False,
        label="Require a second person to approve plans",
        help_text="Whoever approves and applies a plan must not be who made it.",
    )

    drift_check_hours = forms.TypedChoiceField(
        choices=DRIFT_CHECK_INTERVALS,
        coerce=int,
        required=False,  # left out: unchanged
        empty_value=None,
        initial=0,
        label="Check applied deployments for drift",
        help_text="A refresh-only plan per deployment: it changes nothing, and shows what was "
        "changed outside Terraform.",
    )

    def __init__(self, *args: Any, locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if locked:  # on, and the viewer is not an owner: only owners turn it off
            field = self.fields["require_second_approver"]
            field.disabled = True
            field.help_text += " Only an owner can turn this off."


def _variable_field(var: Variable, stored: bool) -> forms.Field:
    help_parts = [var.description] if var.description else []
    help_parts.append(f"Type: {var.type}.")
    kind = var.type.split("(")[0].strip()
    required = var.required and not stored
    if var.sensitive:
        widget: forms.Widget = forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password"}
        )
        if stored:
            help_parts.append(SECRET_KEPT)
        return forms.CharField(
            label=var.name, required=required, strip=False, widget=widget,
            help_text=" ".join(help_parts),
        )  # fmt: skip
    if kind == "bool":
        # true / false as two radios; an optional one without a default may stay unset.
        choices = [("true", "true"), ("false", "false")]
        if not var.required and var.default is None:
            choices.append(("", "not set"))
        return forms.ChoiceField(
            label=var.name, required=required, choices=choices, widget=forms.RadioSelect,
            help_text=" ".join(help_parts),
        )  # fmt: skip
    if kind in ("list", "set", "map", "object", "tuple", "any"):
        help_parts.append("As JSON.")
        widget = forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "text-mono"})
    elif kind == "number":
        widget = forms.NumberInput(attrs={"step": "any"})
    else:
        widget = forms.TextInput(attrs={"spellcheck": "false"})
    return forms.CharField(
        label=var.name, required=required, strip=False, widget=widget,
        help_text=" ".join(help_parts),
    )  # fmt: skip


def variable_as_text(value: Any, var: Variable) -> str:
    """A variable's value as its form field holds it (JSON for collections)."""
    if value is None:
        return ""
    kind = var.type.split("(")[0].strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and kind in ("string", "number", "bool"):
        return value
    if kind in ("string", "number") and isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


class DeploymentForm(forms.Form):
    """Name, cloud account and one field per variable of `version` (prefixed `var_`)."""

    name = forms.CharField(
        max_length=63,
        validators=[deployment_name_validator],
        help_text="Unique in the organization; you type it to confirm a destroy.",
    )
    account = forms.ModelChoiceField(
        queryset=CloudAccount.objects.none(),
        required=False,
        empty_label="No cloud account",
        label="Cloud account",
    )

    def __init__(
        self,
        *args: Any,
        version: BlueprintVersion,
        organization: Any,
        deployment: Deployment | None = None,
        **kwargs: Any,
    ) -> None:
        self.version, self.organization, self.deployment = version, organization, deployment
        initial: dict[str, Any] = {}
        stored: dict[str, Any] = {}
        if deployment is not None:
            initial["account"] = deployment.account_id
            stored = {**deployment.variables, **deployment.sensitive_variables}
        self.variables = version.user_variables()
        for var in self.variables:
            value = stored.get(var.name, var.default) if deployment else var.default
            if not var.sensitive:
                initial[f"var_{var.name}"] = variable_as_text(value, var)
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.stored = stored
        accounts = CloudAccount.objects.filter(organization=organization)
        account = cast("forms.ModelChoiceField[CloudAccount]", self.fields["account"])
        if version.cloud:
            accounts = accounts.filter(provider=version.cloud)
            account.required = True
            account.empty_label = None
            account.help_text = f"This blueprint deploys to {version.get_cloud_display()}."
        else:
            account.help_text = "This blueprint needs no cloud account."
        account.queryset = accounts
        if deployment is not None:
            del self.fields["name"]
        for var in self.variables:
            stored_secret = var.sensitive and bool(self.stored.get(var.name))
            self.fields[f"var_{var.name}"] = _variable_field(var, stored_secret)
        self.values: dict[str, Any] = {}

    def variable_fields(self) -> list[forms.BoundField]:
        return [self[f"var_{v.name}"] for v in self.variables]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if Deployment.objects.filter(organization=self.organization, name__iexact=name).exists():
            raise ValidationError("This organization already has a deployment with this name.")
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        raw: dict[str, Any] = {}
        for var in self.variables:
            value = data.get(f"var_{var.name}")
            if var.sensitive and not value and self.stored.get(var.name) is not None:
                value = self.stored[var.name]  # blank keeps the stored value
            if value is not None:
                raw[var.name] = value
        self.values, errors = values_check(self.version, raw)
        for name, error in errors.items():
            field = f"var_{name}"
            self.add_error(field if field in self.fields else None, f"{name}: {error}")
        return data


class PolicyForm(forms.Form):
    """A policy's fields; the source compiles or the service refuses it (shown on `source`)."""

    name = forms.CharField(max_length=100)
    policy_set = forms.ModelChoiceField(
        queryset=PolicySet.objects.none(),
        required=False,
        empty_label="Default (every deployment)",
        label="Policy set",
    )
    description = forms.CharField(max_length=500, required=False)
    enforcement = forms.ChoiceField(choices=Enforcement.choices, initial=Enforcement.ADVISORY)
    enabled = forms.BooleanField(required=False, initial=True)
    source = forms.CharField(
        label="Rego",
        max_length=100_000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 22, "class": "text-mono", "spellcheck": "false"}),
        help_text="Rego v1: a package whose `deny` set holds the messages of what it refuses. "
        "It reads input.plan (terraform show -json), input.context and input.cost_estimate.",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[PolicySet]", self.fields["policy_set"])
        field.queryset = PolicySet.objects.filter(organization=organization)
        if field.queryset.filter(name=DEFAULT_SET).exists():
            field.empty_label = None


class PolicySetForm(forms.Form):
    """A set's name and where it applies (the service checks a "selected" scope names one)."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)
    scope = forms.ChoiceField(
        choices=PolicySet.Scope.choices, initial=PolicySet.Scope.ALL, widget=forms.RadioSelect
    )
    blueprints = forms.ModelMultipleChoiceField(
        queryset=Blueprint.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    accounts = forms.ModelMultipleChoiceField(
        queryset=CloudAccount.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple, label="Cloud accounts",
    )  # fmt: skip
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        blueprints = cast("forms.ModelMultipleChoiceField", self.fields["blueprints"])
        blueprints.queryset = blueprint_list(organization=organization)
        accounts = cast("forms.ModelMultipleChoiceField", self.fields["accounts"])
        accounts.queryset = CloudAccount.objects.filter(organization=organization).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == PolicySet.Scope.SELECTED and not (
            data.get("blueprints") or data.get("accounts")
        ):
            raise ValidationError(
                "Choose at least one blueprint or account, or apply it to every deployment."
            )
        return data


class PolicyTestForm(forms.Form):
    source = forms.CharField(max_length=100_000, strip=False)
    deployment = forms.IntegerField()


class PolicyOverrideForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
