"""Each adapter's normalization against items generated from the providers' own published
API descriptions (tests/clouds/schemas.py), not from our emulators. No database, no network:
the items go through the same code the listings call, after the same SDK step (botocore's
parsed dicts; Compute's messages parsed from JSON as the REST transport parses them; Cloud
Storage's JSON; Azure's are in test_normalization_azure.py).

Properties, for any list of such items:
- normalization never raises;
- an item with an id becomes a record, one without becomes a skip saying "no id" (or that
  its id is too long to keep);
- every record is valid as it leaves the adapter (the boundary check finds nothing to skip);
- after the boundary check, each id is exactly one record: records + merged = made records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from google.cloud import compute_v1
from hypothesis import given
from hypothesis import strategies as st

from mcloud.clouds import aws, gcp
from mcloud.clouds.base import MAX_ID, Listing, ResourceRecord, Skip
from mcloud.clouds.records import clean_text, listing_checked, record_problem
from tests.clouds import schemas

ACCEPTED_SKIPS = ("no id", f"id longer than {MAX_ID} characters")


def _check(made: list[ResourceRecord | Skip], has_id: list[bool]) -> None:
    for result, identified in zip(made, has_id, strict=True):
        if identified:
            assert isinstance(result, ResourceRecord) or result.reason == ACCEPTED_SKIPS[1], result
        else:
            assert isinstance(result, Skip), result
            assert result.reason == "no id", result
    records = [r for r in made if isinstance(r, ResourceRecord)]
    for record in records:
        assert record_problem(record) is None, record
    listing = Listing()
    for result in made:
        listing.add(result)
    checked = listing_checked(listing)
    assert {s.reason for s in checked.skips} <= set(ACCEPTED_SKIPS)
    assert len(checked.skips) == len(made) - len(records)
    assert len(checked.records) == len({r.resource_id for r in records})
    assert len(checked.records) + len(checked.merged) == len(records)
    assert all(record_problem(r) is None for r in checked.records)


def _usable(value: Any) -> bool:
    return isinstance(value, str) and bool(clean_text(value, MAX_ID + 1))


# --- AWS: botocore's service models -----------------------------------------------------
AWS_LISTS: list[tuple[str, str, tuple[str, ...], Callable[..., Any], str]] = [
    ("ec2", "DescribeInstances", ("Reservations", "Instances"), aws.instance_record, "InstanceId"),
    ("ec2", "DescribeVolumes", ("Volumes",), aws.volume_record, "VolumeId"),
    ("ec2", "DescribeVpcs", ("Vpcs",), aws.vpc_record, "VpcId"),
    ("rds", "DescribeDBInstances", ("DBInstances",), aws.database_record, "DBInstanceArn"),
]


@pytest.mark.parametrize(("service", "operation", "path", "build", "key"), AWS_LISTS,
                         ids=[op for _, op, *_ in AWS_LISTS])  # fmt: skip
def test_aws_items_normalize(service, operation, path, build, key):
    item = schemas.from_botocore(schemas.aws_item_shape(service, operation, path))

    @given(items=st.lists(item, max_size=4), duplicate=st.booleans())
    def check(items: list[dict[str, Any]], duplicate: bool) -> None:
        items = items + items[:1] if duplicate else items
        made = [aws.made(operation, i, build, "eu-west-1") for i in items]
        _check(made, [_usable(i.get(key)) for i in items])

    check()


def test_aws_buckets_normalize():
    item = schemas.from_botocore(schemas.aws_item_shape("s3", "ListBuckets", ("Buckets",)))
    tags = schemas.from_botocore(schemas.aws_item_shape("s3", "GetBucketTagging", ("TagSet",)))

    @given(items=st.lists(item, max_size=4), tag_list=st.lists(tags, max_size=3))
    def check(items: list[dict[str, Any]], tag_list: list[dict[str, Any]]) -> None:
        made = [
            aws.made("bucket", i, aws.bucket_record, "eu-west-1", aws._tags(tag_list))
            for i in items
        ]
        _check(made, [_usable(i.get("Name")) for i in items])

    check()


# --- Azure: in tests/clouds/test_normalization_azure.py (rows as Resource Graph returns them)


# --- GCP: Google's discovery documents --------------------------------------------------
# Compute's instances; the asset inventory's items are in test_normalization_gcp.py.
GCP_LISTS = [
    ("Instance", compute_v1.Instance, gcp.instance_record),
]


@pytest.mark.parametrize(("schema", "message", "build"), GCP_LISTS, ids=[s for s, *_ in GCP_LISTS])
def test_gcp_compute_items_normalize(schema, message, build):
    @given(items=st.lists(schemas.from_discovery("compute.v1", schema), max_size=3))
    def check(items: list[dict[str, Any]]) -> None:
        # As the REST transport reads a page: JSON into the message, unknown fields ignored.
        parsed = [message.from_json(json.dumps(i), ignore_unknown_fields=True) for i in items]
        made = [gcp.made(schema, p, build, "acme-prod") for p in parsed]
        _check(made, [_usable(i.get("name")) for i in items])

    check()


# --- when a stopped VM stopped: the provider's word, or nothing ----------------------------
@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("User initiated (2026-01-01 12:00:00 GMT)", "2026-01-01T12:00:00+00:00"),
        ("User initiated (2026-01-01 12:00:00 UTC)", "2026-01-01T12:00:00+00:00"),  # moto
        ("Server.ScheduledStop", None),
        ("User initiated", None),
        ("User initiated (2026-13-45 99:00:00 GMT)", None),
        ("User initiated (2026-01-01 12:00:00 PST)", None),
        ("User initiated (\uff12\uff10\uff12\uff16-01-01 12:00:00 GMT)", None),  # wide digits
        ("(" * 100_000, None),
        (None, None),
        (20260101, None),
        ({"when": "2026-01-01 12:00:00 GMT"}, None),
    ],
)
def test_aws_stop_times_are_read_from_the_reason_or_ignored(reason, expected):
    from mcloud.clouds.aws.records_compute import stopped_at

    assert stopped_at(reason) == expected


@given(reason=st.text(max_size=80) | st.none() | st.integers())
def test_an_aws_stop_time_is_utc_iso_or_nothing_whatever_the_reason(reason):
    from datetime import UTC, datetime

    from mcloud.clouds.aws.records_compute import stopped_at

    found = stopped_at(reason)
    assert found is None or datetime.fromisoformat(found).tzinfo == UTC


@pytest.mark.parametrize(("state", "kept"), [("stopped", True), ("running", False)])
def test_only_a_stopped_aws_instance_says_when_it_stopped(state, kept):
    item = {
        "InstanceId": "i-1",
        "State": {"Name": state},
        "StateTransitionReason": "User initiated (2026-01-01 12:00:00 GMT)",
    }
    record = aws.made("instance", item, aws.instance_record, "eu-west-1")
    assert isinstance(record, ResourceRecord)
    assert record.metadata.get("stopped_at") == ("2026-01-01T12:00:00+00:00" if kept else None)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "TERMINATED", "lastStopTimestamp": "2026-01-01T04:00:00.000-08:00"},
         "2026-01-01T12:00:00+00:00"),
        ({"status": "STOPPED", "lastStopTimestamp": "2026-01-01T12:00:00Z"},
         "2026-01-01T12:00:00+00:00"),
        ({"status": "SUSPENDED", "lastSuspendedTimestamp": "2026-01-01T12:00:00Z",
          "lastStopTimestamp": "2025-01-01T12:00:00Z"}, "2026-01-01T12:00:00+00:00"),
        ({"status": "RUNNING", "lastStopTimestamp": "2026-01-01T12:00:00Z"}, None),
        ({"status": "TERMINATED"}, None),
        ({"status": "TERMINATED", "lastStopTimestamp": "yesterday"}, None),
        ({"status": "TERMINATED", "lastStopTimestamp": "9999-12-31T23:59:59-23:59"}, None),
        ({"status": "TERMINATED", "lastStopTimestamp": "\x00" * 5000}, None),
    ],
)  # fmt: skip
def test_gcp_stop_times_are_read_from_compute_or_ignored(fields, expected):
    item = compute_v1.Instance.from_json(json.dumps({"name": "vm-1", **fields}))
    record = gcp.made("Instance", item, gcp.instance_record, "acme-prod")
    assert isinstance(record, ResourceRecord)
    assert record.metadata.get("stopped_at") == expected


@given(status=st.sampled_from(["TERMINATED", "SUSPENDED", "RUNNING"]), when=st.text(max_size=40))
def test_a_gcp_stop_time_is_utc_iso_or_nothing_whatever_compute_sends(status, when):
    from datetime import UTC, datetime

    message = {"name": "vm-1", "status": status, "lastStopTimestamp": when,
               "lastSuspendedTimestamp": when}  # fmt: skip
    item = compute_v1.Instance.from_json(json.dumps(message))
    record = gcp.made("Instance", item, gcp.instance_record, "acme-prod")
    assert isinstance(record, ResourceRecord)
    found = record.metadata.get("stopped_at")
    assert found is None or datetime.fromisoformat(found).tzinfo == UTC
