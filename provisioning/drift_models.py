"""Drift: what a deployment's resources look like against what its Terraform state says.

Two sources find it, each keeping its own list of differences:
- the inventory, after every sync of the deployment's account (no Terraform run: the state's
  attributes against the synced resources, `services.drift`);
- Terraform, by a scheduled refresh-only plan (a run of kind "drift check").

A deployment is drifted while either list holds something; `drifted_since` is when it last
became so (the "drift found" notification is sent then, once), and it is cleared when both
lists are empty again (a sync that finds things back in line, a clean drift check, an apply).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import Organization


class DeploymentDrift(models.Model):
    """The drift of one deployment. Each difference is a dict: `address` (Terraform's),
    `resource_id`, `kind` ("deleted" or "changed"), `attribute` ("existence", "region",
    "size", "status", "tags", or "attributes" from Terraform), `expected` and `actual` (text,
    display-safe: no attribute values beyond these)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    deployment = models.OneToOneField(
        "provisioning.Deployment", on_delete=models.CASCADE, related_name="drift"
    )
    inventory_differences = models.JSONField(default=list, blank=True)
    inventory_checked_at = models.DateTimeField(null=True, blank=True)
    terraform_differences = models.JSONField(default=list, blank=True)
    terraform_checked_at = models.DateTimeField(null=True, blank=True)
    terraform_run = models.ForeignKey(
        "provisioning.DeploymentRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The last drift check (refresh-only plan).",
    )
    drifted_since = models.DateTimeField(
        null=True, blank=True, help_text="When it last became drifted; empty when in line."
    )

    class Meta:
        indexes = [models.Index(fields=["organization", "drifted_since"])]

    def __str__(self) -> str:
        return f"drift of deployment {self.deployment_id}"

    @property
    def is_drifted(self) -> bool:
        return self.drifted_since is not None

    @property
    def differences(self) -> list[dict[str, Any]]:
        """Both lists, each difference with its `source`."""
        return [
            *({**d, "source": "inventory"} for d in self.inventory_differences),
            *({**d, "source": "terraform"} for d in self.terraform_differences),
        ]
