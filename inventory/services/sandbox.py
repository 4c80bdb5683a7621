"""Loading the sandbox estate: an organization whose accounts point at the local emulators."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, Organization, User
from accounts.roles import Role
from accounts.services import organization_create
from inventory.models import CloudAccount, ProviderHealth, SyncRun
from inventory.sandbox_clouds import sandbox_description
from inventory.schedules import account_schedule_update
from inventory.services.health import connection_check, connection_check_request
from inventory.services.sync import cloud_account_sync, sync_run_request
from inventory.tasks import FINISH_SANDBOX
from mcloud.clouds.base import CloudError
from mcloud.clouds.registry import provider_list
from mcloud.errors import ActionRefused


def sandbox_load(*, owner: User, organization: Organization | None = None) -> Organization:
    """Create (or complete) a sandbox organization owned by `owner`, with one account,
    "<provider>-sandbox", per provider the emulators play. Running it again changes
    nothing: without `organization`, the sandbox that `owner` already owns is reused rather
    than a second one created."""
    try:
        description = sandbox_description()
    except CloudError as error:
        raise ActionRefused(error.message) from None
    with transaction.atomic():
        if organization is None:
            organization = owned_sandbox(owner) or organization_create(name="Sandbox", owner=owner)
        Membership.objects.get_or_create(
            organization=organization, user=owner, defaults={"role": Role.OWNER}
        )
        for provider in provider_list():
            if provider.sandbox is None:
                continue
            account, created = CloudAccount.objects.get_or_create(
                organization=organization,
                name=f"{provider.key}-sandbox",
                defaults={"provider": provider.key, "is_sandbox": True, "created_by": owner,
                          "config": provider.sandbox.config(description)},
            )  # fmt: skip
            if created:
                account_schedule_update(account)
    return organization


def owned_sandbox(owner: User) -> Organization | None:
    """The organization with sandbox accounts that `owner` owns, if there is one."""
    return (
        Organization.objects.filter(
            memberships__user=owner,
            memberships__role=Role.OWNER,
            cloud_accounts__is_sandbox=True,
        )
        .order_by("pk")
        .first()
    )


def sandbox_sync(*, organization: Organization) -> list[SyncRun]:
    """Check and sync every sandbox account of the organization now, with the real code."""
    runs = []
    for account in CloudAccount.objects.filter(organization=organization, is_sandbox=True):
        connection_check(account=account, trigger=ProviderHealth.Trigger.SCHEDULED)
        run = cloud_account_sync(account=account, trigger=SyncRun.Trigger.SANDBOX)
        if run is not None:
            runs.append(run)
    return runs


def sandbox_start(*, organization: Organization, owner: User) -> None:
    """Have the workers bring a freshly loaded sandbox to life: check and sync each account,
    then the steps other apps add (three months of costs, the hello deployment)."""
    for account in CloudAccount.objects.filter(organization=organization, is_sandbox=True):
        sync_run_request(account=account, trigger=SyncRun.Trigger.SANDBOX, requested_by=owner)
        connection_check_request(account=account)
    FINISH_SANDBOX.enqueue(organization.pk, owner.pk)
