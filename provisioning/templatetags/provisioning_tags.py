from __future__ import annotations

import json

from django import template

register = template.Library()


@register.filter
def tf_value(value: object) -> str:
    """A variable or output value as Terraform writes it: strings bare, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)
