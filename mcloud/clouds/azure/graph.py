"""The inventory's one Resource Graph query per subscription, read page by page.

Resource Graph (`POST /providers/Microsoft.ResourceGraph/resources`, api-version 2022-10-01,
the stable version whose published description the request follows) answers a KQL query over
the `resources` table: every type the inventory lists, with its properties, in one query,
ordered by id so that its pages are stable. Each page asks for the most rows a page may hold
(`$top` 1000) and the next is asked for with the answer's `$skipToken` and the same query and
subscription. A token that repeats, a page that promises more but holds nothing, or an answer
that says it was truncated fails the listing: a listing is whole or it is an error."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from mcloud.clouds.azure.errors import retried
from mcloud.clouds.base import CloudError

API_VERSION = "2022-10-01"
PAGE_ROWS = 1000  # the most $top allows
COLUMNS = ("id", "name", "type", "location", "resourceGroup", "tags", "sku", "kind",
           "managedBy", "zones", "properties")  # fmt: skip


def query_text(types: Iterable[str]) -> str:
    """The KQL of the listing: the rows of `types`, the columns the records read, by id."""
    listed = ", ".join(f"'{t}'" for t in types)
    return (
        f"resources\n| where type in~ ({listed})\n| project {', '.join(COLUMNS)}\n| order by id asc"
    )


def graph_rows(
    client: Any, subscription: str, query: str, *, retries: int, doing: str
) -> Iterator[Any]:
    """Every row the query returns for one subscription, paged to the end."""
    seen: set[str] = set()
    token: str | None = None
    while True:
        request = QueryRequest(
            subscriptions=[subscription],
            query=query,
            options=QueryRequestOptions(
                top=PAGE_ROWS, skip_token=token, result_format="objectArray"
            ),
        )
        page = retried(partial(client.resources, request), retries)
        data = page.data
        if not isinstance(data, list):
            raise CloudError(
                f"Azure answered without rows while trying to {doing}", code="UnexpectedAnswer"
            )
        if str(page.result_truncated).lower() == "true":
            raise CloudError(
                f"Azure truncated its answer while trying to {doing}", code="Truncated"
            )
        yield from data
        token = page.skip_token
        if not token:
            return
        if token in seen or not data:
            raise CloudError(
                f"Azure gave an unusable token for the next page while trying to {doing}",
                code="Paging",
            )
        seen.add(token)
