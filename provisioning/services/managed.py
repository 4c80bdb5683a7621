"""Which provider ids a deployment's current Terraform state holds: the record behind
"managed" (`inventory.managed`). Every state saved rewrites its deployment's rows in the same
transaction (`DatabaseStateStore`), so they always follow the current state: an apply adds
what it made, a destroy (an empty state) clears them. Only managed resources count: a data
source reads something that exists, and mcloud does not manage it for that."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from inventory.managed import ManagedBy, ManagedSource
from provisioning.drift_attributes import expected_attributes
from provisioning.models import DeploymentResource

# The attributes that carry a resource's provider id: AWS ids and ARNs, Azure ids, GCP ids and
# self links (the inventory spells GCP ids from "projects/").
ID_ATTRIBUTES = ("id", "arn", "self_link")
MAX_ROWS = 10_000  # per deployment: a state is bounded by the run's limits already


def state_provider_ids(state: bytes) -> Iterator[tuple[str, str]]:
    """(address, provider id) for every managed resource instance of a state document;
    nothing for a state that does not parse."""
    for instance in state_instances(state):
        yield from ((instance.address, rid) for rid in instance.ids)


@dataclass(frozen=True)
class StateInstance:
    """One managed resource instance of a state: its address (with its index when the
    resource has `count` or `for_each`), Terraform type, provider ids and what drift is
    checked on (`drift_attributes`)."""

    address: str
    type: str
    ids: list[str]
    expected: dict[str, Any]


def state_instances(state: bytes) -> Iterator[StateInstance]:
    """The managed resource instances of a state document; none for one that does not
    parse."""
    try:
        doc = json.loads(state or b"{}")
    except ValueError:
        return
    resources = doc.get("resources") if isinstance(doc, dict) else None
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict) or resource.get("mode") != "managed":
            continue
        address = ".".join(
            str(part) for part in (resource.get("module"), resource.get("type"),
                                   resource.get("name")) if part
        )[:255]  # fmt: skip
        tf_type = str(resource.get("type") or "")
        instances = resource.get("instances")
        for instance in instances if isinstance(instances, list) else []:
            attributes = instance.get("attributes") if isinstance(instance, dict) else None
            if not isinstance(attributes, dict):
                continue
            key = instance.get("index_key")
            indexed = address if key is None else f"{address}[{json.dumps(key)}]"
            yield StateInstance(
                indexed[:255], tf_type, _ids(attributes), expected_attributes(tf_type, attributes)
            )


def _ids(attributes: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for name in ID_ATTRIBUTES:
        value = attributes.get(name)
        if not isinstance(value, str) or not value or len(value) > 500:
            continue
        candidates = [value]
        if "/projects/" in value:
            candidates.append("projects/" + value.split("/projects/", 1)[1])
        found.extend(c for c in candidates if c not in found)
    return found


def deployment_resources_record(*, organization_id: int, deployment_id: int, state: bytes) -> None:
    """Replace the deployment's provider ids with those of `state` (its new current state)."""
    DeploymentResource.objects.filter(deployment_id=deployment_id).delete()
    rows: list[DeploymentResource] = []
    for instance in state_instances(state):
        expected = {"type": instance.type, **instance.expected}
        rows.extend(
            DeploymentResource(organization_id=organization_id, deployment_id=deployment_id,
                               address=instance.address, provider_id=rid, key=rid.lower(),
                               expected=expected)
            for rid in instance.ids
        )  # fmt: skip
        if len(rows) >= MAX_ROWS:
            del rows[MAX_ROWS:]
            break
    DeploymentResource.objects.bulk_create(rows, batch_size=1000)


def _keys(organization_id: int) -> QuerySet:
    return DeploymentResource.objects.filter(organization_id=organization_id).values("key")


def _owners(organization_id: int, keys: Collection[str]) -> dict[str, list[ManagedBy]]:
    owners: dict[str, list[ManagedBy]] = {}
    rows = (
        DeploymentResource.objects.filter(organization_id=organization_id, key__in=sorted(keys))
        .values_list("key", "deployment_id", "deployment__name")
        .order_by("deployment__name", "deployment_id")
        .distinct()
    )
    for key, pk, name in rows:
        owner = ManagedBy(pk, name, reverse("provisioning:deployment_detail", args=[pk]))
        if owner not in owners.setdefault(key, []):
            owners[key].append(owner)
    return owners


MANAGED_SOURCE = ManagedSource(keys=_keys, owners=_owners)
