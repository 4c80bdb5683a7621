from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.roles import Role
from accounts.tenancy import current_membership


def terraform_isolation(request: HttpRequest) -> dict[str, Any]:
    """Warn admins, on provisioning pages, when Terraform runs unsandboxed on this instance."""
    if settings.TERRAFORM_ISOLATION != "off" or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)  # cached on the request
    admin = membership is not None and membership.role_enum.allows(Role.ADMIN)
    return {"terraform_isolation_warning": admin}
