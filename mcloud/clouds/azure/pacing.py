"""azure-core pipeline policies that pace Resource Manager requests and wait out its
throttling answers (see `mcloud.clouds.throttling`).

- `Paced` sits after the retry policy: every attempt first calls the endpoints' throttle with
  its domain, the subscription the request names (Resource Manager's limits are per
  subscription), else the tenant (the subscriptions list, management groups, Resource
  Graph's tenant-level queries).
- `ThrottledRetry` sits before it: an answer that is still HTTP 429 once the retry policy has
  spent its budget (or for a client built without one, as the Resource Graph client is) is
  sent again after the Retry-After it carries, or a backoff, within the patience. Throttled
  requests were not carried out, so sending one again, a POST too, does it once.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, SansIOHTTPPolicy

from mcloud.clouds.throttling import Throttle, ThrottledCall, azure_domain, retry_after


class Paced(SansIOHTTPPolicy[Any, Any]):
    def __init__(self, throttle: Throttle | None, tenant_id: str) -> None:
        super().__init__()
        self.throttle = throttle
        self.tenant_id = tenant_id

    def on_request(self, request: PipelineRequest[Any]) -> None:
        if self.throttle is not None:
            self.throttle(azure_domain(request.http_request.url, self.tenant_id))


class ThrottledRetry(HTTPPolicy[Any, Any]):
    def __init__(self, patience: float) -> None:
        super().__init__()
        self.patience = patience

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        call = ThrottledCall(self.patience)
        while True:
            response = self.next.send(request)
            answer = response.http_response
            if answer.status_code != 429:
                return response
            delay = call.wait(retry_after(answer.headers.get("Retry-After")))
            if delay is None:
                return response
            time.sleep(delay)
