"""Saving a named inventory filter. A name already in use is never overwritten silently:
the caller asks the user first and saves again with `replace=True`."""

from __future__ import annotations

from accounts.models import Organization, User
from inventory.models import SavedView
from mcloud.errors import ActionRefused


class SavedViewExists(ActionRefused):
    """The owner has a view of this name: replacing it needs the user's yes."""

    def __init__(self, view: SavedView) -> None:
        shared = ", shared with the organization" if view.shared else ""
        super().__init__(f"A view named {view.name} already exists{shared}. Replace it?")
        self.view = view


def saved_view_save(
    *,
    organization: Organization,
    owner: User,
    name: str,
    query: str,
    shared: bool,
    replace: bool = False,
) -> SavedView:
    """Create the view, or replace the owner's view of this name when `replace` is given.
    A replaced view that was shared stays shared: replacing its filters is no reason to
    take it away from the others."""
    existing = SavedView.objects.filter(organization=organization, owner=owner, name=name).first()
    if existing is None:
        return SavedView.objects.create(
            organization=organization, owner=owner, name=name, query=query, shared=shared
        )
    if not replace:
        raise SavedViewExists(existing)
    existing.query, existing.shared = query, existing.shared or shared
    existing.save(update_fields=["query", "shared"])
    return existing


def saved_view_delete(*, view: SavedView, user: User, may_manage_shared: bool) -> None:
    """Delete a view: its owner may, and an admin (`may_manage_shared`) may delete a shared
    one; anyone else is refused."""
    if view.owner_id != user.pk and not (view.shared and may_manage_shared):
        raise ActionRefused("Only its owner (or an admin, for a shared view) can delete it.")
    view.delete()
