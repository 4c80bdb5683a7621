"""Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources`, as its published API
description (2022-10-01) and the real service answer it.

- The `resources` table holds every resource the fake stores, one row each with the real
  table's columns: `type` and `location` in lower case, `resourceGroup` in lower case (the id
  keeps ARM's spelling), `subscriptionId` and `tenantId`, and `properties` as ARM returns them,
  plus for virtual machines `properties.extended.instanceView.powerState` as the real service
  adds it. Items given to `add_raw` are rows too (objects only: Resource Graph has no other).
- The query is evaluated, not matched: `emulators.azure.kql` runs the subset of KQL it supports;
  text that is not KQL, an unknown column or KQL the fake does not run answers 400 BadRequest
  with an InvalidQuery detail, as the real service answers invalid queries.
- Scopes: the request's `subscriptions` (every subscription the caller reads when empty), less
  those the caller cannot read; none left is 403 AccessDenied.
- Paging: a page holds `options.$top` rows (100 when not given; 1..1000), at most
  `graph_page_size`; when more rows follow, `$skipToken` carries the next offset and page size
  and is accepted only with the same query and subscriptions. Without an `id` column the real
  service cannot page: the answer is the first page with `resultTruncated` "true".
- Faults (emulators.base.Faults) apply to this route like every other ARM route.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import time
import uuid
from typing import Any

from emulators.azure.kql import KqlError, parse, position
from emulators.azure.state import AzurePart, _arm
from emulators.base import Request, Response

API_VERSIONS = ("2019-04-01", "2021-03-01", "2022-10-01", "2024-04-01")
COLUMNS = (
    "id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId",
    "managedBy", "sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation",
)  # fmt: skip
_STRING_COLUMNS = ("kind", "managedBy")  # "" when a resource has none; others are null
_SCOPE = re.compile(r"^/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?", re.IGNORECASE)
_INVALID_QUERY = (
    "Query is invalid. Please refer to the documentation for the Azure Resource Graph service "
    "and fix the error before retrying."
)


class ResourceGraphMixin(AzurePart):
    graph_page_size = 1000  # the most rows a page holds, whatever $top asks
    # Sent instead of every real $skipToken when set, and read as the first page's (tests of
    # tokens a client must not follow round and round).
    graph_skip_token_override: str | None = None

    # --- the table ----------------------------------------------------------------------
    def graph_rows(self, subscription_ids: list[str]) -> list[dict[str, Any]]:
        """The `resources` table of these subscriptions (lower-case ids), stored order first."""
        with self._lock:
            rows = [
                self._graph_row(rid)
                for rid in sorted(self._state.resources)
                if _scope(rid)[0] in subscription_ids
            ]
            for (sub, rtype), items in sorted(self._state.raw.items()):
                if sub in subscription_ids:
                    rows += [_raw_row(sub, rtype, i) for i in items if isinstance(i, dict)]
        return rows

    def _graph_row(self, rid: str) -> dict[str, Any]:
        resource = copy.deepcopy(self._state.resources[rid])
        sub, group = _scope(resource["id"])
        subscription = self._state.subscriptions.get(sub.lower(), {})
        row: dict[str, Any] = {column: resource.get(column) for column in COLUMNS}
        row.update(
            type=resource["type"].lower(),
            location=str(resource.get("location") or "").lower().replace(" ", ""),
            resourceGroup=group.lower(),
            subscriptionId=sub,
            tenantId=subscription.get("tenant"),
            **{column: resource.get(column) or "" for column in _STRING_COLUMNS},
        )
        power = self._state.power.get(rid)
        if power is not None:
            settled = power in ("running", "stopped", "deallocated")
            row["properties"]["provisioningState"] = "Succeeded" if settled else "Updating"
            row["properties"]["extended"] = {
                "instanceView": {
                    "computerName": resource["name"],
                    "powerState": {
                        "code": f"PowerState/{power}",
                        "level": "Info",
                        "displayStatus": f"VM {power}",
                    },
                }
            }
        return row

    # --- wire ---------------------------------------------------------------------------
    def _graph_query(self, request: Request) -> Response:
        caller = self._authorize(request, None, "Microsoft.ResourceGraph/resources/read")
        if isinstance(caller, Response):
            return caller
        version = request.arg("api-version")
        if version not in API_VERSIONS:
            return self.error(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for API version '{version}' and type "
                f"'resources'. The supported api-versions are '{', '.join(API_VERSIONS)}'.",
            )
        try:
            body = request.json()
            query, options = body["query"], body.get("options") or {}
            if not isinstance(query, str) or not isinstance(options, dict):
                raise TypeError("query must be text and options an object")
        except (ValueError, KeyError, TypeError) as exc:
            return self.error(
                400,
                "InvalidRequestContent",
                f"The request content was invalid and could not be deserialized: '{exc}'.",
            )
        if body.get("managementGroups") or body.get("facets"):
            return _bad_request([_detail("NotSupportedByEmulator", "The Azure fake answers "
                                         "subscription queries without facets only.")])  # fmt: skip
        with self._lock:
            readable = {
                sub
                for sub in caller.subscriptions
                if self._state.subscriptions.get(sub, {}).get("tenant", "").lower()
                == caller.tenant_id
            }
        asked = [str(s).lower() for s in body.get("subscriptions") or []] or sorted(readable)
        scopes = [s for s in asked if s in readable]
        if not scopes:
            return _graph_error(403, "AccessDenied", [_detail(
                "AccessDenied", "Access is denied to the requested resource. The user might "
                "not have enough permission.")])  # fmt: skip
        try:
            parsed = parse(query, {"resources": COLUMNS})
        except KqlError as error:
            line, column = position(query, error.token)
            where: dict[str, Any] = {"line": line, "characterPositionInLine": column}
            if error.token is not None:
                where["token"] = error.token.text
            return _bad_request([{**_detail(error.code, error.message), **where}])
        return self._graph_page(query, scopes, options, parsed.run(self.graph_rows(scopes)),
                                parsed.columns)  # fmt: skip

    def _graph_page(
        self,
        query: str,
        scopes: list[str],
        options: dict[str, Any],
        rows: list[dict[str, Any]],
        columns: list[str],
    ) -> Response:
        context = hashlib.sha256(json.dumps([query, sorted(scopes)]).encode()).hexdigest()[:16]
        top, skip, token = options.get("$top"), options.get("$skip"), options.get("$skipToken")
        if top is not None and (type(top) is not int or not 1 <= top <= 1000):
            return _bad_request([_detail("InvalidTop", "$top must be between 1 and 1000.")])
        if skip is not None and (type(skip) is not int or skip < 0):
            return _bad_request([_detail("InvalidSkip", "$skip must be 0 or more.")])
        size, offset = top or 100, skip or 0
        if token is not None and token == self.graph_skip_token_override:
            token = _write_token({"o": 0, "n": size, "q": context})  # back to the first page
        if token is not None:
            state = _read_token(token)
            if state is None or state.get("q") != context:
                return _bad_request([_detail("InvalidSkipToken", "The skip token is not valid "
                                             "for this query and these scopes.")])  # fmt: skip
            size, offset = top or state["n"], state["o"]
        page_size = min(size, self.graph_page_size)
        page = rows[offset : offset + page_size]
        more = offset + len(page) < len(rows)
        body: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "data": _table(page, columns) if options.get("resultFormat") == "table" else page,
            "facets": [],
            "resultTruncated": "true" if more and "id" not in columns else "false",
        }
        if more and "id" in columns:
            body["$skipToken"] = self.graph_skip_token_override or _write_token(
                {"o": offset + len(page), "n": size, "q": context}
            )
        return _arm(body)


def _scope(resource_id: str) -> tuple[str, str]:
    """The subscription and resource group an id names ("" where it names none)."""
    found = _SCOPE.match(resource_id)
    return (found.group(1), found.group(2) or "") if found else ("", "")


def _raw_row(sub: str, rtype: str, item: dict[str, Any]) -> dict[str, Any]:
    row = {column: copy.deepcopy(item.get(column)) for column in COLUMNS}
    row["type"] = (item["type"] if isinstance(item.get("type"), str) else rtype).lower()
    row["subscriptionId"] = sub
    return row


def _table(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    """The "table" result format: typed columns, and rows as lists."""
    kinds = {str: "string", bool: "boolean", int: "integer", float: "real", dict: "object",
             list: "object"}  # fmt: skip
    typed = []
    for column in columns:
        value = next((r[column] for r in rows if r.get(column) is not None), "")
        typed.append({"name": column, "type": kinds.get(type(value), "string")})
    return {"columns": typed, "rows": [[row.get(c) for c in columns] for row in rows]}


def _write_token(state: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(state).encode()).decode()


def _read_token(token: Any) -> dict[str, Any] | None:
    try:
        state = json.loads(base64.b64decode(str(token), validate=True))
    except (ValueError, TypeError):
        return None
    valid = isinstance(state, dict) and all(type(state.get(k)) is int for k in ("o", "n"))
    return state if valid else None


def _detail(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _bad_request(details: list[dict[str, Any]]) -> Response:
    return _graph_error(400, "BadRequest", [_detail("InvalidQuery", _INVALID_QUERY), *details])


def _graph_error(status: int, code: str, details: list[dict[str, Any]]) -> Response:
    """Resource Graph's errors: a support line in the message, what went wrong in details."""
    when = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
    message = (
        f"Please provide below info when asking for support: timestamp = {when}, "
        f"correlationId = {uuid.uuid4()}."
    )
    return _arm({"error": {"code": code, "message": message, "details": details}}, status)
