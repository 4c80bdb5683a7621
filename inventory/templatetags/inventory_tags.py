from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from accounts.templatetags.query_links import without_empty
from inventory.filters import status_label as _status_label
from mcloud.clouds.registry import provider_get, provider_list

register = template.Library()

_STATUS_CLASSES = {
    "running": "text-bg-success",
    "available": "text-bg-success",
    "in_use": "text-bg-primary",
    "pending": "text-bg-info",
    "stopping": "text-bg-warning",
    "stopped": "text-bg-secondary",
    "terminated": "text-bg-dark",
    "deleting": "text-bg-warning",
    "error": "text-bg-danger",
}


@register.filter
def status_class(status: str) -> str:
    """The Bootstrap badge class of a normalized status."""
    return _STATUS_CLASSES.get(status, "text-bg-light border")


@register.filter
def status_label(status: str) -> str:
    """A status in the words of the status filter: "in_use" -> "in use"."""
    return _status_label(status)


@register.simple_tag(takes_context=True)
def sort_query(context: template.Context, column: str) -> str:
    """The query string that sorts by `column`, or reverses the sort when it is current."""
    params = without_empty(context["request"].GET)
    current = params.get("sort", "name")
    params["sort"] = f"-{column}" if current == column else column
    params.pop("page", None)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_mark(context: template.Context, column: str) -> str:
    current = context["request"].GET.get("sort", "name")
    if current == column:
        return "▲"
    if current == f"-{column}":
        return "▼"
    return ""


@register.filter
def display_value(value: object) -> object:
    """Metadata as people read it: lists comma-separated, nothing as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


@register.filter
def scope_word(count: int | None, provider: str) -> str:
    """The provider's word for its sync scopes, agreeing with `count`: "region", "regions",
    "subscriptions", "projects"."""
    return provider_get(provider).scope_word(count)


@register.filter
def provider_label(provider: str) -> str:
    """ "aws" -> "AWS"."""
    return provider_get(provider).label


@register.simple_tag
def provider_styles() -> SafeString:
    """Each provider's colours as CSS, from its registry entry: its badge, and one colour
    for its bars on the dashboard and its series on the billing chart."""
    rules = []
    for p in provider_list():
        c, key = p.colours, p.key
        badge = f"background: {c.badge_background}; color: {c.badge_text};"
        if c.badge_border:
            badge += f" border: 1px solid {c.badge_border};"
        rules += [
            f":root {{ --provider-{key}: {c.chart}; }}",
            f".provider-{key} {{ {badge} }}",
            f".bar-chart .bar-{key} rect {{ fill: var(--provider-{key}); }}",
            f".series-{key} {{ fill: var(--provider-{key}); background: var(--provider-{key}); }}",
        ]
    # Keys and colours are checked when registered (letters and digits; #rrggbb).
    return mark_safe("<style>\n" + "\n".join(rules) + "\n</style>")  # noqa: S308


@register.simple_tag(takes_context=True)
def filter_query(
    context: template.Context, field: str, value: object, tag_value: object = None
) -> str:
    """The current query string filtered by `field` = `value` instead of its current values
    (a tag as key=value when `tag_value` is given), back on the first page: the links of a
    row's type, status and tags."""
    params = without_empty(context["request"].GET)
    params.pop("page", None)
    params[field] = f"{value}={tag_value}" if tag_value is not None else str(value)
    return "?" + params.urlencode()
