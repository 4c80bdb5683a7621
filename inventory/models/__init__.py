"""The inventory's models, a module per job: cloud accounts and their health
(`accounts`), syncs (`runs`), resources and what is kept about them (`resources`)."""

from inventory.models.accounts import (
    AwsExternalId,
    CloudAccount,
    CloudAccountQuerySet,
    HealthStatus,
    ProviderHealth,
    _new_external_id,
    default_sync_interval,
)
from inventory.models.actions import ActionRun, ActionSettings, ResourceActionLease
from inventory.models.resources import (
    MANAGED_TAG,
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
    "ActionSettings",
    "AwsExternalId",
    "CloudAccount",
    "CloudAccountQuerySet",
    "HealthStatus",
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
