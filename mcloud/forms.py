"""Project-wide form rendering: every `{{ form }}` comes out as Bootstrap markup."""

from __future__ import annotations

from typing import Any

from django.forms import widgets
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting

_CHECKS = (widgets.CheckboxInput, widgets.RadioSelect, widgets.CheckboxSelectMultiple)


class BootstrapBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if isinstance(widget, _CHECKS):
            css = "form-check-input"
        elif isinstance(widget, widgets.Select):
            css = "form-select"
        else:
            css = "form-control"
        if self.form.is_bound and self.errors and not getattr(self.form, "live_errors", False):
            css += " is-invalid"
        attrs["class"] = f"{attrs.get('class', '')} {css}".strip()
        return attrs

    @property
    def is_check(self) -> bool:
        return isinstance(self.field.widget, widgets.CheckboxInput)

    @property
    def show_if(self) -> str:
        """The condition under which the page shows this field ("auth_method=keys"), from the
        form's `SHOW_IF` (field name -> condition; see data-show-if in static/js/mcloud.js)."""
        conditions: dict[str, str] = getattr(self.form, "SHOW_IF", {})
        return conditions.get(self.name, "")


class FormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
    bound_field_class = BootstrapBoundField
