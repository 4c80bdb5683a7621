"""The card on a resource's page that links a managed resource to its deployment.

Managed means in the current state of a deployment of the organization (`inventory.managed`);
the `mcloud-deployment` tag alone proves nothing, and the card says so when it is all there is."""

from __future__ import annotations

from typing import Any

from accounts.tenancy import OrgRequest
from inventory.extensions import ResourcePanel
from inventory.models import Resource
from provisioning.models import Deployment


def _context(request: OrgRequest, resource: Resource) -> dict[str, Any] | None:
    # The page has asked which deployments' states hold the resource (`managed_by`).
    pks = [m.pk for m in getattr(resource, "managed_by", [])]
    if not pks and not resource.deployment_ref:
        return None
    deployments = list(
        Deployment.objects.filter(organization_id=resource.organization_id, pk__in=pks)
        .select_related("blueprint_version__blueprint")
        .order_by("name")
    ) if pks else []  # fmt: skip
    return {"deployments": deployments, "ref": resource.deployment_ref}


RESOURCE_PANEL = ResourcePanel(
    name="provisioning",
    template="provisioning/includes/resource_panel.html",
    context=_context,
)
