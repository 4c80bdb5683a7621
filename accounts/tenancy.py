"""The one place that gives views the current organization and role.

Every organization-scoped view is wrapped in `org_view(min_role)`, and every object of an
organization is looked up with `get_for_org()`. Objects of other organizations are a 404,
roles below `min_role` a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Membership, Organization
from accounts.roles import Role

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

SESSION_KEY = "mcloud_organization_id"


class OrgRequest(HttpRequest):
    """A request that passed `org_view`: it knows its organization and role."""

    htmx: HtmxDetails
    organization: Organization
    membership: Membership
    role: Role


def current_membership(request: HttpRequest) -> Membership | None:
    """The signed-in user's membership in the organization chosen in the session.

    Falls back to the user's oldest membership. Cached on the request.
    """
    if hasattr(request, "_mcloud_membership"):
        return request._mcloud_membership
    membership = None
    if request.user.is_authenticated:
        rows = Membership.objects.select_related("organization").filter(user=request.user)
        chosen = request.session.get(SESSION_KEY)
        if chosen is not None:
            membership = rows.filter(organization_id=chosen).first()
        if membership is None:
            membership = rows.order_by("created_at", "id").first()
            if membership is not None:
                request.session[SESSION_KEY] = membership.organization_id
    request._mcloud_membership = membership
    return membership


def set_current_organization(request: HttpRequest, organization: Organization) -> None:
    request.session[SESSION_KEY] = organization.pk
    if hasattr(request, "_mcloud_membership"):
        del request._mcloud_membership


def org_view(min_role: Role = Role.VIEWER) -> Callable[[Callable[..., HttpResponse]], Any]:
    """Require a signed-in member of the current organization holding at least `min_role`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = current_membership(request)
            if membership is None:
                url = reverse("accounts:organization_create")
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(url)
                return redirect(url)
            if not membership.role_enum.allows(min_role):
                raise PermissionDenied(f"This needs the {Role(min_role).label} role or higher.")
            request.organization = membership.organization
            request.membership = membership
            request.role = membership.role_enum
            return view(request, *args, **kwargs)

        guarded = login_required(wrapped)
        guarded.min_role = Role(min_role)  # read by the URL-walking isolation tests
        return guarded

    return decorator


def for_org[M: models.Model](
    model_or_qs: type[M] | models.QuerySet[M], request: OrgRequest
) -> models.QuerySet[M]:
    """The rows of `model_or_qs` that belong to the request's organization."""
    qs = model_or_qs if isinstance(model_or_qs, models.QuerySet) else model_or_qs._default_manager
    return qs.filter(organization=request.organization)


def get_for_org[M: models.Model](
    model_or_qs: type[M] | models.QuerySet[M], request: OrgRequest, **lookup: Any
) -> M:
    """One row of the request's organization, or 404 (never a 403 that leaks existence)."""
    return get_object_or_404(for_org(model_or_qs, request), **lookup)
