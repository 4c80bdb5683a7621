"""API: who am I."""

from __future__ import annotations

from ninja import Router, Schema

from accounts.models import Membership
from accounts.tenancy import ApiRequest
from mcloud.api.errors import responses

router = Router(tags=["me"])


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    role: str


class MeOut(Schema):
    id: int
    email: str
    organization: OrganizationOut
    role: str
    via: str
    organizations: list[OrganizationOut]


@router.get("/me", response=responses(MeOut), summary="The caller, and the organization it acts in")
def me(request: ApiRequest) -> dict:
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    organizations = [
        {
            "id": m.organization_id,
            "name": m.organization.name,
            "slug": m.organization.slug,
            "role": m.role,
        }
        for m in memberships
    ]
    current = next(o for o in organizations if o["id"] == request.organization.pk)
    return {
        "id": request.user.pk,
        "email": request.user.email,
        "organization": {**current, "role": request.role.value},
        "role": request.role.value,
        "via": "token" if request.api_token else "session",
        "organizations": organizations,
    }
