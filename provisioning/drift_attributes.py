"""What a Terraform state says about a resource, in the inventory's terms: the attributes drift
is checked on (region, size or type, provider status, tags).

Only what the state actually says is kept: an attribute the state of a resource type does not
hold is absent, never guessed, so it is never compared. The table names the Terraform resource
types of the bundled blueprints and their common neighbours; a type it does not name keeps its
region and tags only (most providers spell those alike), and its existence.

Tags: AWS resources carry the provider's default tags in `tags_all` (`tags` is only what the
resource block set), Google's provider 5 keeps every label in `effective_labels` (`labels` is
only what the block set; provider 4 had only `labels`), Azure's `tags` are the resource's own.
"""

from __future__ import annotations

from typing import Any

# Terraform type -> (the state's attribute, the inventory's metadata key) for the size or type.
SIZES: dict[str, tuple[str, str]] = {
    "aws_instance": ("instance_type", "instance_type"),
    "aws_ebs_volume": ("size", "size_gb"),
    "azurerm_linux_virtual_machine": ("size", "vm_size"),
    "azurerm_windows_virtual_machine": ("size", "vm_size"),
    "azurerm_managed_disk": ("disk_size_gb", "size_gb"),
    "google_compute_instance": ("machine_type", "machine_type"),
    "google_compute_disk": ("size", "size_gb"),
}
# Terraform type -> the state's attribute holding the provider's own status word (compared
# with the inventory's `provider_status`, case aside).
STATUSES: dict[str, str] = {
    "aws_instance": "instance_state",
    "google_compute_instance": "current_status",
}
# Tags, most complete first: the first attribute the state holds is the one compared.
TAG_ATTRIBUTES = ("tags_all", "effective_labels", "tags", "labels")
# Types whose `tags` or `labels` alone are not the whole set the resource carries.
PARTIAL_TAGS = ("aws_",)
# Tags the cloud sets itself, which no configuration holds.
CLOUD_TAG_PREFIXES = ("aws:", "goog-")


def expected_attributes(tf_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """{"region", "size", "status", "tags"}: those the state's `attributes` say."""
    found: dict[str, Any] = {}
    region = _region(attributes)
    if region:
        found["region"] = region
    if tf_type in SIZES:
        value = attributes.get(SIZES[tf_type][0])
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            found["size"] = _last(value) if isinstance(value, str) else value
    if tf_type in STATUSES:
        value = attributes.get(STATUSES[tf_type])
        if isinstance(value, str) and value:
            found["status"] = value.lower()
    tags = _tags(tf_type, attributes)
    if tags is not None:
        found["tags"] = tags
    return found


def size_key(tf_type: str) -> str | None:
    """The inventory's metadata key of the type's size, or None."""
    return SIZES[tf_type][1] if tf_type in SIZES else None


def region_normalized(value: str) -> str:
    """Azure says "West Europe" or "westeurope": compared without case or spaces."""
    return value.replace(" ", "").lower()


def tags_visible(tags: dict[str, Any]) -> dict[str, str]:
    """Tags as compared: the cloud's own (aws:..., goog-...) left out, values as text."""
    return {
        str(k): "" if v is None else str(v)
        for k, v in tags.items()
        if not str(k).lower().startswith(CLOUD_TAG_PREFIXES)
    }


def _region(attributes: dict[str, Any]) -> str:
    for name in ("region", "location"):
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return region_normalized(value)
    zone = attributes.get("zone")
    if isinstance(zone, str) and zone.count("-") >= 2:  # a GCP zone: us-central1-a
        return _last(zone).rsplit("-", 1)[0].lower()
    arn = attributes.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":")
        if len(parts) > 3 and parts[3]:  # arn:aws:ec2:eu-west-1:123:instance/i-1
            return parts[3].lower()
    return ""


def _tags(tf_type: str, attributes: dict[str, Any]) -> dict[str, str] | None:
    for name in TAG_ATTRIBUTES:
        if name not in attributes:
            continue
        if name in ("tags", "labels") and tf_type.startswith(PARTIAL_TAGS):
            return None  # without tags_all, the default tags are unknown: not compared
        value = attributes.get(name)
        if value is None:
            return {}
        return tags_visible(value) if isinstance(value, dict) else None
    return None


def _last(value: str) -> str:
    """A machine type may be a URL or a path: its last part is the name."""
    return value.rstrip("/").rsplit("/", 1)[-1]
