"""The search palette's endpoint: its results as a partial for the palette (HTMX), or as a
page of their own (a link, a bookmark, a browser without JavaScript)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from accounts.roles import Role
from accounts.search import MAX_QUERY, palette_search
from accounts.tenancy import OrgRequest, org_view


@org_view(Role.VIEWER)
@vary_on_headers("HX-Request")
def search(request: OrgRequest) -> HttpResponse:
    answer = palette_search(
        organization=request.organization, role=request.role, text=request.GET.get("q", "")
    )
    palette = bool(request.htmx and not request.htmx.boosted)
    template = "accounts/search.html#results" if palette else "accounts/search.html"
    return render(request, template, {"answer": answer, "max_query": MAX_QUERY, "palette": palette})
