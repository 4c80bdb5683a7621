"""What "managed" means, in one place: a resource is managed when its provider id is in the
current Terraform state of a deployment of the same organization.

The `mcloud-deployment` tag (`Resource.deployment_ref`) is only a hint: anyone with access to
the cloud can set it, and it may name another organization's deployment. It is never trusted
alone. The states belong to provisioning, which inventory does not import: provisioning
registers a `ManagedSource` here from its AppConfig.ready(). Without one, nothing is managed.
Ids are compared in lower case, as attachments are (Azure ids are case-insensitive).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from django.db.models import QuerySet


@dataclass(frozen=True)
class ManagedBy:
    """The deployment whose state holds a resource."""

    pk: int
    name: str
    url: str


@dataclass(frozen=True)
class ManagedSource:
    # The lower-case provider ids in the current states of an organization's deployments,
    # as a one-column query (used as a subquery by the filters).
    keys: Callable[[int], QuerySet]
    # {lower-case provider id: the deployments whose state holds it} for some ids.
    owners: Callable[[int, Collection[str]], dict[str, list[ManagedBy]]]


_source: list[ManagedSource] = []


def register_managed_source(source: ManagedSource) -> None:
    _source[:] = [source]


def managed_keys(*, organization_id: int) -> QuerySet | None:
    """The subquery of managed ids, or None when nothing can be managed."""
    return _source[0].keys(organization_id) if _source else None


def managed_by(
    *, organization_id: int, resource_ids: Collection[str]
) -> dict[str, list[ManagedBy]]:
    """{lower-case provider id: deployments} for those of `resource_ids` that are managed, in
    one query."""
    keys = {rid.lower() for rid in resource_ids}
    if not _source or not keys:
        return {}
    return _source[0].owners(organization_id, keys)
