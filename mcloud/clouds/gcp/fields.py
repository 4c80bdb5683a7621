"""Reading what GCP sends, whatever it holds: fields of JSON that may be any type, resource
paths, places and times. Nothing here raises on provider data.

Resource ids, and every reference between resources, take one form: the resource's path from
"projects/" (`projects/acme/zones/us-central1-a/disks/web-1`), which is a Compute selfLink
without its host and version and a Cloud Asset name without its `//service.googleapis.com/`.
References by project number are rewritten to the project's id, GKE's "zones/" paths to
"locations/", so that both ends of a link read the same."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mcloud.clouds.base import ResourceRecord, Skip
from mcloud.clouds.records import clean_datetime, clean_text

GLOBAL_REGION = "global"
_BEFORE_PROJECTS = re.compile(r"^.*?/(?=projects/)")
_ASSET_SERVICE = re.compile(r"^//[^/]+/")
_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")
_GKE_ZONES = re.compile(r"^(projects/[^/]+)/zones/")


Build = Callable[..., ResourceRecord | Skip]


def made(kind: str, item: Any, build: Build, *args: Any) -> ResourceRecord | Skip:
    """build(item, *args), or a Skip when the build fails on something unforeseen: one item
    never fails its listing."""
    try:
        return build(item, *args)
    except Exception as error:  # noqa: BLE001 - an unforeseen item is a skip, never a failure
        name = item.get("name") if isinstance(item, dict) else getattr(item, "name", "")
        return Skip(
            f"unreadable ({error.__class__.__name__})",
            f"{kind} {clean_text(name if isinstance(name, str) else '', 200)}",
        )


# --- fields of JSON that may hold anything -------------------------------------------------
def text(value: Any) -> str:
    """A string as sent; anything else is ""."""
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dig(value: Any, *keys: str) -> Any:
    """value[k1][k2]..., or None where a step is not a mapping or lacks the key."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def number(value: Any) -> int | None:
    """A whole number sent as a number (Struct makes every number a float) or as digits (how
    JSON carries int64)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return None


def strings(value: Any) -> list[str]:
    """The strings of a list (anything else in it is dropped)."""
    return [v for v in listed(value) if isinstance(v, str)]


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (Compute's creationTimestamp, Storage's timeCreated), in UTC."""
    if not value or not isinstance(value, str):
        return None
    try:
        return clean_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- paths and places ----------------------------------------------------------------------
def last(url: str) -> str:
    """The last segment of a resource URL: .../machineTypes/e2-medium -> e2-medium."""
    return url.rstrip("/").rsplit("/", 1)[-1] if url else ""


def parent(url: str) -> str:
    """.../regions/us-east1/subnetworks/default -> .../regions/us-east1."""
    return url.rstrip("/").rsplit("/", 2)[0] if url else ""


def path(url: str) -> str | None:
    """A resource URL as its path from "projects/" (None for none)."""
    return _BEFORE_PROJECTS.sub("", url) if url else None


def zone_region(zone: str) -> str:
    """us-central1-a -> us-central1 ("" for no zone)."""
    return zone.rsplit("-", 1)[0] if zone else ""


def location_region(location: str) -> str:
    """The region of a location that is a zone or a region (or a multi-region: as is)."""
    return zone_region(location) if _ZONE.match(location) else location


def asset_path(name: str) -> str:
    """A Cloud Asset name as a path: //compute.googleapis.com/projects/p/... -> projects/p/...;
    GKE's zonal paths as "locations/" ones."""
    found = _ASSET_SERVICE.sub("", name) if name.startswith("//") else name
    if name.startswith("//container.googleapis.com/"):
        found = _GKE_ZONES.sub(r"\1/locations/", found)
    return found


class Paths:
    """Turns a project's references into ids: full or partial URLs, by project id or number."""

    def __init__(self, project: str, number: str = "") -> None:
        self.project = project
        self.number = number

    def of(self, ref: Any) -> str:
        """A Compute reference (URL, path or "global/..."/"regions/..."/"zones/...") as an id,
        "" for anything else."""
        if not isinstance(ref, str) or not ref.strip():
            return ""
        found = _BEFORE_PROJECTS.sub("", ref.strip()).rstrip("/")
        if found.startswith(("global/", "regions/", "zones/")):
            found = f"projects/{self.project}/{found}"
        if not found.startswith("projects/"):
            return ""
        if self.number and found.startswith(f"projects/{self.number}/"):
            found = f"projects/{self.project}/" + found[len(f"projects/{self.number}/") :]
        return found

    def network(self, ref: Any) -> str:
        """A network by reference or by bare name (GKE's `network: default`)."""
        if isinstance(ref, str) and ref and "/" not in ref:
            return f"projects/{self.project}/global/networks/{ref}"
        return self.of(ref)

    def subnetwork(self, ref: Any, region: str) -> str:
        """A subnetwork by reference or by bare name in `region`."""
        if isinstance(ref, str) and ref and "/" not in ref:
            return f"projects/{self.project}/regions/{region}/subnetworks/{ref}" if region else ""
        return self.of(ref)


def compute_place(data: dict[str, Any]) -> tuple[str, str]:
    """(region, zone) of a Compute resource: zonal ones name a zone, regional ones a region,
    global ones neither."""
    zone = last(text(data.get("zone")))
    if zone:
        return zone_region(zone), zone
    return last(text(data.get("region"))) or GLOBAL_REGION, ""
