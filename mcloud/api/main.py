"""The API object: authentication, throttling, errors, and each app's router."""

from __future__ import annotations

from ninja import NinjaAPI

from accounts.api import router as me_router
from billing.api import router as billing_router
from billing.api_dashboard import router as dashboard_router
from inventory.api import router as inventory_router
from inventory.api_bulk import router as bulk_router
from mcloud.api import errors
from mcloud.api.security import AUTH, THROTTLE
from provisioning.api import router as provisioning_router
from provisioning.api_policies import router as policies_router

api = NinjaAPI(
    title="mcloud API",
    version="1",
    description="What the mcloud pages show and do, as JSON, for scripts and pipelines. "
    "Authenticate with `Authorization: Bearer <token>` (a personal access token) or the "
    "browser session. Every call acts in the token's organization, with the same role rules "
    "as the pages; objects of other organizations answer 404.",
    auth=AUTH,
    throttle=THROTTLE,
    docs_url="/docs",
)
errors.install(api)
for router in (
    me_router,
    dashboard_router,
    inventory_router,
    bulk_router,
    billing_router,
    provisioning_router,
    policies_router,
):
    api.add_router("/", router)
