"""Links that keep the current query string, without its empty parameters."""

from __future__ import annotations

from django import template
from django.http import QueryDict

register = template.Library()


def without_empty(params: QueryDict) -> QueryDict:
    """A mutable copy of `params` without the keys whose every value is empty."""
    clean = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [value for value in values if value]
        if kept:
            clean.setlist(key, kept)
    return clean


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, page: int) -> str:
    """The current query string with `page` set, e.g. "?status=running&page=2"."""
    params = without_empty(context["request"].GET)
    params["page"] = str(page)
    return "?" + params.urlencode()
