"""The card on a resource's page that links a managed resource to its deployment."""

from __future__ import annotations

from typing import Any

from accounts.tenancy import OrgRequest
from inventory.extensions import ResourcePanel
from inventory.models import Resource
from provisioning.models import Deployment


def _context(request: OrgRequest, resource: Resource) -> dict[str, Any] | None:
    ref = resource.deployment_ref
    if not ref:
        return None
    deployment = (
        Deployment.objects.filter(organization_id=resource.organization_id, pk=int(ref))
        .select_related("blueprint_version__blueprint")
        .first()
        if ref.isdigit()
        else None
    )
    return {"deployment": deployment, "ref": ref}


RESOURCE_PANEL = ResourcePanel(
    name="provisioning",
    template="provisioning/includes/resource_panel.html",
    context=_context,
)
