"""Discovery under a management group against Azure's own published model of Get Descendants'
items (`DescendantInfo` of azure-mgmt-managementgroups, generated from the REST
specification; tests/clouds/schemas.py): any mix of groups and subscriptions, any field
missing or odd, gives the subscriptions' ids and never raises."""

from __future__ import annotations

from azure.mgmt.managementgroups.models import DescendantInfo
from hypothesis import given
from hypothesis import strategies as st

from mcloud.clouds.azure.adapter import subscriptions_below
from tests.clouds import schemas

SUBSCRIPTION = "Microsoft.Management/managementGroups/subscriptions"


@given(st.lists(schemas.from_azure_model(DescendantInfo), max_size=4))
def test_any_descendants_give_the_subscriptions_ids(wires):
    items = [DescendantInfo(wire) for wire in wires]
    found = subscriptions_below(items)
    assert all(isinstance(s, str) and s and s == s.lower() for s in found)
    expected = {
        str(w["name"]).strip().lower()
        for w in wires
        if str(w.get("type") or "").lower().endswith("/subscriptions")
        and isinstance(w.get("name"), str)
        and "\x00" not in w["name"]
        and w["name"].strip()
        and len(w["name"].strip()) <= 64
    }
    assert expected <= found


def test_groups_are_not_subscriptions():
    items = [
        DescendantInfo({"type": "Microsoft.Management/managementGroups", "name": "mg-web"}),
        DescendantInfo({"type": SUBSCRIPTION, "name": "AAAA-1"}),
        DescendantInfo({"type": SUBSCRIPTION}),
        DescendantInfo({}),
    ]
    assert subscriptions_below(items) == {"aaaa-1"}
