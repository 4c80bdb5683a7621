"""Whose cost it is: an organization's consolidated bill, split among its member accounts.

A connection that discovers its organization's members imports the organization's whole
bill (an AWS management account's Cost Explorer answers for every linked account), each
record naming the member it is of (`CostRecord.member_id`, "" for the connection's own).
Invariants:

- Each row is stored on the member's own CloudAccount, found among this connection's members
  by the provider's id: never another connection's, so never another organization's.
  The breakdown by account, budgets and anomalies of one account, and the member's own
  figures are then its own.
- A row of an account the connection has not discovered (yet), or of a member an admin
  excluded, stays on the connection with its `member_id`, so the billing page can say whose
  it is. A member that left the organization (retired) keeps receiving its own past days.
- Rows follow the membership: each import first moves the stored rows of a member
  discovered (or included again) since to it, and an excluded member's back to the
  connection, so that days no import fetches again are right too.
- Nothing is counted twice: every row is on exactly one account, and an import replaces the
  days it fetched on the connection and all its members together (`CostOwners.family`).
- Costs per resource (`CostResourceDaily`) stay on the connection: they are matched to the
  inventory by provider id across the organization and never added to totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from billing.models import CostDaily, CostData, CostTagDaily
from inventory.models import CloudAccount

SPLIT_MODELS = (CostData, CostDaily, CostTagDaily)


@dataclass
class CostOwners:
    """Who holds the costs a connection imports: the connection, and its members by id."""

    connection: CloudAccount
    receivers: dict[str, CloudAccount] = field(default_factory=dict)  # included members
    excluded: list[CloudAccount] = field(default_factory=list)

    @property
    def family(self) -> list[int]:
        """The ids of every account whose stored costs an import of the connection replaces."""
        return [
            self.connection.pk,
            *(m.pk for m in self.receivers.values()),
            *(m.pk for m in self.excluded),
        ]

    def owner(self, member_id: str) -> tuple[CloudAccount, str]:
        """The account a cost of `member_id` is stored on, and the `member_id` it keeps there
        ("" on the member itself)."""
        if not member_id:
            return self.connection, ""
        member = self.receivers.get(member_id)
        return (member, "") if member is not None else (self.connection, member_id)


def cost_owners(*, connection: CloudAccount) -> CostOwners:
    """The connection's members, included or excluded (one query)."""
    owners = CostOwners(connection)
    if connection.parent_id is not None:
        return owners  # a member holds only its own
    for member in CloudAccount.objects.filter(parent=connection).order_by("pk"):
        if member.enabled:
            owners.receivers[member.member_id] = member
        else:
            owners.excluded.append(member)
    return owners


def member_costs_follow(*, owners: CostOwners) -> int:
    """Move stored rows to where the membership says they belong now (see the module
    docstring): to a member found since, back to the connection from a member excluded since.
    Returns how many rows moved. Call it in the import's transaction."""
    moved = 0
    connection = owners.connection
    for model in SPLIT_MODELS:
        held = set(
            model.objects.filter(account=connection)
            .exclude(member_id="")
            .values_list("member_id", flat=True)
            .distinct()
        )
        for member_id in sorted(held & set(owners.receivers)):
            moved += model.objects.filter(account=connection, member_id=member_id).update(
                account=owners.receivers[member_id], member_id=""
            )
        if not owners.excluded:
            continue
        holding = set(
            model.objects.filter(account__in=owners.excluded)
            .values_list("account_id", flat=True)
            .distinct()
        )
        for member in owners.excluded:
            if member.pk in holding:
                moved += model.objects.filter(account=member).update(
                    account=connection, member_id=member.member_id
                )
    return moved
