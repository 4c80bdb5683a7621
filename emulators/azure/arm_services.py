"""Azure's other services in the ARM fake: VM scale sets, snapshots, Azure SQL databases,
PostgreSQL and MySQL flexible servers, Cosmos DB accounts, AKS clusters, App Service sites
(function and web apps) and Service Bus namespaces, with the properties ARM returns for each.

As in real Azure, an SQL server holds a `master` database of its own, and an AKS cluster's node
pools are scale sets in the cluster's node resource group (MC_<group>_<cluster>_<location>),
tagged with their pool's name."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from emulators.azure.arm import _sku_tier
from emulators.azure.arm_network import NetworkMixin, _ref
from emulators.azure.state import _resource_id, _timestamp

COMPUTE = "Microsoft.Compute"


def _guid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


class ServicesMixin(NetworkMixin):
    def _plain(
        self,
        sub: str,
        group: str,
        rtype: str,
        name: str,
        location: str,
        tags: dict[str, str] | None,
        properties: dict[str, Any],
    ) -> dict[str, Any]:
        """A resource without the network resources' etag and resourceGuid."""
        resource = self._new(sub, group, rtype, name, location, tags, properties)
        del resource["etag"], resource["properties"]["resourceGuid"]
        return resource

    # --- compute ------------------------------------------------------------------------
    def add_scale_set(
        self, sub: str, *, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", size: str = "Standard_D2s_v3", capacity: int = 2,
        subnet_id: str | None = None, nsg_id: str | None = None,
        tags: dict[str, str] | None = None, created: dt.datetime | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        ip_configuration: dict[str, Any] = {"name": f"{name}-ipconfig", "properties": {}}
        if subnet_id:
            ip_configuration["properties"]["subnet"] = _ref(subnet_id)
        nic: dict[str, Any] = {"name": f"{name}-nic", "properties": {
            "primary": True, "enableAcceleratedNetworking": False,
            "ipConfigurations": [ip_configuration]}}  # fmt: skip
        if nsg_id:
            nic["properties"]["networkSecurityGroup"] = _ref(nsg_id)
        vmss = self._plain(sub, resource_group, f"{COMPUTE}/virtualMachineScaleSets", name,
                           location, tags, {
            "singlePlacementGroup": False, "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual"}, "overprovision": True,
            "uniqueId": _guid(f"{sub}/{name}"), "timeCreated": _timestamp(created, "+00:00"),
            "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": name[:9], "adminUsername": "azureuser"},
                "storageProfile": {"osDisk": {"osType": "Linux", "createOption": "FromImage",
                                              "caching": "ReadWrite",
                                              "managedDisk": {"storageAccountType":
                                                              "Premium_LRS"},
                                              "diskSizeGB": 30},
                                   "imageReference": {"publisher": "Canonical",
                                                      "offer": "ubuntu-24_04-lts",
                                                      "sku": "server", "version": "latest"}},
                "networkProfile": {"networkInterfaceConfigurations": [nic]}}})  # fmt: skip
        tier = {"name": size, "tier": "Standard", "capacity": capacity}
        return self._put(vmss, sku=tier)

    def attach_disk(self, vm_id: str, disk_id: str, *, lun: int | None = None) -> None:
        """Make a stored disk the VM's OS disk (`lun` None) or a data disk at `lun`: the VM
        names it (its resource group in upper case, as ARM writes it), it names the VM."""
        with self._lock:
            vm, disk = self._stored(vm_id), self._stored(disk_id)
            parts = disk["id"].split("/")
            parts[4] = parts[4].upper()
            reference = {"storageAccountType": disk["sku"]["name"], "id": "/".join(parts)}
            profile = vm["properties"]["storageProfile"]
            if lun is None:
                profile["osDisk"].update(name=disk["name"], managedDisk=reference)
            else:
                profile["dataDisks"].append(
                    {
                        "lun": lun,
                        "name": disk["name"],
                        "createOption": "Attach",
                        "caching": "None",
                        "managedDisk": reference,
                        "deleteOption": "Detach",
                    }
                )
            disk["managedBy"] = vm["id"]
            disk["properties"]["diskState"] = "Attached"

    def add_snapshot(
        self, sub: str, *, name: str, source_disk_id: str, resource_group: str = "rg-default",
        location: str = "westeurope", size_gb: int = 30, incremental: bool = True,
        tags: dict[str, str] | None = None, created: dt.datetime | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        snapshot = self._plain(sub, resource_group, f"{COMPUTE}/snapshots", name, location,
                               tags, {
            "hyperVGeneration": "V2", "osType": "Linux",
            "creationData": {"createOption": "Copy", "sourceResourceId": source_disk_id,
                             "sourceUniqueId": _guid(source_disk_id.lower())},
            "diskSizeGB": size_gb, "diskSizeBytes": size_gb * 2**30,
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "incremental": incremental, "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled", "timeCreated": _timestamp(created, "+00:00"),
            "uniqueId": _guid(f"{sub}/{name}"), "diskState": "Unattached"})  # fmt: skip
        sku = "Standard_ZRS" if incremental else "Standard_LRS"
        return self._put(snapshot, sku={"name": sku, "tier": _sku_tier(sku)})

    # --- databases ----------------------------------------------------------------------
    def add_sql_database(
        self, sub: str, *, server: str, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", sku: str = "GP_S_Gen5", capacity: int = 2,
        status: str = "Online", tags: dict[str, str] | None = None,
        created: dt.datetime | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A database of `server`, made (with its master database) if it does not exist."""
        server_id = _resource_id(sub, resource_group, "Microsoft.Sql/servers", server)
        with self._lock:
            if server_id.lower() not in self._state.resources:
                self._put(self._plain(sub, resource_group, "Microsoft.Sql/servers", server,
                                      location, None, {
                    "administratorLogin": "sqladmin", "version": "12.0", "state": "Ready",
                    "fullyQualifiedDomainName": f"{server}.database.windows.net",
                    "publicNetworkAccess": "Enabled", "minimalTlsVersion": "1.2"}),
                    kind="v12.0")  # fmt: skip
                self._database(
                    server_id,
                    "master",
                    location,
                    None,
                    created,
                    "Online",
                    {"name": "System", "tier": "System", "capacity": 0},
                    "system",
                )
        tier = "GeneralPurpose" if sku.startswith("GP") else "Standard"
        return self._database(server_id, name, location, tags, created, status,
                              {"name": sku, "tier": tier, "family": "Gen5", "capacity": capacity},
                              "user,vcore" + (",serverless" if "_S_" in sku else ""))  # fmt: skip

    def _database(self, server_id: str, name: str, location: str, tags: dict[str, str] | None,
                  created: dt.datetime | None, status: str, sku: dict[str, Any],
                  kind: str) -> dict[str, Any]:  # fmt: skip
        rid = f"{server_id}/databases/{name}"
        objective = f"{sku['name']}_{sku['capacity']}" if sku["capacity"] else "System0"
        database = {
            "id": rid,
            "name": name,
            "type": "Microsoft.Sql/servers/databases",
            "location": location,
            **({"tags": dict(tags)} if tags else {}),
            "sku": sku,
            "kind": f"v12.0,{kind}",
            "properties": {
                "collation": "SQL_Latin1_General_CP1_CI_AS",
                "maxSizeBytes": 34359738368,
                "status": status,
                "databaseId": _guid(rid.lower()),
                "creationDate": _timestamp(created, "Z"),
                "currentServiceObjectiveName": objective,
                "requestedServiceObjectiveName": objective,
                "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
                "zoneRedundant": False,
                "readScale": "Disabled",
                "currentSku": sku,
                "isLedgerOn": False,
                "currentBackupStorageRedundancy": "Geo",
                "requestedBackupStorageRedundancy": "Geo",
            },
        }
        return self._put(database)  # fmt: skip

    def add_flexible_server(
        self, sub: str, *, engine: str, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", sku: str = "Standard_B1ms", state: str = "Ready",
        subnet_id: str | None = None, storage_gb: int = 32,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A PostgreSQL (`engine` "postgres") or MySQL ("mysql") flexible server; in
        `subnet_id` (delegated to it) when given, else on public access."""
        postgres = engine == "postgres"
        namespace = "Microsoft.DBforPostgreSQL" if postgres else "Microsoft.DBforMySQL"
        network: dict[str, Any] = {"publicNetworkAccess": "Disabled" if subnet_id else "Enabled"}
        if subnet_id:
            network["delegatedSubnetResourceId"] = subnet_id
            self._subnet(subnet_id)["properties"]["delegations"] = [
                {"name": "flexibleServers", "properties": {
                    "serviceName": f"{namespace}/flexibleServers"}}]  # fmt: skip
        server = self._plain(sub, resource_group, f"{namespace}/flexibleServers", name, location,
                             tags, {
            "administratorLogin": "dbadmin", "version": "16" if postgres else "8.0.21",
            "state": state,
            "fullyQualifiedDomainName":
                f"{name}.{'postgres' if postgres else 'mysql'}.database.azure.com",
            "storage": {"storageSizeGB": storage_gb, "autoGrow": "Disabled",
                        "iops": 120 if postgres else 360},
            "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
            "network": network, "availabilityZone": "1",
            "highAvailability": {"mode": "Disabled", "state": "NotEnabled"},
            "replicationRole": "Primary" if postgres else "None"})  # fmt: skip
        del server["properties"]["provisioningState"]
        tier = "Burstable" if sku.startswith("Standard_B") else "GeneralPurpose"
        return self._put(server, sku={"name": sku, "tier": tier})

    def add_cosmos_account(
        self, sub: str, *, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", kind: str = "GlobalDocumentDB",
        subnet_ids: Iterable[str] = (), serverless: bool = True,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        rules = [{"id": s, "ignoreMissingVNetServiceEndpoint": False} for s in subnet_ids]
        region = {"id": f"{name}-{location}", "locationName": location, "failoverPriority": 0,
                  "documentEndpoint": f"https://{name}-{location}.documents.azure.com:443/",
                  "provisioningState": "Succeeded", "isZoneRedundant": False}  # fmt: skip
        account = self._plain(sub, resource_group, "Microsoft.DocumentDB/databaseAccounts", name,
                              location, tags, {
            "documentEndpoint": f"https://{name}.documents.azure.com:443/",
            "databaseAccountOfferType": "Standard", "instanceId": _guid(f"{sub}/{name}"),
            "consistencyPolicy": {"defaultConsistencyLevel": "Session",
                                  "maxIntervalInSeconds": 5, "maxStalenessPrefix": 100},
            "locations": [region], "readLocations": [region], "writeLocations": [region],
            "failoverPolicies": [{"id": region["id"], "locationName": location,
                                  "failoverPriority": 0}],
            "capabilities": [{"name": "EnableServerless"}] if serverless else [],
            "isVirtualNetworkFilterEnabled": bool(rules), "virtualNetworkRules": rules,
            "publicNetworkAccess": "Enabled", "enableFreeTier": False,
            "enableAutomaticFailover": False, "enableMultipleWriteLocations": False,
            "backupPolicy": {"type": "Periodic"}, "minimalTlsVersion": "Tls12"})  # fmt: skip
        return self._put(account, kind=kind)

    # --- Kubernetes and apps -------------------------------------------------------------
    def add_aks_cluster(
        self, sub: str, *, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", pools: Iterable[tuple[str, int]] = (("nodepool1", 3),),
        subnet_id: str | None = None, power: str = "Running", version: str = "1.30.4",
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The cluster, and a scale set per pool (name, node count) in its node group."""
        node_group = f"MC_{resource_group}_{name}_{location}"
        suffix = _guid(f"{sub}/{name}")[:8]
        profiles: list[dict[str, Any]] = []
        for pool, count in pools:
            profile: dict[str, Any] = {
                "name": pool, "count": count, "vmSize": "Standard_D2s_v3", "osDiskSizeGB": 128,
                "osDiskType": "Managed", "maxPods": 110, "type": "VirtualMachineScaleSets",
                "enableAutoScaling": False, "provisioningState": "Succeeded",
                "powerState": {"code": power}, "orchestratorVersion": version,
                "mode": "System" if not profiles else "User", "osType": "Linux",
                "osSKU": "Ubuntu"}  # fmt: skip
            if subnet_id:
                profile["vnetSubnetID"] = subnet_id
            profiles.append(profile)
            self.add_scale_set(sub, name=f"aks-{pool}-{suffix}-vmss", resource_group=node_group,
                               location=location, capacity=count, subnet_id=subnet_id, tags={
                "aks-managed-poolName": pool, "aks-managed-orchestrator": f"Kubernetes:{version}",
                "aks-managed-resourceNameSuffix": suffix,
                "aks-managed-createOperationID": _guid(f"{sub}/{name}/{pool}")})  # fmt: skip
        cluster = self._plain(sub, resource_group, "Microsoft.ContainerService/managedClusters",
                              name, location, tags, {
            "powerState": {"code": power}, "kubernetesVersion": version,
            "currentKubernetesVersion": version, "dnsPrefix": f"{name}-dns",
            "fqdn": f"{name}-dns-{suffix}.hcp.{location}.azmk8s.io",
            "agentPoolProfiles": profiles, "nodeResourceGroup": node_group, "enableRBAC": True,
            "networkProfile": {"networkPlugin": "azure", "loadBalancerSku": "standard",
                               "serviceCidr": "10.250.0.0/16", "dnsServiceIP": "10.250.0.10",
                               "outboundType": "loadBalancer"},
            "maxAgentPools": 100, "supportPlan": "KubernetesOfficial"})  # fmt: skip
        identity = {"type": "SystemAssigned", "principalId": _guid(f"{name}/identity")}
        return self._put(cluster, sku={"name": "Base", "tier": "Free"}, identity=identity)

    def add_web_app(
        self, sub: str, *, name: str, function: bool = False, resource_group: str = "rg-default",
        location: str = "westeurope", state: str = "Running", runtime: str = "Python|3.11",
        subnet_id: str | None = None, tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A Linux function app (`function`) or web app, on a plan of its own."""
        plan = _resource_id(sub, resource_group, "Microsoft.Web/serverfarms", f"{name}-plan")
        host = f"{name}.azurewebsites.net"
        properties: dict[str, Any] = {
            "name": name, "state": state, "hostNames": [host], "enabledHostNames": [host],
            "defaultHostName": host, "usageState": "Normal", "enabled": True,
            "availabilityState": "Normal", "serverFarmId": plan, "reserved": True,
            "httpsOnly": True, "siteConfig": {"linuxFxVersion": runtime, "numberOfWorkers": 1},
            "sku": "Dynamic" if function else "Basic", "containerSize": 1536 if function else 0,
            "lastModifiedTimeUtc": _timestamp(None, ""), "publicNetworkAccess": "Enabled",
        }  # fmt: skip
        if subnet_id:
            properties["virtualNetworkSubnetId"] = subnet_id
        site = self._plain(sub, resource_group, "Microsoft.Web/sites", name, location, tags,
                           properties)  # fmt: skip
        del site["properties"]["provisioningState"]
        return self._put(site, kind="functionapp,linux" if function else "app,linux")

    def add_service_bus_namespace(
        self, sub: str, *, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", sku: str = "Standard", status: str = "Active",
        tags: dict[str, str] | None = None, created: dt.datetime | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        when = _timestamp(created, "Z")
        namespace = self._plain(sub, resource_group, "Microsoft.ServiceBus/namespaces", name,
                                location, tags, {
            "status": status, "createdAt": when, "updatedAt": when,
            "serviceBusEndpoint": f"https://{name}.servicebus.windows.net:443/",
            "metricId": f"{sub}:{name}", "zoneRedundant": False, "disableLocalAuth": False,
            "minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled"})  # fmt: skip
        return self._put(namespace, sku={"name": sku, "tier": sku})
