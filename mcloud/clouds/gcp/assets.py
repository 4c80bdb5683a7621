"""Cloud Asset Inventory's assets as the record builders read them, and which asset types a
project's listing asks for.

An asset arrives as the SDK parsed it (asset_v1.Asset: the resource's own API JSON is a
protobuf Struct, in which every number is a float); `asset_item` makes it an `AssetItem`
with that JSON as plain data, or a Skip when even that fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.cloud import asset_v1
from google.protobuf import json_format

from mcloud.clouds.base import Skip
from mcloud.clouds.gcp.fields import asset_path
from mcloud.clouds.records import clean_text

COMPUTE = "compute.googleapis.com/"
# Types that become records (see inventory.BUILDERS), and types read only for what they link:
# a forwarding rule reaches its backends through target proxies, URL maps and target pools.
LINK_TYPES = tuple(
    COMPUTE + kind
    for kind in (
        "TargetHttpProxy",
        "TargetHttpsProxy",
        "TargetSslProxy",
        "TargetTcpProxy",
        "UrlMap",
        "TargetPool",
    )
)
ASSET_PAGE_SIZE = 1000  # the most ListAssets returns per page


@dataclass(frozen=True)
class AssetItem:
    """One asset: its full name ("//compute.googleapis.com/projects/..."), type, the path
    that is its id, the resource's API JSON, its location and parent (the project, by
    number: "//cloudresourcemanager.googleapis.com/projects/123")."""

    name: str
    asset_type: str
    data: dict[str, Any] = field(default_factory=dict)
    location: str = ""
    parent: str = ""

    @property
    def path(self) -> str:
        return asset_path(self.name)

    def get(self, key: str, default: Any = None) -> Any:
        """A field of the resource's JSON."""
        return self.data.get(key, default)


def asset_item(asset: asset_v1.Asset) -> AssetItem | Skip:
    """The asset as plain data; a Skip when its resource data cannot be read back (a number
    that is not finite)."""
    try:
        message = asset_v1.Asset.pb(asset)
        data = json_format.MessageToDict(message.resource.data)
    except (ValueError, TypeError, RecursionError, json_format.Error) as error:
        return Skip(f"unreadable ({error.__class__.__name__})", clean_text(asset.name, 200))
    return AssetItem(
        name=asset.name,
        asset_type=asset.asset_type,
        data=data if isinstance(data, dict) else {},
        location=asset.resource.location,
        parent=asset.resource.parent,
    )
