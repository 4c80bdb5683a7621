"""The power schedule form: a name, a time zone, a stop and a start time per weekday, and a
selector (a saved view or a tag filter). Every problem is reported beside its field, or above
the week for times that overlap; nothing is saved or previewed until the form is valid."""

from __future__ import annotations

from typing import Any, cast
from zoneinfo import available_timezones

from django import forms

from accounts.models import Organization, User
from inventory.models import PowerSchedule, SavedView
from inventory.schedule_times import KINDS, WEEKDAYS, week_problems, zone_get
from inventory.selectors import saved_view_list

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time_field(label: str) -> forms.TimeField:
    return forms.TimeField(
        required=False,
        label=label,
        input_formats=["%H:%M"],
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Give a time as HH:MM, e.g. 19:00."},
    )


def time_zone_names() -> list[str]:
    return sorted(available_timezones())


class PowerScheduleForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        error_messages={
            "required": "Give the schedule a name.",
            "max_length": "A name has at most %(limit_value)d characters "
            "(this has %(show_value)d).",
        },
    )
    time_zone = forms.CharField(
        max_length=64,
        initial="UTC",
        help_text="The zone its times are in, e.g. Europe/Paris: daylight saving follows it.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        error_messages={"required": "Give a time zone, e.g. Europe/Paris or UTC."},
    )
    saved_view = forms.ModelChoiceField(
        queryset=SavedView.objects.none(),
        required=False,
        empty_label="(none: use the tag filter)",
        help_text="The VMs of a saved inventory view.",
        error_messages={"invalid_choice": "Not one of your saved views: choose another."},
    )
    tag_filter = forms.CharField(
        required=False,
        max_length=200,
        help_text="Or a tag, key=value (e.g. env=dev) or just a key.",
        widget=forms.TextInput(attrs={"placeholder": "env=dev"}),
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(
        self,
        data: Any = None,
        *,
        organization: Organization,
        user: User,
        schedule: PowerSchedule | None = None,
    ) -> None:
        initial: dict[str, Any] = {}
        if schedule is not None:
            initial = {
                "name": schedule.name, "time_zone": schedule.time_zone,
                "saved_view": schedule.saved_view_id, "tag_filter": schedule.tag_filter,
                "enabled": schedule.enabled,
            }  # fmt: skip
            for key, times in zip(DAY_KEYS, schedule.week, strict=True):
                for kind in KINDS:
                    initial[f"{kind}_{key}"] = times.get(kind) or None
        super().__init__(data, initial=initial)
        self.organization, self.schedule = organization, schedule
        views = saved_view_list(organization=organization, user=user)
        kept = schedule.saved_view if schedule is not None else None
        if kept is not None and kept not in views:  # someone else's private view, kept as is
            views.append(kept)
        field = cast(forms.ModelChoiceField, self.fields["saved_view"])
        field.queryset = SavedView.objects.filter(pk__in=[v.pk for v in views])
        for key, day in zip(DAY_KEYS, WEEKDAYS, strict=True):
            self.fields[f"stop_{key}"] = _time_field(f"{day}: stop at")
            self.fields[f"start_{key}"] = _time_field(f"{day}: start at")

    def days(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """(weekday, its stop field, its start field), for the week's table."""
        return [
            (day, self[f"stop_{key}"], self[f"start_{key}"])
            for key, day in zip(DAY_KEYS, WEEKDAYS, strict=True)
        ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the schedule a name.")
        taken = PowerSchedule.objects.filter(organization=self.organization, name=name)
        if self.schedule is not None:
            taken = taken.exclude(pk=self.schedule.pk)
        if taken.exists():
            raise forms.ValidationError(f"A schedule named {name} already exists.")
        return name

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if zone_get(name) is None:
            raise forms.ValidationError(
                f"{name[:64]!r} is not a time zone: use a name such as Europe/Paris, "
                "America/New_York or UTC."
            )
        return name

    def clean_tag_filter(self) -> str:
        tag = self.cleaned_data["tag_filter"].strip()
        if tag and not tag.partition("=")[0].strip():
            raise forms.ValidationError("A tag filter is key or key=value: the key is missing.")
        return tag

    def week(self) -> list[dict[str, str]]:
        data = self.cleaned_data
        return [
            {
                kind: value.strftime("%H:%M") if (value := data.get(f"{kind}_{key}")) else ""
                for kind in KINDS
            }
            for key in DAY_KEYS
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not {"saved_view", "tag_filter"} & set(self.errors):
            if data.get("saved_view") and data.get("tag_filter"):
                self.add_error("tag_filter", "Choose a saved view or give a tag filter, not both.")
            elif not data.get("saved_view") and not data.get("tag_filter"):
                self.add_error("tag_filter", "Choose a saved view or give a tag filter: which VMs?")
        if not any(name.startswith(KINDS) for name in self.errors):
            for problem in week_problems(self.week()):
                self.add_error(None, problem)
        return data
