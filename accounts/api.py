"""API: who am I, and what the search palette finds."""

from __future__ import annotations

from ninja import Router, Schema

from accounts.models import Membership
from accounts.search import palette_search
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


class SearchHitOut(Schema):
    title: str
    detail: str
    url: str


class SearchGroupOut(Schema):
    kind: str
    label: str
    hits: list[SearchHitOut]


class SearchOut(Schema):
    query: str
    groups: list[SearchGroupOut]
    too_short: list[str]


@router.get(
    "/search",
    response=responses(SearchOut),
    summary="Search the organization's resources, cloud accounts, deployments, blueprints "
    "and people, as the search palette does",
)
def search(request: ApiRequest, q: str = "") -> dict:
    """The best few matches of each kind the caller's role may see, grouped by kind (the
    text is trimmed and cut at 100 characters; resources need 3 of them). Each hit's `url`
    is the page that shows it."""
    answer = palette_search(organization=request.organization, role=request.role, text=q)
    return {
        "query": answer.text,
        "groups": [
            {
                "kind": group.kind.key,
                "label": group.kind.label,
                "hits": [vars(hit) for hit in group.hits],
            }
            for group in answer.groups
        ],
        "too_short": [kind.key for kind in answer.too_short],
    }
