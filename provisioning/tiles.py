"""The dashboard's drift tile: the deployments that have drifted from their Terraform state,
in two queries whatever their number."""

from __future__ import annotations

from typing import Any

from accounts.tenancy import OrgRequest
from inventory.extensions import Tile
from provisioning.selectors import drifted_deployments

TILE_DEPLOYMENTS = 5


def drift(request: OrgRequest) -> dict[str, Any]:
    deployments, count = drifted_deployments(
        organization=request.organization, limit=TILE_DEPLOYMENTS
    )
    return {"deployments": deployments, "count": count, "more": count - len(deployments)}


DRIFT_TILE = Tile("drift", "Drift", "provisioning/tiles/drift.html", drift)
