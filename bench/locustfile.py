"""Locust clients for bench/load_cluster.py: logged-in people on the dashboard (page and HTMX
tiles), the inventory (filters, pages, search, a resource), billing (page and partials) and
scripts on the API. Any answer but a 200 counts as a failure (redirects are not followed, so
a lost session shows).

Identities (a session cookie and an API token per client) come from the JSON file named by
LOAD_IDENTITIES, written by load_cluster.py.
"""

from __future__ import annotations

import json
import os
import random
from itertools import count
from pathlib import Path

from locust import HttpUser, between, task

IDENTITIES = json.loads(Path(os.environ["LOAD_IDENTITIES"]).read_text())
RESOURCE_IDS = IDENTITIES["resources"]
_next = count()
HTMX = {"HX-Request": "true"}

DASHBOARD_TILES = IDENTITIES["tiles"]
INVENTORY = (
    "/inventory/",
    "/inventory/?provider=aws&type=vm&status=running",
    "/inventory/?page=20&per_page=50",
    "/inventory/?q=node-0004",
    "/inventory/?region=gcp-region-3&sort=-last_seen",
    "/inventory/?tag=env%3Dprod&sort=-last_seen",
)
BILLING = (
    "/billing/",
    "/billing/?period=last_month",
    "/billing/?period=last_30&provider=azure",
)
API = (
    "/api/dashboard/stats",
    "/api/resources?provider=aws&type=vm&per_page=50",
    "/api/resources?q=node-0001&page=2",
    "/api/costs/summary",
    "/api/costs/breakdown?by=service",
)


class Person(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        me = IDENTITIES["clients"][next(_next) % len(IDENTITIES["clients"])]
        self.client.cookies.set("sessionid", me["session"])
        self.token = me["token"]

    def _get(self, url: str, name: str, headers: dict | None = None) -> None:
        with self.client.get(
            url, name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} on {url}")

    @task(3)
    def dashboard(self) -> None:
        self._get("/", "dashboard")
        for tile in DASHBOARD_TILES:
            self._get(f"/dashboard/tiles/{tile}/", "dashboard tile", HTMX)

    @task(4)
    def inventory(self) -> None:
        self._get(random.choice(INVENTORY), "inventory list")

    @task(1)
    def resource(self) -> None:
        self._get(f"/inventory/resources/{random.choice(RESOURCE_IDS)}/", "resource page")

    @task(2)
    def billing(self) -> None:
        url = random.choice(BILLING)
        self._get(url, "billing")
        self._get(url, "billing (HTMX filter)", HTMX)

    @task(3)
    def api(self) -> None:
        url = random.choice(API)
        self._get(url, "API " + url.split("?")[0], {"Authorization": f"Bearer {self.token}"})
