"""The one place that gives views the current organization and role.

Every organization-scoped view is wrapped in `org_view(min_role)`, and every object of an
organization is looked up with `get_for_org()`. Objects of other organizations are a 404,
roles below `min_role` a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import ApiToken, Membership, Organization, User
from accounts.roles import Role

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

SESSION_KEY = "mcloud_organization_id"
_MEMBERSHIP_CACHE = "_mcloud_membership"


class SignedInRequest(HttpRequest):
    """A request behind `login_required` (or `org_view`, or the API's authentication): its
    user is signed in."""

    user: User


class MemberRequest(SignedInRequest):
    """A request of a signed-in member acting in one organization: a page behind `org_view`
    (an `OrgRequest`) or an API call that the API's authentication accepted."""

    organization: Organization
    role: Role


class OrgRequest(MemberRequest):
    """A request that passed `org_view`: it knows its organization, membership and role."""

    htmx: HtmxDetails
    membership: Membership


class OrgView(Protocol):
    """A view wrapped by `org_view`: it carries the role it needs (read by the URL-walking
    isolation tests)."""

    min_role: Role

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase: ...


class ApiRequest(MemberRequest):
    """An API call that the API's authentication accepted (mcloud.api.security): made with a
    personal access token (`api_token`) or the browser session (`api_token` is None)."""

    api_token: ApiToken | None


def api_request_bind(
    request: HttpRequest, *, organization: Organization, role: Role, token: ApiToken | None
) -> ApiRequest:
    """Mark `request` as an API call of a member acting in `organization` with `role`."""
    bound = cast(ApiRequest, request)  # it is one once the three lines below have run
    bound.organization = organization
    bound.role = role
    bound.api_token = token
    return bound


def current_membership(request: HttpRequest) -> Membership | None:
    """The signed-in user's membership in the organization chosen in the session.

    Falls back to the user's oldest membership. Cached on the request.
    """
    cache = vars(request)  # the request object's own attributes
    if _MEMBERSHIP_CACHE in cache:
        return cache[_MEMBERSHIP_CACHE]
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
    cache[_MEMBERSHIP_CACHE] = membership
    return membership


def set_current_organization(request: HttpRequest, organization: Organization) -> None:
    request.session[SESSION_KEY] = organization.pk
    vars(request).pop(_MEMBERSHIP_CACHE, None)


def org_view(
    min_role: Role = Role.VIEWER,
) -> Callable[[Callable[..., HttpResponseBase]], OrgView]:
    """Require a signed-in member of the current organization holding at least `min_role`."""

    def decorator(view: Callable[..., HttpResponseBase]) -> OrgView:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            membership = current_membership(request)
            if membership is None:
                url = reverse("accounts:organization_create")
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(url)
                return redirect(url)
            if not membership.role_enum.allows(min_role):
                raise PermissionDenied(f"This needs the {Role(min_role).label} role or higher.")
            bound = cast(OrgRequest, request)  # it is one once the three lines below have run
            bound.organization = membership.organization
            bound.membership = membership
            bound.role = membership.role_enum
            return view(bound, *args, **kwargs)

        guarded = cast(OrgView, login_required(wrapped))  # an OrgView once min_role is set
        guarded.min_role = Role(min_role)
        return guarded

    return decorator


def for_org[M: models.Model](
    model_or_qs: type[M] | models.QuerySet[M], request: MemberRequest
) -> models.QuerySet[M]:
    """The rows of `model_or_qs` that belong to the request's organization."""
    qs = model_or_qs if isinstance(model_or_qs, models.QuerySet) else model_or_qs._default_manager
    return qs.filter(organization=request.organization)


def get_for_org[M: models.Model](
    model_or_qs: type[M] | models.QuerySet[M], request: MemberRequest, **lookup: Any
) -> M:
    """One row of the request's organization, or 404 (never a 403 that leaks existence)."""
    return get_object_or_404(for_org(model_or_qs, request), **lookup)
