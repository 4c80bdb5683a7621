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
from inventory.models.actions import ActionRun, ActionSettings, BulkAction, ResourceActionLease
from inventory.models.limits import RateBucket
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
from inventory.models.schedules import (
    SKIP_TAG,
    SKIP_VALUE,
    PowerSchedule,
    ScheduleOccurrence,
    ScheduleTarget,
)

__all__ = [
    "MANAGED_TAG",
    "SKIP_TAG",
    "SKIP_VALUE",
    "ActionRun",
    "ActionSettings",
    "AwsExternalId",
    "BulkAction",
    "CloudAccount",
    "CloudAccountQuerySet",
    "CostBasis",
    "HealthStatus",
    "PowerSchedule",
    "Price",
    "PriceKind",
    "PriceUnit",
    "ProviderHealth",
    "RateBucket",
    "Resource",
    "ResourceActionLease",
    "ResourceEvent",
    "ResourceLink",
    "ResourceTally",
    "ResourceType",
    "SavedView",
    "ScheduleOccurrence",
    "ScheduleTarget",
    "SyncRun",
    "TimedRun",
    "_new_external_id",
    "default_sync_interval",
]
