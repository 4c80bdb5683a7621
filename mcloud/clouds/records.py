"""Normalizing what providers send, and the one check between adapters and the inventory.

- An adapter turns every item a provider lists into a `ResourceRecord` or a `Skip` that says
  why it could not (no id, unreadable): nothing a provider sends raises past the adapter,
  beyond the `CloudError` of a listing that failed as a whole. The `clean_*` helpers below are
  what adapters normalize with (text without NUL or lone surrogates, within the column sizes;
  metadata as bounded JSON).
- `listing_checked` is the single validation step at the boundary: every record it lets
  through fits the inventory's columns, ids are unique (duplicates merged and counted), and
  whatever fails the check becomes a counted skip. The ingest takes nothing else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from mcloud.clouds.base import (
    MAX_DEPTH,
    MAX_ID,
    MAX_ITEMS,
    MAX_METADATA,
    MAX_NAME,
    MAX_REGION,
    MAX_TEXT,
    STATUSES,
    TYPES,
    UNKNOWN_REGION,
    Listing,
    ResourceRecord,
    Skip,
    Status,
)


# --- normalizing what providers send ------------------------------------------------------
def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Any value as display-safe text: None is "", enums their value, no NUL characters or
    lone surrogates (PostgreSQL refuses both), surrounding space stripped, at most `limit`."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.strip()[:limit]


def last_segment(resource_id: str) -> str:
    """The last part of a path-like id: ".../virtualMachines/web-1" -> "web-1"."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


def clean_json(value: Any, depth: int = 0) -> Any:
    """`value` as bounded JSON: strings cleaned, non-finite numbers null, datetimes ISO text,
    lists and mappings at most MAX_ITEMS long and MAX_DEPTH deep, anything else as text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return clean_json(value.value, depth)
    if depth >= MAX_DEPTH:
        return clean_text(value)
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {clean_text(k, 128): clean_json(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean_json(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return clean_text(value)


def clean_tags(value: Any) -> dict[str, str]:
    """Tags or labels as {text: text}; entries without a key are dropped."""
    if not isinstance(value, Mapping):
        return {}
    tags: dict[str, str] = {}
    for key, tag in list(value.items())[:MAX_ITEMS]:
        key = clean_text(key)
        if key:
            tags[key] = clean_text(tag)
    return tags


def clean_ids(value: Any, *, own: str = "") -> list[str]:
    """Provider ids (of what a resource is attached to) as a list of distinct ids that fit
    the id column, in the order given, without `own`; at most MAX_ITEMS."""
    if value is None or isinstance(value, str | bytes) or not isinstance(value, Iterable):
        value = [value] if isinstance(value, str) else []
    ids: list[str] = []
    for item in value:
        rid = clean_text(item, MAX_ID + 1)
        if rid and len(rid) <= MAX_ID and rid != own and rid not in ids:
            ids.append(rid)
        if len(ids) == MAX_ITEMS:
            break
    return ids


def clean_datetime(value: Any) -> datetime | None:
    """A provider's timestamp in UTC (naive ones taken as UTC); None for anything else."""
    if not isinstance(value, datetime):
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def record_or_skip(
    *,
    kind: str,
    resource_id: Any,
    name: Any,
    type: str,
    region: Any,
    status: str,
    created_at: Any = None,
    tags: Any = None,
    metadata: Any = None,
    attached_to: Any = None,
    where: str = "",
) -> ResourceRecord | Skip:
    """A normalized record of one provider item, or the reason it cannot be one.

    The name falls back to the id's last segment; a missing region is "unknown"; an unknown
    status is Status.UNKNOWN (adapters keep the provider's word as `provider_status`)."""
    rid = clean_text(resource_id, MAX_ID + 1)
    label = clean_text(name, 80) or where or "an item"
    if not rid:
        return Skip("no id", f"{kind} {label}")
    if len(rid) > MAX_ID:
        return Skip(f"id longer than {MAX_ID} characters", f"{kind} {rid[:80]}…")
    return ResourceRecord(
        resource_id=rid,
        name=clean_text(name, MAX_NAME) or last_segment(rid)[:MAX_NAME],
        type=type,
        region=clean_text(region, MAX_REGION).lower() or UNKNOWN_REGION,
        status=status if status in STATUSES else Status.UNKNOWN,
        created_at=clean_datetime(created_at),
        tags=clean_tags(tags),
        metadata=_bounded(clean_json(metadata or {})),
        attached_to=clean_ids(attached_to, own=rid),
    )


