"""What a resource costs a month at list price: the inventory's estimates, from the price
catalog (`inventory.pricing`), never from a bill.

A resource is priced by its kind (`KINDS`: a VM, disk, snapshot, public IP, NAT gateway,
load balancer or database), its size (the metadata keys its provider's registry entry names
in `price_sizes`: a machine type, disk class or database class) and its region; a disk or
snapshot by its `size_gb` too. A month is 730 hours of it running. Anything else (a bucket,
whose cost is its usage; a type the catalog does not hold) has no estimate: None, never zero.

Every figure here is an estimate: pages and exports say so.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from inventory.models import PriceKind
from inventory.pricing import PriceQuery, monthly_usd
from mcloud.clouds.base import ResourceType
from mcloud.clouds.registry import UnknownProvider, provider_get

KINDS: dict[str, str] = {
    ResourceType.VM: PriceKind.VM,
    ResourceType.DISK: PriceKind.DISK,
    ResourceType.SNAPSHOT: PriceKind.SNAPSHOT,
    ResourceType.IP_ADDRESS: PriceKind.IP,
    ResourceType.NAT_GATEWAY: PriceKind.NAT_GATEWAY,
    ResourceType.LOAD_BALANCER: PriceKind.LOAD_BALANCER,
    ResourceType.DATABASE: PriceKind.DATABASE,
}
# Kinds priced per GiB of the resource's `size_gb`.
PER_GIB = frozenset({PriceKind.DISK, PriceKind.SNAPSHOT})


def price_query(
    *, provider: str, type: str, region: str, metadata: Mapping[str, Any]
) -> PriceQuery | None:
    """The catalog query that prices one resource, or None when nothing would."""
    kind = KINDS.get(type)
    if kind is None:
        return None
    try:
        keys = provider_get(provider).price_sizes.get(type, ())
    except UnknownProvider:
        return None
    size = next((str(metadata[k]) for k in keys if metadata.get(k)), "")
    quantity = 1.0
    if kind in PER_GIB:
        try:
            quantity = float(metadata.get("size_gb") or 0)
        except (TypeError, ValueError):
            return None
        if not quantity > 0:
            return None
    return PriceQuery(provider, kind, size, region, quantity)


def monthly_estimates[K: Hashable](
    items: Iterable[tuple[K, PriceQuery | None]],
) -> dict[K, Decimal | None]:
    """{key: its monthly estimate in USD, or None}, for (key, query) pairs, in one read of
    the catalog."""
    pairs = list(items)
    prices = monthly_usd(q for _, q in pairs if q is not None)
    return {key: (prices[q] if q is not None else None) for key, q in pairs}


def resource_estimates(resources: Iterable[Any]) -> dict[int, Decimal | None]:
    """{pk: monthly estimate} of stored resources (rows with `provider`, `type`, `region`
    and `metadata`), in one read of the catalog."""
    return monthly_estimates(
        (
            r.pk,
            price_query(
                provider=r.provider, type=r.type, region=r.region, metadata=r.metadata or {}
            ),
        )
        for r in resources
    )
