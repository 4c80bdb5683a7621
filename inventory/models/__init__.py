"""The inventory's models, a module per job: cloud accounts and their health
(`accounts`), syncs (`runs`), resources and what is kept about them (`resources`), actions on
them (`actions`) and the price catalog (`prices`)."""

from inventory.models.accounts import (
    AwsExternalId,
    CloudAccount,
    CloudAccountQuerySet,
    HealthStatus,
    ProviderHealth,
    _new_external_id,
    default_sync_interval,
)
from inventory.models.actions import ActionRun, ResourceActionLease
from inventory.models.prices import Price, PriceKind, PriceUnit
from inventory.models.resources import (
    MANAGED_TAG,
    CostBasis,
    Resource,
    ResourceEvent,
    ResourceLink,
    ResourceTally,
    ResourceType,
    SavedView,
)
from inventory.models.runs import SyncRun, TimedRun

__all__ = [
    "MANAGED_TAG",
    "ActionRun",
    "AwsExternalId",
    "CloudAccount",
    "CloudAccountQuerySet",
    "CostBasis",
    "HealthStatus",
    "Price",
    "PriceKind",
    "PriceUnit",
    "ProviderHealth",
    "Resource",
    "ResourceActionLease",
    "ResourceEvent",
    "ResourceLink",
    "ResourceTally",
    "ResourceType",
    "SavedView",
    "SyncRun",
    "TimedRun",
    "_new_external_id",
    "default_sync_interval",
]