def _bounded(metadata: Any) -> dict[str, Any]:
    """Metadata within MAX_METADATA characters: the longest values go first, as text."""
    if not isinstance(metadata, dict):
        return {}
    while len(_encoded(metadata)) > MAX_METADATA:
        key = max(metadata, key=lambda k: len(_encoded(metadata[k])))
        metadata[key] = "(too large to keep)"
        if all(v == "(too large to keep)" for v in metadata.values()):
            break
    return metadata


def _encoded(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


# --- the check between adapters and the inventory ---------------------------------------
@dataclass(frozen=True)
class CheckedListing:
    """What the ingest takes: records that passed `listing_checked`, one per id, and the
    skips and merges that made it so. Made only by `listing_checked`."""

    records: tuple[ResourceRecord, ...]
    skips: tuple[Skip, ...] = ()
    merged: tuple[str, ...] = ()  # ids listed more than once, each now one record
    # Types the provider denied listing (Listing.unlisted): their stored rows are kept.
    unlisted: frozenset[str] = frozenset()


def record_problem(record: Any) -> str | None:
    """What makes `record` unfit for the inventory, or None. The rules are the columns'."""
    if not isinstance(record, ResourceRecord):
        return "not a resource record"
    checks: tuple[tuple[str, bool], ...] = (
        ("invalid id", _fits(record.resource_id, MAX_ID) and bool(record.resource_id.strip())),
        ("invalid name", _fits(record.name, MAX_NAME) and bool(record.name)),
        ("invalid type", isinstance(record.type, str) and record.type in TYPES),
        ("invalid region", _fits(record.region, MAX_REGION) and bool(record.region)),
        ("invalid status", isinstance(record.status, str) and record.status in STATUSES),
        ("invalid creation time", record.created_at is None or _aware(record.created_at)),
        ("invalid tags", _valid_tags(record.tags)),
        ("invalid metadata", _valid_metadata(record.metadata)),
        ("invalid attachments", _valid_ids(record.attached_to)),
    )
    return next((problem for problem, ok in checks if not ok), None)


def listing_checked(listed: Listing | Iterable[Any]) -> CheckedListing:
    """The one validation step between adapters and the ingest (see the module docstring).

    A record that fails a rule becomes a skip naming the rule; a later record with the id of
    an earlier one is merged into it (the first one's fields, the later one's tags and
    metadata where the first has none) and its id counted once per extra listing."""
    skips = list(listed.skips) if isinstance(listed, Listing) else []
    kept: dict[str, ResourceRecord] = {}
    merged: list[str] = []
    for record in listed.records if isinstance(listed, Listing) else listed:
        problem = record_problem(record)
        if problem is not None:
            rid = getattr(record, "resource_id", None)
            skips.append(Skip(problem, clean_text(rid, 200) or repr(type(record).__name__)))
            continue
        first = kept.get(record.resource_id)
        if first is None:
            kept[record.resource_id] = record
            continue
        merged.append(record.resource_id)
        kept[record.resource_id] = _merge(first, record)
    unlisted = frozenset(listed.unlisted) & TYPES if isinstance(listed, Listing) else frozenset()
    return CheckedListing(tuple(kept.values()), tuple(skips), tuple(merged), unlisted)


def _merge(first: ResourceRecord, later: ResourceRecord) -> ResourceRecord:
    """`first`, with the tags, metadata keys and attachments only `later` has (if the union
    still fits)."""
    attached = first.attached_to + [a for a in later.attached_to if a not in first.attached_to]
    union = ResourceRecord(
        **{**vars(first), "tags": {**later.tags, **first.tags},
           "metadata": {**later.metadata, **first.metadata}, "attached_to": attached}
    )  # fmt: skip
    return first if record_problem(union) else union


def _fits(value: Any, limit: int) -> bool:
    """Text of at most `limit` characters that PostgreSQL and UTF-8 accept."""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _valid_tags(tags: Any) -> bool:
    return (
        isinstance(tags, dict)
        and len(tags) <= MAX_ITEMS
        and all(_fits(k, MAX_TEXT) and k and _fits(v, MAX_TEXT) for k, v in tags.items())
    )


def _valid_metadata(metadata: Any) -> bool:
    if not isinstance(metadata, dict):
        return False
    try:
        encoded = json.dumps(metadata, allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return False
    return len(encoded) <= MAX_METADATA and "\\u0000" not in encoded


def _valid_ids(ids: Any) -> bool:
    return (
        isinstance(ids, list)
        and len(ids) <= MAX_ITEMS
        and all(_fits(i, MAX_ID) and i.strip() for i in ids)
    )
