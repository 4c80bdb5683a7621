"""The billing page's selection (period, grouping, filters), budgets and settings."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import partial
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from billing.models import BillingSettings, Budget
from billing.selectors import CostFilters
from inventory.models import CloudAccount
from mcloud.clouds.registry import provider_choices
from mcloud.egress.client import outbound_check
from mcloud.egress.policy import EgressRefused

PERIODS = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("last_30", "Last 30 days"),
    ("last_90", "Last 90 days"),
    ("custom", "Custom range"),
]
MAX_DAYS = 400


def _not_a(word: str) -> dict[str, str]:
    return {"invalid_choice": f"Not {word}: %(value)s.", "invalid": f"Not {word}."}


class CostSelectionForm(forms.Form):
    """The page uses each valid value and says beside a refused one why it was left out (a
    bad custom range falls back to this month); the API refuses any bad value (422)."""

    period = forms.ChoiceField(choices=PERIODS, required=False, error_messages=_not_a("a period"))
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Included."
    )
    group = forms.ChoiceField(
        choices=[("provider", "Stack by provider"), ("service", "Stack by service")],
        required=False,
        error_messages=_not_a("a way to stack the chart"),
    )
    provider = forms.ChoiceField(
        choices=partial(provider_choices, blank="Any provider"),
        required=False,
        error_messages=_not_a("a provider"),
    )
    account = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        choices=[],
        error_messages=_not_a("an account of this organization"),
    )
    service = forms.CharField(required=False, max_length=200)
    region = forms.CharField(required=False, max_length=64)

    def __init__(self, data: Any, *, accounts: list[CloudAccount], today: date) -> None:
        super().__init__(data)
        self.today = today
        account = cast(forms.ChoiceField, self.fields["account"])
        account.choices = [("", "Any account")] + [(a.pk, a.name) for a in accounts]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise ValidationError("A custom range needs a start and an end.")
            if end < start:
                raise ValidationError("The end of the range is before its start.")
            if (end - start).days > MAX_DAYS:
                raise ValidationError(f"Choose a range of at most {MAX_DAYS} days.")
        return data

    def _valid(self) -> dict[str, Any]:
        """The values that passed; a refused one is left out (and in `errors`)."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        if self.non_field_errors():
            data.pop("period", None)  # a bad custom range: this month instead
        return data

    def date_range(self) -> tuple[date, date, str]:
        """[start, end) of the chosen period and its label; this month when invalid."""
        data = self._valid()
        today, choice = self.today, data.get("period") or "this_month"
        month_start = today.replace(day=1)
        if choice == "last_month":
            start = (month_start - timedelta(days=1)).replace(day=1)
            return start, month_start, f"{start:%B %Y}"
        if choice in ("last_30", "last_90"):
            days = 30 if choice == "last_30" else 90
            return today - timedelta(days=days - 1), today + timedelta(days=1), f"Last {days} days"
        if choice == "custom":
            start, end = data["start"], data["end"]
            return start, end + timedelta(days=1), f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
        return month_start, today + timedelta(days=1), f"{today:%B %Y} to date"

    def filters(self) -> CostFilters:
        data = self._valid()
        return CostFilters(
            provider=data.get("provider") or "",
            account=data.get("account"),
            service=data.get("service") or "",
            region=data.get("region") or "",
        )

    def stack_by(self) -> str:
        return self._valid().get("group") or "provider"


