from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import Membership
from accounts.tenancy import current_membership


def organization(request: HttpRequest) -> dict[str, Any]:
    """The current organization and the user's other ones, for the header switcher.

    The membership list is a lazy queryset: no query runs unless a template reads it.
    """
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    return {
        "current_membership": membership,
        "current_organization": membership.organization if membership else None,
        "current_role": membership.role_enum if membership else None,
        "user_memberships": Membership.objects.filter(user=request.user).select_related(
            "organization"
        ),
    }
