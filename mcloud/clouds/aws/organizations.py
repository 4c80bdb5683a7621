"""An AWS organization's member accounts, for discovery (AWS Organizations).

The connection signs in to the management account (or a delegated administrator) and lists
every account of the organization with `ListAccounts`, each with its place in the tree of
organizational units (`ListParents` up to the root, the units' names from
`DescribeOrganizationalUnit`, asked once per unit). The account the connection signs in to
is not a member: the connection covers it itself. Suspended and closing accounts are listed
as inactive, so that discovery retires them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcloud.clouds.aws.errors import translate_errors
from mcloud.clouds.base import Member
from mcloud.clouds.records import clean_text

if TYPE_CHECKING:
    from mcloud.clouds.aws.adapter import AwsAdapter

_ACTIVE = "ACTIVE"


def organization_members(adapter: AwsAdapter) -> list[Member]:
    """Every account of the connection's organization but its own, sorted by name."""
    with translate_errors("identify the account"):
        own = adapter.client("sts").get_caller_identity().get("Account")
    org = adapter.client("organizations")
    members: list[Member] = []
    names: dict[str, str] = {}
    with translate_errors("list the organization's accounts"):
        for page in org.get_paginator("list_accounts").paginate():
            for item in page.get("Accounts") or []:
                member_id = clean_text(item.get("Id"), 32) if isinstance(item, dict) else ""
                if not member_id.isdigit() or member_id == own:
                    continue
                members.append(
                    Member(
                        member_id=member_id,
                        name=clean_text(item.get("Name"), 100) or member_id,
                        path=_path(org, member_id, names),
                        active=(item.get("State") or item.get("Status")) == _ACTIVE,
                    )
                )
    return sorted(members, key=lambda m: (m.name.lower(), m.member_id))


def _path(org: Any, child_id: str, names: dict[str, str]) -> str:
    """ "Root / Workloads / Prod": the units above `child_id`, up to the root."""
    parts: list[str] = []
    for _ in range(6):  # AWS nests units at most five deep under the root
        parents = org.list_parents(ChildId=child_id).get("Parents") or []
        if not parents:
            break
        parent = parents[0]
        parent_id = parent.get("Id", "")
        if parent.get("Type") == "ROOT":
            parts.append("Root")
            break
        if parent_id not in names:
            unit = org.describe_organizational_unit(OrganizationalUnitId=parent_id)
            names[parent_id] = clean_text(unit["OrganizationalUnit"].get("Name"), 64)
        parts.append(names[parent_id] or parent_id)
        child_id = parent_id
    return " / ".join(reversed(parts))
