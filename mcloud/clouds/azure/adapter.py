"""The Azure adapter: a service principal's credential, the connection test, the account's
subscriptions (or, for discovery, every subscription it can see), each subscription's
resources (one Resource Graph query) and its costs (Cost Management).

Every client's pipeline paces its requests and waits out throttling answers
(`mcloud.clouds.azure.pacing`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.costmanagement import CostManagementClient
from azure.mgmt.managementgroups import ManagementGroupsMgmtClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource import SubscriptionClient
from azure.mgmt.resourcegraph import ResourceGraphClient

from mcloud.clouds.azure.actions import azure_vm_action, vm_parts
from mcloud.clouds.azure.cleanups import azure_cleanup, cleanup_parts
from mcloud.clouds.azure.costs import subscription_costs, subscription_tag_costs, windows
from mcloud.clouds.azure.errors import translate_errors
from mcloud.clouds.azure.graph import API_VERSION, graph_rows, query_text
from mcloud.clouds.azure.inventory import QUERIED_TYPES, listing_of
from mcloud.clouds.azure.pacing import Paced, ThrottledRetry
from mcloud.clouds.base import (
    ActionResult,
    AzureCredentials,
    ConnectionResult,
    CostRecord,
    Endpoints,
    Listing,
    Member,
    ResourceType,
    ScopeListing,
    TagCostRecord,
)
from mcloud.clouds.records import clean_text

# The token audience is Resource Manager's, wherever its endpoint answers.
ARM_SCOPE = "https://management.azure.com/.default"
PUBLIC_AUTHORITY = "login.microsoftonline.com"
INVENTORY_QUERY = query_text(QUERIED_TYPES)
# Subscription states that are in use (Warned and PastDue still run); Disabled and Deleted
# subscriptions are read-only or going, and discovery retires them.
ACTIVE_STATES = frozenset({"Enabled", "Warned", "PastDue"})


def subscriptions_below(descendants: Iterable[Any]) -> set[str]:
    """The lower-case ids of the subscriptions among a management group's descendants
    (`DescendantInfo` items: groups and subscriptions, any field possibly missing)."""
    found = set()
    for item in descendants:
        kind = clean_text(getattr(item, "type", None), 200).lower()
        name = clean_text(getattr(item, "name", None), 64).lower()
        if kind.endswith("/subscriptions") and name:
            found.add(name)
    return found


class AzureAdapter:
    def __init__(self, credentials: AzureCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._credential: ClientSecretCredential | None = None

    def credential(self) -> ClientSecretCredential:
        if self._credential is None:
            c, e = self.credentials, self.endpoints
            kwargs: dict[str, Any] = {
                "authority": e.azure_authority,
                "connection_timeout": e.timeout,
                "read_timeout": e.timeout,
            }
            if e.azure_authority != PUBLIC_AUTHORITY:
                kwargs["disable_instance_discovery"] = True  # a private or emulated authority
            if e.azure_ca_bundle:
                kwargs["connection_verify"] = e.azure_ca_bundle
            self._credential = ClientSecretCredential(
                c.tenant_id, c.client_id, c.client_secret, **kwargs
            )
        return self._credential

    def client_kwargs(self) -> dict[str, Any]:
        e = self.endpoints
        kwargs: dict[str, Any] = {
            "base_url": e.azure_arm_url,
            "credential_scopes": [ARM_SCOPE],
            "retry_total": e.retries,
            "retry_backoff_factor": 0.5,
            "connection_timeout": e.timeout,
            "read_timeout": e.timeout,
            # Around the retry policy, throttling answers are waited out beyond its budget;
            # after it, each attempt takes the throttle's token.
            "per_call_policies": [ThrottledRetry(e.throttle_patience)],
            "per_retry_policies": [Paced(e.throttle, self.credentials.tenant_id)],
        }
        if e.azure_ca_bundle:
            kwargs["connection_verify"] = e.azure_ca_bundle
        return kwargs

    def client(self, client_class: type, **extra: Any) -> Any:
        return client_class(self.credential(), **{**self.client_kwargs(), **extra})

    def terraform_env(self) -> dict[str, str]:
        """The service principal as Terraform's azurerm provider reads it, on the account's
        first subscription."""
        c = self.credentials
        return {
            "ARM_CLIENT_ID": c.client_id,
            "ARM_CLIENT_SECRET": c.client_secret,
            "ARM_TENANT_ID": c.tenant_id,
            "ARM_SUBSCRIPTION_ID": c.subscription_ids[0] if c.subscription_ids else "",
        }

    def test_connection(self) -> ConnectionResult:
        """Read each subscription the account covers; one that names none (it discovers
        every subscription it can see) lists them."""
        subscriptions = self.client(SubscriptionClient).subscriptions
        if not self.credentials.subscription_ids:
            found = self.members()
            return ConnectionResult(
                message=f"Connected as application {self.credentials.client_id}, which can "
                f"see {len(found)} subscription{'s' if len(found) != 1 else ''}",
                identity=self.credentials.client_id,
            )
        names = []
        for subscription_id in self.credentials.subscription_ids:
            with translate_errors(f"read subscription {subscription_id}"):
                names.append(subscriptions.get(subscription_id).display_name)
        plural = "s" if len(names) != 1 else ""
        return ConnectionResult(
            message=f"Connected as application {self.credentials.client_id} to "
            f"subscription{plural} {', '.join(names)}",
            identity=self.credentials.client_id,
        )

    def members(self) -> list[Member]:
        """Every subscription the application can see (Subscriptions - List, paged to the
        end), or only those under the connection's management group at any depth, sorted
        by name; disabled and deleted ones are inactive, so discovery retires them. The ones
        a connection names itself are its own, not members (it names none when it
        discovers)."""
        own = {s.lower() for s in self.credentials.subscription_ids}
        under = self._management_group_subscriptions()
        members: list[Member] = []
        with translate_errors("list the subscriptions the application can see"):
            for item in self.client(SubscriptionClient).subscriptions.list():
                member_id = clean_text(item.subscription_id, 64).lower()
                if (
                    not member_id
                    or member_id in own
                    or (under is not None and member_id not in under)
                ):
                    continue
                state = str(getattr(item.state, "value", item.state) or "")
                members.append(
                    Member(
                        member_id=member_id,
                        name=clean_text(item.display_name, 100) or member_id,
                        active=state in ACTIVE_STATES,
                    )
                )
        return sorted(members, key=lambda m: (m.name.lower(), m.member_id))

    def _management_group_subscriptions(self) -> set[str] | None:
        """The ids of the subscriptions below the connection's management group (Management
        Groups - Get Descendants, paged to the end), or None when it names no group."""
        group = self.credentials.management_group
        if not group:
            return None
        with translate_errors(f"list what is under management group {group}"):
            client = self.client(ManagementGroupsMgmtClient)
            return subscriptions_below(client.management_groups.get_descendants(group))

    # --- inventory ---------------------------------------------------------------------
    def scope_listing(self) -> ScopeListing:
        """The account's subscriptions that the application can still read; one it can no
        longer see (removed, or its access taken away) is named as gone."""
        with translate_errors("list the subscriptions the application can read"):
            visible = {
                clean_text(s.subscription_id).lower()
                for s in self.client(SubscriptionClient).subscriptions.list()
            }
        chosen = list(self.credentials.subscription_ids)
        return ScopeListing(
            [s for s in chosen if s.lower() in visible],
            gone={
                s: "no longer visible to the application"
                for s in chosen
                if s.lower() not in visible
            },
        )

    def scopes(self) -> list[str]:
        """One scope per subscription the account covers and the application can read."""
        return self.scope_listing().scopes

    def list_scope(self, scope: str) -> Listing:
        """Every resource of one subscription of the types the inventory lists, from one
        Resource Graph query paged to the end. Raises CloudError when the query fails."""
        # The query is a read sent as a POST: graph_rows retries it (azure-core would retry
        # only some of its failures, and on top of ours).
        client = self.client(ResourceGraphClient, api_version=API_VERSION, retry_total=0)
        doing = f"list the resources of subscription {scope}"
        with translate_errors(doing):
            rows = list(graph_rows(client, scope, INVENTORY_QUERY,
                                   retries=self.endpoints.retries, doing=doing))  # fmt: skip
        return listing_of(rows)

    # --- costs -------------------------------------------------------------------------
    def costs(self, start: date, end: date) -> list[CostRecord]:
        """Daily pre-tax actual costs from `start` to `end` (exclusive) per service and
        resource, for each subscription of the account (mcloud.clouds.azure.costs)."""
        client = self.client(CostManagementClient)
        records: list[CostRecord] = []
        for subscription_id in self.credentials.subscription_ids:
            with translate_errors(f"read the costs of subscription {subscription_id}"):
                for first, last in windows(start, end):
                    records += subscription_costs(
                        client, subscription_id, first, last, retries=self.endpoints.retries
                    )
        return records

    def tag_costs(self, start: date, end: date, keys: list[str]) -> list[TagCostRecord]:
        """Daily pre-tax actual costs per value of each tag key, for each subscription of
        the account: one query per subscription, key and year (mcloud.clouds.azure.costs)."""
        client = self.client(CostManagementClient)
        records: list[TagCostRecord] = []
        for subscription_id in self.credentials.subscription_ids:
            with translate_errors(f"read the costs by tag of subscription {subscription_id}"):
                for key in keys:
                    for first, last in windows(start, end):
                        records += subscription_tag_costs(
                            client, subscription_id, first, last, key,
                            retries=self.endpoints.retries,
                        )  # fmt: skip
        return records

    # --- actions -----------------------------------------------------------------------
    def vm_action(self, action: str, resource_id: str, region: str) -> ActionResult:
        """Start, deallocate or restart a VM, followed to the end of ARM's long-running
        operation (`mcloud.clouds.azure.actions`)."""
        subscription, _, _ = vm_parts(resource_id)
        compute = self.client(ComputeManagementClient, subscription_id=subscription)
        e = self.endpoints
        return azure_vm_action(compute, action, resource_id, e.poll_seconds, e.action_timeout)

    def cleanup(self, kind: str, resource_id: str, region: str) -> ActionResult:
        """Delete a managed disk, snapshot or public IP address, followed to the end of ARM's
        long-running operation (`mcloud.clouds.azure.cleanups`)."""
        subscription, _, _ = cleanup_parts(kind, resource_id)
        if kind == ResourceType.IP_ADDRESS:
            client = self.client(NetworkManagementClient, subscription_id=subscription)
            operations = client.public_ip_addresses
        else:
            client = self.client(ComputeManagementClient, subscription_id=subscription)
            operations = client.snapshots if kind == ResourceType.SNAPSHOT else client.disks
        e = self.endpoints
        return azure_cleanup(operations, kind, resource_id, e.poll_seconds, e.action_timeout)
