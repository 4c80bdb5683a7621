"""Roles of a membership, from least to most powerful.

The role matrix (also in the README):

| role   | may                                                                                   |
|--------|---------------------------------------------------------------------------------------|
| viewer | read everything in the organization                                                   |
| member | also trigger syncs and Terraform plans; start, stop and reboot VMs                    |
| admin  | also manage cloud accounts, members and notifications; approve, apply, destroy; audit |
|        | (and remove waste: delete unattached disks and old snapshots, release unused IPs)     |
| owner  | also rename or delete the organization and transfer ownership                         |
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, required: Role) -> bool:
        """True when this role may do what `required` may."""
        return self.rank >= Role(required).rank


_RANKS = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
