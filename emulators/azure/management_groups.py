"""Management groups: the tree above subscriptions, and Management Groups - Get Descendants
(`GET /providers/Microsoft.Management/managementGroups/{groupId}/descendants`), which
answers every group and subscription below a group, at any depth, as `DescendantInfo` items
in pages with an absolute `nextLink` (`$skiptoken`), as the REST API description says.

An app reads a group's descendants only where it was made a reader of that group or of one
above it (Management Group Reader is inherited down the tree); otherwise 403
`AuthorizationFailed`. A group that does not exist is a 404 `NotFound`.
"""

from __future__ import annotations

from typing import Any

from emulators.azure.state import AzurePart, _arm, _decode_token
from emulators.base import Request, Response

_GROUPS = "/providers/Microsoft.Management/managementGroups"
_ACTION = "Microsoft.Management/managementGroups/descendants/read"


class ManagementGroupsMixin(AzurePart):
    def add_management_group(
        self,
        group_id: str,
        display_name: str,
        *,
        parent: str | None = None,
        subscriptions: tuple[str, ...] | list[str] = (),
        readers: tuple[str, ...] | list[str] = (),
    ) -> None:
        """A group under `parent` (None: the tenant root), holding `subscriptions` directly;
        `readers` are client ids allowed to read it and everything below."""
        with self._lock:
            self._state.management_groups[group_id.lower()] = {
                "id": group_id,
                "name": display_name,
                "parent": (parent or "").lower(),
                "subscriptions": [s.lower() for s in subscriptions],
                "readers": {r.lower() for r in readers},
            }

    def _register_management_group_routes(self) -> None:
        path = r"/+providers/Microsoft\.Management/managementGroups/(?P<group>[^/]+)/descendants"
        self.route("GET", path)(self._descendants)

    def _may_read(self, group: str, client_id: str) -> bool:
        groups = self._state.management_groups
        while group:
            if client_id in groups[group]["readers"]:
                return True
            group = groups[group]["parent"]
        return False

    def _descendant_items(self, group: str) -> list[dict[str, Any]]:
        """Every group and subscription below `group`, parents before children."""
        groups, items = self._state.management_groups, []
        parent_id = f"{_GROUPS}/{groups[group]['id']}"
        for sub in groups[group]["subscriptions"]:
            subscription = self._state.subscriptions.get(sub)
            if subscription is None:
                continue
            items.append({
                "id": f"/subscriptions/{subscription['id']}",
                "type": "Microsoft.Management/managementGroups/subscriptions",
                "name": subscription["id"],
                "properties": {"displayName": subscription["name"], "parent": {"id": parent_id}},
            })  # fmt: skip
        for child, info in sorted(groups.items()):
            if info["parent"] == group:
                items.append({
                    "id": f"{_GROUPS}/{info['id']}",
                    "type": "Microsoft.Management/managementGroups",
                    "name": info["id"],
                    "properties": {"displayName": info["name"], "parent": {"id": parent_id}},
                })  # fmt: skip
                items.extend(self._descendant_items(child))
        return items

    def _descendants(self, request: Request) -> Response:
        caller = self._authorize(request, None, _ACTION)
        if isinstance(caller, Response):
            return caller
        group = request.params["group"].lower()
        try:
            after = int(_decode_token(request.arg("$skiptoken")) or 0)
        except ValueError as exc:
            return self.error(400, "InvalidSkipToken", str(exc))
        with self._lock:
            if group not in self._state.management_groups:
                return self.error(
                    404, "NotFound", f"'{request.params['group']}' management group not found."
                )
            if not self._may_read(group, caller.client_id.lower()):
                return self.error(
                    403,
                    "AuthorizationFailed",
                    f"The client '{caller.object_id}' with object id '{caller.object_id}' does "
                    f"not have authorization to perform action '{_ACTION}' over scope "
                    f"'{_GROUPS}/{request.params['group']}' or the scope is invalid.",
                )
            items = self._descendant_items(group)
        page = items[after : after + self.page_size]
        body: dict[str, Any] = {"value": page}
        if after + self.page_size < len(items):
            body["nextLink"] = self._next_link(request, str(after + self.page_size))
        return _arm(body)
