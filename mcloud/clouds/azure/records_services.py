"""Records of service rows: storage accounts, Azure SQL databases, PostgreSQL and MySQL flexible
servers, Cosmos DB accounts, AKS clusters, App Service sites (function apps and web apps, both
`function` records) and Service Bus namespaces (queues and topics live in them: a `queue`
record)."""

from __future__ import annotations

from typing import Any

from mcloud.clouds.azure.fields import (
    PROVISIONING_STATES,
    arm_record,
    flag,
    get,
    gone_or,
    ids,
    items,
    number,
    provisioned,
    state,
    text,
    when,
)
from mcloud.clouds.azure.related import Related
from mcloud.clouds.base import ResourceRecord, ResourceType, Skip, Status

SQL_STATES = {  # an SQL database's status
    "online": Status.RUNNING,
    "creating": Status.PENDING,
    "copying": Status.PENDING,
    "restoring": Status.PENDING,
    "recovering": Status.PENDING,
    "resuming": Status.PENDING,
    "scaling": Status.RUNNING,
    "onlinechangingdwperformancetiers": Status.RUNNING,
    "pausing": Status.STOPPING,
    "paused": Status.STOPPED,
    "autoclosed": Status.STOPPED,
    "offline": Status.STOPPED,
    "inaccessible": Status.ERROR,
    "suspect": Status.ERROR,
    "emergencymode": Status.ERROR,
    "disabled": Status.STOPPED,
}
SERVER_STATES = {  # a flexible server's state
    "ready": Status.RUNNING,
    "starting": Status.PENDING,
    "updating": Status.PENDING,
    "provisioning": Status.PENDING,
    "restarting": Status.PENDING,
    "stopping": Status.STOPPING,
    "stopped": Status.STOPPED,
    "disabled": Status.STOPPED,
    "dropping": Status.DELETING,
}
RUN_STATES = {"running": Status.RUNNING, "stopped": Status.STOPPED}  # AKS power, site state
NAMESPACE_STATES = {
    "active": Status.AVAILABLE,
    "creating": Status.PENDING,
    "activating": Status.PENDING,
    "enabling": Status.PENDING,
    "disabling": Status.STOPPING,
    "disabled": Status.STOPPED,
    "softdeleted": Status.DELETING,
    "softdeleting": Status.DELETING,
    "deleting": Status.DELETING,
    "failed": Status.ERROR,
}
ENGINES = {
    "microsoft.dbforpostgresql/flexibleservers": "postgres",
    "microsoft.dbformysql/flexibleservers": "mysql",
}


def storage_account_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    provisioning = text(get(p, "provisioningState"))
    return arm_record(
        "storage account",
        row,
        ResourceType.STORAGE,
        PROVISIONING_STATES.get(state(provisioning), Status.UNKNOWN),
        attached_to=related.ids(ids(get(p, "networkAcls", "virtualNetworkRules"))),
        created_at=when(get(p, "creationTime")),
        sku=text(get(row, "sku", "name")),
        kind=text(get(row, "kind")),
        primary_location=text(get(p, "primaryLocation")),
        provider_status=provisioning,
    )


def is_system_database(row: Any) -> bool:
    """An SQL server's own master database: listed by Azure, never a thing to manage."""
    return text(get(row, "name")) == "master" and "system" in (text(get(row, "kind")) or "")


def sql_database_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    status = text(get(p, "status"))
    rid = text(get(row, "id")) or ""
    server = rid.split("/databases/")[0].rsplit("/", 1)[-1] if "/databases/" in rid else None
    return arm_record(
        "SQL database",
        row,
        ResourceType.DATABASE,
        SQL_STATES.get(state(status), Status.UNKNOWN),
        created_at=when(get(p, "creationDate")),
        engine="sqlserver",
        server=server,
        sku=text(get(row, "sku", "name")),
        tier=text(get(row, "sku", "tier")),
        capacity=number(get(row, "sku", "capacity")),
        service_objective=text(get(p, "currentServiceObjectiveName")),
        max_size_bytes=number(get(p, "maxSizeBytes")),
        zone_redundant=flag(get(p, "zoneRedundant")),
        provider_status=status,
    )


