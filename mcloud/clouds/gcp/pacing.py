"""A requests transport adapter that paces Google API requests and waits out their throttling
answers (see `mcloud.clouds.throttling`), mounted on the HTTP session of every client the GCP
adapter makes (`paced`).

- Every request (each retry of google-api-core's too) first calls the endpoints' throttle with
  its domain: the project it names, else the service account's own project.
- An HTTP 429 is sent again after the Retry-After it carries, or a backoff, within the
  patience, below google-api-core's retries (which see it only when the patience is spent).
  Throttled requests were not carried out, so sending one again does it once.

google-cloud's REST clients have no public way in to their HTTP session: the GAPIC ones keep
it as `transport._session` (an AuthorizedSession); BigQuery takes one of ours (`_http`).
"""

from __future__ import annotations

import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from mcloud.clouds.throttling import Throttle, ThrottledCall, gcp_domain, retry_after


class PacedAdapter(HTTPAdapter):
    def __init__(self, throttle: Throttle | None, own_project: str, patience: float) -> None:
        super().__init__()
        self.throttle = throttle
        self.own_project = own_project
        self.patience = patience

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        call = ThrottledCall(self.patience)
        while True:
            if self.throttle is not None:
                self.throttle(gcp_domain(request.url or "", self.own_project))
            response = super().send(request, *args, **kwargs)
            if response.status_code != 429:
                return response
            delay = call.wait(retry_after(response.headers.get("Retry-After")))
            if delay is None:
                return response
            response.close()
            time.sleep(delay)


def paced_session(session: requests.Session, adapter: PacedAdapter) -> requests.Session:
    """`session`, sending through `adapter` over HTTPS and HTTP (the emulators')."""
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
