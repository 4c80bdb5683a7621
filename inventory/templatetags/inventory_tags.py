from __future__ import annotations

from django import template

from accounts.templatetags.query_links import without_empty
from inventory.filters import status_label as _status_label
from inventory.providers import provider_words

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
    words = provider_words(provider)
    return words.scope if count == 1 else words.scopes
