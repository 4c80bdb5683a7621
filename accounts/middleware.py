"""Organizations that require two-factor authentication send members without it to set it up
before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.services import user_has_mfa
from accounts.tenancy import current_membership

# Where such a member may still go: setting up a second factor, signing out, switching to
# another organization, and what pages need to load (the API checks tokens on its own).
_OPEN = ("/accounts/", "/static/", "/health", "/api/", "/organizations/switch/", "/favicon")


class RequireMfaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.user.is_authenticated
            and not request.path.startswith(_OPEN)
            and (membership := current_membership(request)) is not None
            and membership.organization.require_mfa
            and not user_has_mfa(request.user)
        ):
            messages.warning(
                request,
                f"{membership.organization.name} requires two-factor authentication: "
                "set it up to go on.",
            )
            url = reverse("mfa_activate_totp")
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(url)
            return redirect(url)
        return self.get_response(request)