class BudgetForm(forms.ModelForm):
    thresholds = forms.CharField(initial="50, 80, 100", help_text="Percentages, comma-separated.")

    class Meta:
        model = Budget
        fields = ["name", "account", "amount", "basis", "thresholds", "webhook_url"]
        help_texts = {
            "webhook_url": "Optional: an https:// address (on the internet, not a private "
            "network) that mcloud POSTs each crossing to as JSON, signed with the "
            "organization's webhook secret (Standard Webhooks)."
        }

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = cast("forms.ModelChoiceField[CloudAccount]", self.fields["account"])
        account.queryset = CloudAccount.objects.filter(organization=organization)
        account.empty_label = "The whole organization"
        if self.instance.pk:
            self.initial["thresholds"] = ", ".join(str(t) for t in self.instance.thresholds)

    def clean_thresholds(self) -> list[int]:
        raw = [part.strip() for part in self.cleaned_data["thresholds"].split(",") if part.strip()]
        try:
            values = sorted({int(part) for part in raw})
        except ValueError:
            raise ValidationError("Thresholds are whole percentages, e.g. 50, 80, 100.") from None
        if not values or any(v < 1 or v > 500 for v in values):
            raise ValidationError("Give one to a few percentages between 1 and 500.")
        return values

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                outbound_check(url)
            except EgressRefused as refusal:
                raise ValidationError(str(refusal)) from None
        return url

    def clean_amount(self) -> Any:
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise ValidationError("A budget is more than zero.")
        return amount


class BillingSettingsForm(forms.ModelForm):
    rates = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='One per line: "EUR 1.08" means 1 EUR is 1.08 of your currency.',
    )

    class Meta:
        model = BillingSettings
        fields = ["currency", "rates"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["rates"] = "\n".join(f"{k} {v}" for k, v in self.instance.rates.items())

    def clean_currency(self) -> str:
        value = self.cleaned_data["currency"].strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise ValidationError("A currency is a three-letter code such as USD or EUR.")
        return value

    def clean_rates(self) -> dict[str, float]:
        rates: dict[str, float] = {}
        lines: dict[str, int] = {}
        for number, line in enumerate(self.cleaned_data["rates"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            try:
                code, value = parts[0].upper(), float(parts[1])
            except (IndexError, ValueError):
                raise ValidationError(
                    f'Line {number}: write a code and a rate, e.g. "EUR 1.08".'
                ) from None
            if len(code) != 3 or value <= 0:
                raise ValidationError(f"Line {number}: not a currency code and a positive rate.")
            if code in rates:
                raise ValidationError(
                    f"Line {number}: {code} is given twice (line {lines[code]}). Keep one rate."
                )
            rates[code], lines[code] = value, number
        return rates


MAX_ALLOCATION_KEYS = 5
# What a tag key may hold in all three clouds' cost groupings (AWS tag keys: letters, digits,
# spaces and _ . : / = + - @; Cost Explorer answers `key$value`, so no "$").
TAG_KEY = re.compile(r"[\w .:/=+\-@]{1,128}")


class AllocationKeysForm(forms.Form):
    """The tag keys costs are allocated by: one per line or comma-separated."""

    keys = forms.CharField(
        label="Allocation tag keys",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=(
            f"At most {MAX_ALLOCATION_KEYS}, e.g. team, env. The providers group their bills by"
            " these keys: in AWS, activate them as cost allocation tags in the payer account;"
            " GCP labels are lower case. Costs by a new key arrive with the next import."
        ),
    )

    def __init__(self, *args: Any, initial_keys: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["keys"] = ", ".join(initial_keys or [])

    def clean_keys(self) -> list[str]:
        keys: list[str] = []
        seen: dict[str, str] = {}
        for part in re.split(r"[,\n]", self.cleaned_data["keys"]):
            key = part.strip()
            if not key:
                continue
            if len(key) > 128:
                raise ValidationError(f'The tag key "{key[:40]}…" is longer than 128 characters.')
            if not TAG_KEY.fullmatch(key):
                raise ValidationError(
                    f'The tag key "{key}" has a character tag keys cannot hold: use letters,'
                    " digits, spaces and _ . : / = + - @."
                )
            if key.lower() in seen:
                raise ValidationError(
                    f'The tag key "{key}" is given twice (as "{seen[key.lower()]}"). Keep one.'
                )
            seen[key.lower()] = key
            keys.append(key)
        if len(keys) > MAX_ALLOCATION_KEYS:
            raise ValidationError(
                f"Choose at most {MAX_ALLOCATION_KEYS} keys: each is one more query to each"
                " provider at every import."
            )
        return keys
