"""Pacing calls to a provider, and waiting out its throttling answers, the same way for every
provider.

- Before each request it sends (each retry too), an adapter calls `Endpoints.throttle` with
  the request's rate-limit domain, a string of the provider's own ids that the adapter names
  (AWS: account, region and service, S3 per bucket; Azure: subscription, else tenant; GCP:
  project). The app behind it waits for a token of a bucket that every worker and host
  share (`inventory.cloud_limits`); this package imports no app, so it only calls the hook.
- A throttling answer (AWS's Throttling codes, HTTP 429) is retried apart from the SDK's
  own retry budget (`Endpoints.retries`), waiting as long as the provider's Retry-After says
  or else backing off (full jitter, doubling to `BACKOFF_CAP`), until the call has been
  throttled for `Endpoints.throttle_patience` seconds: a provider that asks a sync to slow
  down slows it down, and never fails it within that patience.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Throttle = Callable[[str], None]

BACKOFF_FIRST = 1.0  # seconds, when the provider does not say how long
BACKOFF_CAP = 30.0  # the longest one wait, whatever the provider says

_PROJECT = re.compile(r"/projects/([a-z][a-z0-9-]{4,61}[a-z0-9])(?:[/:?]|$)")
_SUBSCRIPTION = re.compile(r"/subscriptions/([0-9A-Fa-f-]{36})(?:[/?]|$)")


def retry_after(value: str | None) -> float | None:
    """The seconds a Retry-After header asks for, if it gives a number (never an HTTP date:
    no provider that mcloud calls sends one)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass
class ThrottledCall:
    """The throttling answers one call has had so far, and how long to wait after the
    next."""

    patience: float
    started: float = field(default_factory=time.monotonic)
    answers: int = 0

    def wait(self, asked: float | None) -> float | None:
        """The seconds to wait before sending the call again (as the provider `asked`, else
        backing off); None when the call has been throttled for longer than the patience."""
        self.answers += 1
        if asked is not None:
            delay = min(asked, BACKOFF_CAP)
        else:
            delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (self.answers - 1)))
        if time.monotonic() - self.started + delay >= self.patience:
            return None
        return delay


def azure_domain(url: str, tenant_id: str) -> str:
    """A Resource Manager request's domain: its subscription (Resource Manager's limits are
    per subscription), else its tenant (tenant-level calls: the subscriptions list,
    management groups, Resource Graph)."""
    found = _SUBSCRIPTION.search(url)
    return f"subscription:{found.group(1).lower()}" if found else f"tenant:{tenant_id.lower()}"


def gcp_domain(url: str, own_project: str) -> str:
    """A Google API request's domain: the project it names (Compute Engine's, Cloud
    Asset's and BigQuery's quotas are per project), else the service account's own project
    (searches across projects count there)."""
    found = _PROJECT.search(url)
    return f"project:{found.group(1) if found else own_project or 'unknown'}"
