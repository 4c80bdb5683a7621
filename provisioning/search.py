"""The search palette's provisioning kinds: deployments and blueprints (accounts.search).
Each is one query on the organization's rows (its index), a bounded number of them ranked."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from accounts.models import Organization
from accounts.search import SearchHit, SearchKind, rank
from provisioning.models import Blueprint, Deployment

CANDIDATES = 40  # matches read and ranked for the best few


def deployment_find(organization: Organization, text: str, limit: int) -> list[SearchHit]:
    """The organization's deployments whose name holds `text`, archived ones after the rest."""
    rows = (
        Deployment.objects.filter(organization=organization, name__icontains=text)
        .order_by("archived_at", "name", "id")
        .values_list("id", "name", "status", "archived_at", "blueprint_version__blueprint__name")
    )[:CANDIDATES]
    statuses = dict(Deployment.Status.choices)
    best = sorted(rows, key=lambda r: (r[3] is not None, rank(text, r[1])))
    hits = []
    for pk, name, status, archived_at, blueprint in best[:limit]:
        parts = [blueprint, "archived" if archived_at else statuses.get(status, status)]
        hits.append(
            SearchHit(
                title=name,
                detail=" · ".join(p for p in parts if p),
                url=reverse("provisioning:deployment_detail", args=[pk]),
            )
        )
    return hits


def blueprint_find(organization: Organization, text: str, limit: int) -> list[SearchHit]:
    """The organization's blueprints and the bundled ones whose name or slug holds `text`."""
    rows = (
        Blueprint.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .filter(Q(name__icontains=text) | Q(slug__icontains=text))
        .order_by("name", "id")
        .values_list("id", "name", "slug", "description", "organization_id")
    )[:CANDIDATES]
    best = sorted(rows, key=lambda r: rank(text, r[1], r[2]))
    hits = []
    for pk, name, _slug, description, owner in best[:limit]:
        detail = description if len(description) <= 80 else description[:79] + "…"
        hits.append(
            SearchHit(
                title=name,
                detail=detail or ("Bundled" if owner is None else ""),
                url=reverse("provisioning:blueprint_detail", args=[pk]),
            )
        )
    return hits


DEPLOYMENTS = SearchKind(
    key="deployments", label="Deployments", icon="rocket-takeoff", order=30, find=deployment_find
)
BLUEPRINTS = SearchKind(
    key="blueprints", label="Blueprints", icon="box-seam", order=40, find=blueprint_find
)
