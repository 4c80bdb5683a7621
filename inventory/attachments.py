"""Reading what resources are attached to, from the links the ingest writes (`ResourceLink`).

A link names its other end by provider id; that end is the resource of the same organization
with that id, compared in lower case (Azure ids are case-insensitive), preferring one of the
same cloud account, then a live one. An id no listing holds stays a bare id.

- "attached to X": the resources linked to X either way (those whose attachments name X,
  and those X's attachments name), so that a disk is attached to its VM whichever of the two
  the provider spelt the attachment on.
- "unattached": live disks and IP addresses (`ATTACHABLE`: the kinds that exist to be attached,
  and cost money when nothing uses them) that name nothing and that no live resource names.
  Kinds that always name their network or source (subnets, firewalls, snapshots, load
  balancers) are never "unattached" by this definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower

from accounts.models import Organization
from inventory.models import Resource, ResourceLink, ResourceType

ATTACHABLE = (ResourceType.DISK, ResourceType.IP_ADDRESS)
MAX_SHOWN = 100  # per direction on the resource page: a VPC may have thousands attached here
RESOURCE_FIELDS = ("id", "name", "type", "provider", "resource_id", "account_id", "status",
                   "deleted_at")  # fmt: skip


@dataclass(frozen=True)
class Attachment:
    """One end of a link: the resource, or only the id when no listing holds it."""

    target_id: str
    resource: Resource | None = None


@dataclass
class Attachments:
    attached_to: list[Attachment] = field(default_factory=list)
    attached_here: list[Resource] = field(default_factory=list)
    more_to: int = 0  # links beyond MAX_SHOWN, not shown
    more_here: bool = False

    def __bool__(self) -> bool:
        return bool(self.attached_to or self.attached_here)


def resource_attachments(*, resource: Resource) -> Attachments:
    """Both directions of `resource`'s links, in three queries whatever their number."""
    links = list(
        ResourceLink.objects.filter(resource=resource)
        .order_by("id")
        .values_list("target_id", "target_key")[: MAX_SHOWN + 1]
    )
    total = len(links)
    if total > MAX_SHOWN:
        total = ResourceLink.objects.filter(resource=resource).count()
        links = links[:MAX_SHOWN]
    found = resources_by_key(
        organization_id=resource.organization_id,
        keys={key for _, key in links},
        account_id=resource.account_id,
    )
    here = list(
        Resource.objects.filter(
            organization_id=resource.organization_id,
            deleted_at__isnull=True,
            pk__in=ResourceLink.objects.filter(
                organization_id=resource.organization_id, target_key=resource.resource_id.lower()
            ).values("resource_id"),
        )
        .exclude(pk=resource.pk)
        .only(*RESOURCE_FIELDS)
        .order_by("type", "name", "id")[: MAX_SHOWN + 1]
    )
    return Attachments(
        attached_to=[Attachment(target, found.get(key)) for target, key in links],
        attached_here=here[:MAX_SHOWN],
        more_to=total - len(links),
        more_here=len(here) > MAX_SHOWN,
    )


def resources_by_key(
    *, organization_id: int, keys: set[str], account_id: int | None = None
) -> dict[str, Resource]:
    """{lower-case provider id: the resource it names} for the `keys` found, in one query
    (through the lower-case id index); of several, one of `account_id` first, then a live one."""
    if not keys:
        return {}
    rows = (
        Resource.objects.filter(organization_id=organization_id)
        .alias(key=Lower("resource_id"))
        .filter(key__in=sorted(keys))
        .only(*RESOURCE_FIELDS)
    )
    found: dict[str, Resource] = {}

    def rank(r: Resource) -> tuple[bool, bool, int]:
        return (r.account_id != account_id, r.deleted_at is not None, r.pk)

    for row in sorted(rows, key=rank):
        found.setdefault(row.resource_id.lower(), row)
    return found


def attached_to_filter(*, organization: Organization, pk: int) -> Q:
    """The resources linked to resource `pk` either way; nothing when `pk` is not a resource
    of `organization` (another organization's resource matches nothing)."""
    key = (
        Resource.objects.filter(organization=organization, pk=pk)
        .annotate(key=Lower("resource_id"))
        .values("key")[:1]
    )
    names_it = ResourceLink.objects.filter(organization=organization, target_key=Subquery(key))
    named_by_it = ResourceLink.objects.filter(
        organization=organization, resource__organization=organization, resource_id=pk
    )
    return Q(pk__in=names_it.values("resource_id")) | Q(
        Exists(named_by_it.filter(target_key=Lower(OuterRef("resource_id"))))
    )


def unattached(rows: QuerySet[Resource]) -> QuerySet[Resource]:
    """Live resources of the ATTACHABLE kinds that name nothing and that no live resource
    names (see the module's docstring)."""
    names_something = ResourceLink.objects.filter(resource=OuterRef("pk"))
    named = ResourceLink.objects.filter(
        organization=OuterRef("organization"),
        target_key=Lower(OuterRef("resource_id")),
        resource__deleted_at__isnull=True,
    )
    return rows.filter(deleted_at__isnull=True, type__in=ATTACHABLE).filter(
        ~Exists(names_something), ~Exists(named)
    )
