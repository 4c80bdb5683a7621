"""The search palette's inventory kinds: resources and cloud accounts (accounts.search).

Resources are found through the trigram search index of migration 0006 (FTS5 on SQLite,
pg_trgm on PostgreSQL) and read lazily: the first matching rows of the organization, never
every match, so a keystroke costs the same with 1,000 resources or 100,000 and with a text
that matches one resource or all of them. A second query, on the name and lower-case id
indexes, brings an exact name or a pasted id first even when thousands of others hold it.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse

from accounts.models import Organization
from accounts.search import SearchHit, SearchKind, rank
from inventory.models import CloudAccount, Resource, ResourceType
from mcloud.clouds.registry import provider_choices

CANDIDATES = 40  # matching resources read and ranked for the best few
ROW = ("id", "name", "resource_id", "type", "region", "account__name")

# The organization's live resources, of accounts that are not excluded members (as the
# inventory's lists: inventory.selectors.excluded_members), whose name or id holds the text.
# The index drives the join, so SQLite stops at the LIMIT instead of gathering every match.
_SQLITE_MATCHES = """
    SELECT r.id, r.name, r.resource_id, r.type, r.region, a.name
    FROM inventory_resource_search s
    JOIN inventory_resource r ON r.id = s.rowid
    JOIN inventory_cloudaccount a ON a.id = r.account_id
    WHERE s.inventory_resource_search MATCH %s
      AND r.organization_id = %s AND r.deleted_at IS NULL
      AND (a.parent_id IS NULL OR a.enabled)
    LIMIT %s
"""


def _live(organization: Organization) -> QuerySet[Resource, tuple[Any, ...]]:
    return (
        Resource.objects.filter(organization=organization, deleted_at__isnull=True)
        .filter(Q(account__parent__isnull=True) | Q(account__enabled=True))
        .order_by()
        .values_list(*ROW)
    )


def resource_matches(
    *, organization: Organization, text: str, limit: int = CANDIDATES
) -> list[tuple]:
    """Up to `limit` live resources of `organization` whose name or id holds `text` (3
    characters or more), in no particular order, as ROW tuples."""
    if connection.vendor == "sqlite":
        phrase = '"' + text.replace('"', '""') + '"'
        with connection.cursor() as cursor:
            cursor.execute(_SQLITE_MATCHES, [phrase, organization.pk, limit])
            return list(cursor.fetchall())
    # PostgreSQL: the pg_trgm indexes of UPPER(name) and UPPER(resource_id) serve icontains.
    found = _live(organization).filter(Q(name__icontains=text) | Q(resource_id__icontains=text))
    return list(found[:limit])


def resource_exact(*, organization: Organization, text: str, limit: int) -> list[tuple]:
    """Live resources called exactly `text` (as typed, or in lower case: the index of names
    is case-sensitive), or whose id is `text` in any case."""
    named = _live(organization).filter(name__in=sorted({text, text.lower()}))
    by_id = _live(organization).alias(id_lower=Lower("resource_id")).filter(id_lower=text.lower())
    # A union, not an OR: each half is served by its own index (an OR made SQLite scan).
    return list(named.union(by_id)[:limit])


def resource_find(organization: Organization, text: str, limit: int) -> list[SearchHit]:
    rows = {r[0]: r for r in resource_exact(organization=organization, text=text, limit=limit)}
    for row in resource_matches(organization=organization, text=text):
        rows.setdefault(row[0], row)
    types = dict(ResourceType.choices)
    best = sorted(rows.values(), key=lambda r: (rank(text, r[1] or r[2], r[2]), r[0]))
    return [
        SearchHit(
            title=name or resource_id,
            detail=" · ".join(x for x in (types.get(kind, kind), region, account) if x),
            url=reverse("inventory:resource_detail", args=[pk]),
        )
        for pk, name, resource_id, kind, region, account in best[:limit]
    ]


def cloud_account_find(organization: Organization, text: str, limit: int) -> list[SearchHit]:
    """The organization's cloud accounts whose name or provider id (a member's) holds `text`."""
    rows = (
        CloudAccount.objects.filter(organization=organization)
        .filter(Q(name__icontains=text) | Q(member_id__icontains=text))
        .order_by("name", "id")
        .values_list("id", "name", "provider", "member_id", "parent__name", "retired_at")
    )[:CANDIDATES]
    providers = dict(provider_choices())
    best = sorted(rows, key=lambda r: rank(text, r[1], r[3]))
    hits = []
    for pk, name, provider, member_id, parent, retired_at in best[:limit]:
        parts = [providers.get(provider, provider), member_id]
        parts += [f"in {parent}" if parent else "", "retired" if retired_at else ""]
        hits.append(
            SearchHit(
                title=name,
                detail=" · ".join(p for p in parts if p),
                url=reverse("inventory:account_detail", args=[pk]),
            )
        )
    return hits


RESOURCES = SearchKind(
    key="resources",
    label="Resources",
    icon="hdd-stack",
    order=10,
    find=resource_find,
    min_length=3,
    list_url_name="inventory:resource_list",
)
CLOUD_ACCOUNTS = SearchKind(
    key="accounts", label="Cloud accounts", icon="cloud", order=20, find=cloud_account_find
)
