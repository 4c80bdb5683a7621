"""What a lister works with while it lists one scope: the scope's clients (one per service,
shared by the listers of the scope), paging, and a pool for the calls made per listed item.

- Every paged call asks for the largest page its operation allows (`PAGE_LIMITS`) and follows
  the tokens to the end. `page_size` (tests) asks for smaller pages, within what AWS accepts.
- Per-item calls (a table's description, a queue's attributes, tags that no listing carries)
  go side by side through one pool per scope, whose tasks never submit tasks of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mcloud.clouds.aws.session import AwsSession

T = TypeVar("T")
R = TypeVar("R")

# The fewest and the most results per page that AWS accepts for each paged operation that
# takes a page size (the paginator's limit key). Operations not here page as AWS decides:
# SNS's lists have no page size, and S3's ListBuckets answers every bucket without one.
PAGE_LIMITS: dict[str, tuple[int, int]] = {
    "describe_instances": (5, 1000),
    "describe_volumes": (5, 1000),
    "describe_snapshots": (5, 1000),
    "describe_vpcs": (5, 1000),
    "describe_subnets": (5, 1000),
    "describe_security_groups": (5, 1000),
    "describe_nat_gateways": (5, 1000),
    "describe_auto_scaling_groups": (1, 100),
    "describe_load_balancers": (1, 400),  # elbv2 and classic alike
    "describe_target_groups": (1, 400),
    "describe_db_instances": (20, 100),
    "describe_db_clusters": (20, 100),
    "list_tables": (1, 100),
    "list_clusters": (1, 100),
    "list_nodegroups": (1, 100),
    "list_functions": (1, 50),  # Lambda answers at most 50 whatever is asked
    "list_queues": (1, 1000),  # without a page size SQS answers 1,000 and no token
    "list_hosted_zones": (1, 100),
}


@dataclass
class ScopeContext:
    session: AwsSession
    region: str
    details: ThreadPoolExecutor
    page_size: int | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str) -> Any:
        """The scope's client of `service` (made once, shared by its listers)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(service, self.region)
            return self._clients[service]

    def pages(self, client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
        """Every item under `key` of every page of `operation`, followed to the end."""
        config: dict[str, Any] = {}
        if operation in PAGE_LIMITS:
            least, most = PAGE_LIMITS[operation]
            wanted = most if self.page_size is None else self.page_size
            config["PageSize"] = max(least, min(most, wanted))
        for page in client.get_paginator(operation).paginate(PaginationConfig=config, **kwargs):
            items = page.get(key)
            yield from items if isinstance(items, list) else []

    def each(self, call: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """call(item) for every item, side by side, in order. The first failure raises."""
        return list(self.details.map(call, items))