def flexible_server_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    server_state = text(get(p, "state"))
    engine = ENGINES.get((text(get(row, "type")) or "").lower())
    return arm_record(
        "PostgreSQL flexible server" if engine == "postgres" else "MySQL flexible server",
        row,
        ResourceType.DATABASE,
        SERVER_STATES.get(state(server_state), Status.UNKNOWN),
        attached_to=related.ids([get(p, "network", "delegatedSubnetResourceId")]),
        engine=engine,
        version=text(get(p, "version")),
        sku=text(get(row, "sku", "name")),
        tier=text(get(row, "sku", "tier")),
        storage_gb=number(get(p, "storage", "storageSizeGB")),
        fqdn=text(get(p, "fullyQualifiedDomainName")),
        high_availability=text(get(p, "highAvailability", "mode")),
        public_network_access=text(get(p, "network", "publicNetworkAccess")),
        provider_status=server_state,
    )


def cosmos_account_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    capabilities = [c for c in (get(x, "name") for x in items(get(p, "capabilities"))) if text(c)]
    return arm_record(
        "Cosmos DB account",
        row,
        ResourceType.NOSQL,
        provisioned(row),
        attached_to=related.ids(ids(get(p, "virtualNetworkRules"))),
        kind=text(get(row, "kind")),
        consistency=text(get(p, "consistencyPolicy", "defaultConsistencyLevel")),
        locations=[
            n for n in (get(x, "locationName") for x in items(get(p, "locations"))) if text(n)
        ],
        serverless="EnableServerless" in capabilities,
        endpoint=text(get(p, "documentEndpoint")),
        provider_status=text(get(p, "provisioningState")),
    )


def aks_cluster_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    power = text(get(p, "powerState", "code"))
    provisioning = text(get(p, "provisioningState"))
    pools = items(get(p, "agentPoolProfiles"))
    failed = state(provisioning) == "failed"
    return arm_record(
        "AKS cluster",
        row,
        ResourceType.KUBERNETES,
        Status.ERROR
        if failed
        else gone_or(provisioning, RUN_STATES.get(state(power), Status.UNKNOWN)),
        attached_to=list(dict.fromkeys(related.ids(get(x, "vnetSubnetID") for x in pools))),
        version=text(get(p, "currentKubernetesVersion")) or text(get(p, "kubernetesVersion")),
        node_pools=[n for n in (get(x, "name") for x in pools) if text(n)],
        nodes=sum(number(get(x, "count")) or 0 for x in pools),
        node_resource_group=text(get(p, "nodeResourceGroup")),
        fqdn=text(get(p, "fqdn")),
        tier=text(get(row, "sku", "tier")),
        provider_status=power or provisioning,
    )


def site_record(row: Any, related: Related) -> ResourceRecord | Skip:
    """A function app or a web app (the site's `kind` says which)."""
    p = get(row, "properties")
    site_state = text(get(p, "state"))
    kind = text(get(row, "kind")) or ""
    return arm_record(
        "app",
        row,
        ResourceType.FUNCTION,
        gone_or(get(p, "provisioningState"), RUN_STATES.get(state(site_state), Status.UNKNOWN)),
        attached_to=related.ids([get(p, "virtualNetworkSubnetId")]),
        app_kind="function app" if "functionapp" in kind.lower() else "web app",
        kind=kind or None,
        runtime=text(get(p, "siteConfig", "linuxFxVersion")),
        host_name=text(get(p, "defaultHostName")),
        plan_id=text(get(p, "serverFarmId")),
        https_only=flag(get(p, "httpsOnly")),
        provider_status=site_state,
    )


def service_bus_record(row: Any, related: Related) -> ResourceRecord | Skip:
    p = get(row, "properties")
    status = text(get(p, "status"))
    provisioning = text(get(p, "provisioningState"))
    return arm_record(
        "Service Bus namespace",
        row,
        ResourceType.QUEUE,
        gone_or(provisioning, NAMESPACE_STATES.get(state(status)) or provisioned(row)),
        created_at=when(get(p, "createdAt")),
        sku=text(get(row, "sku", "name")),
        endpoint=text(get(p, "serviceBusEndpoint")),
        zone_redundant=flag(get(p, "zoneRedundant")),
        provider_status=status or provisioning,
    )
