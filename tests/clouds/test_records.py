"""The record vocabulary and the attachments a record carries (mcloud.clouds.records)."""

from __future__ import annotations

from inventory.models import ResourceType as InventoryType
from mcloud.clouds.base import MAX_ID, MAX_ITEMS, TYPES, ResourceRecord
from mcloud.clouds.records import clean_ids, listing_checked, record_or_skip, record_problem


def test_the_inventory_knows_every_type_adapters_make():
    assert {t.value for t in InventoryType} == set(TYPES)
    assert max(len(t) for t in TYPES) <= 16  # Resource.type's max_length


def test_attachments_are_distinct_ids_without_the_resource_itself():
    made = record_or_skip(
        kind="vm", resource_id="i-1", name="web", type="vm", region="us-east-1",
        status="running",
        attached_to=["vol-1", None, "", "vol-1", "i-1", "  sg-1 ", 7, "x" * (MAX_ID + 1)],
    )  # fmt: skip
    assert isinstance(made, ResourceRecord)
    assert made.attached_to == ["vol-1", "sg-1", "7"]


def test_odd_attachment_values_become_an_empty_or_single_list():
    assert clean_ids(None) == []
    assert clean_ids({"a": 1}) == ["a"]
    assert clean_ids("vol-1") == ["vol-1"]
    assert clean_ids(b"vol-1") == []
    assert len(clean_ids(f"v{i}" for i in range(MAX_ITEMS + 50))) == MAX_ITEMS


def test_a_record_with_unfit_attachments_is_a_counted_skip():
    record = ResourceRecord("d-1", "d", "disk", "eu", "available", attached_to=["ok", ""])
    assert record_problem(record) == "invalid attachments"
    checked = listing_checked([record])
    assert checked.records == ()
    assert checked.skips[0].reason == "invalid attachments"


def test_a_merged_record_keeps_both_listings_attachments():
    first = ResourceRecord("i-1", "a", "vm", "eu", "running", attached_to=["vol-1"])
    later = ResourceRecord("i-1", "a", "vm", "eu", "running", attached_to=["vol-2", "vol-1"])
    (merged,) = listing_checked([first, later]).records
    assert merged.attached_to == ["vol-1", "vol-2"]
