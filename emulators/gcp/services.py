"""Managed services as Cloud Asset Inventory serves them, each in the JSON (and API version) of
its asset's `resource.data` on GCP: Cloud SQL instances (sqladmin v1beta4), Firestore databases
(firestore v1), Cloud Functions (cloudfunctions v2, every generation; a 2nd-gen function runs
on a Cloud Run service, added with it as on GCP), Cloud Run services (run v1, the Knative
shape), Pub/Sub topics and Cloud DNS managed zones."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from emulators.gcp.common import COMPUTE, GcpPart, _storage_time

SQL_AGENTS = "gcp-sa-cloud-sql.iam.gserviceaccount.com"


class ServicesMixin(GcpPart):
    add_asset: Callable[..., dict[str, Any]]

    def add_sql_instance(
        self,
        project: str,
        *,
        name: str,
        region: str = "us-central1",
        database_version: str = "POSTGRES_15",
        tier: str = "db-custom-2-7680",
        state: str = "RUNNABLE",
        activation_policy: str = "ALWAYS",
        private_network: str | None = None,
        disk_gb: int = 20,
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A Cloud SQL instance (sql#instance); on a private IP in `private_network` (a
        network's name) when named, else on a public one."""
        number = self._project(project).data["id"]
        ip = (
            {"type": "PRIVATE", "ipAddress": f"10.{self._random.randrange(20, 60)}.0.3"}
            if private_network
            else {"type": "PRIMARY", "ipAddress": f"35.{self._random.randrange(256)}.0.7"}
        )
        settings: dict[str, Any] = {
            "kind": "sql#settings", "tier": tier, "activationPolicy": activation_policy,
            "availabilityType": "ZONAL", "dataDiskSizeGb": str(disk_gb), "dataDiskType": "PD_SSD",
            "pricingPlan": "PER_USE", "storageAutoResize": True, "edition": "ENTERPRISE",
            "settingsVersion": "1", "locationPreference": {"zone": f"{region}-a"},
            "backupConfiguration": {"enabled": True, "startTime": "02:00",
                                    "backupRetentionSettings": {"retainedBackups": 7,
                                                                "retentionUnit": "COUNT"}},
            "ipConfiguration": {"ipv4Enabled": not private_network, "sslMode": "ENCRYPTED_ONLY",
                **({"privateNetwork": f"projects/{project}/global/networks/{private_network}"}
                   if private_network else {})},
        }  # fmt: skip
        if labels:
            settings["userLabels"] = dict(labels)
        path = f"projects/{project}/instances/{name}"
        data = {
            "kind": "sql#instance", "state": state, "databaseVersion": database_version,
            "settings": settings, "project": project, "name": name, "region": region,
            "gceZone": f"{region}-a", "connectionName": f"{project}:{region}:{name}",
            "ipAddresses": [ip], "instanceType": "CLOUDSQL_INSTANCE", "backendType": "SECOND_GEN",
            "createTime": _storage_time(created), "databaseInstalledVersion": database_version,
            "serviceAccountEmailAddress": f"p{number}-abcdef@{SQL_AGENTS}",
            "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/{path}", "etag": "c2ff1a",
        }  # fmt: skip
        return self.add_asset(
            project, "sqladmin.googleapis.com/Instance", path, data, location=region
        )

    def add_firestore_database(
        self,
        project: str,
        *,
        name: str = "(default)",
        location: str = "nam5",
        mode: str = "FIRESTORE_NATIVE",
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A Firestore database (GoogleFirestoreAdminV1Database)."""
        path = f"projects/{project}/databases/{name}"
        timestamp = _storage_time(created)
        data = {
            "name": path, "uid": f"{self._random.getrandbits(128):032x}", "createTime": timestamp,
            "updateTime": timestamp, "locationId": location, "type": mode,
            "concurrencyMode": "PESSIMISTIC" if mode == "FIRESTORE_NATIVE" else "OPTIMISTIC",
            "versionRetentionPeriod": "3600s", "earliestVersionTime": timestamp,
            "pointInTimeRecoveryEnablement": "POINT_IN_TIME_RECOVERY_DISABLED",
            "appEngineIntegrationMode": "DISABLED", "databaseEdition": "STANDARD",
            "deleteProtectionState": "DELETE_PROTECTION_DISABLED", "etag": "IOrl2Y2B",
        }  # fmt: skip
        return self.add_asset(
            project, "firestore.googleapis.com/Database", path, data, location=location
        )

    def add_function(
        self,
        project: str,
        *,
        name: str,
        region: str = "us-central1",
        runtime: str = "python312",
        topic: str | None = None,
        state: str = "ACTIVE",
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A 2nd-gen Cloud Function (cloudfunctions v2 Function), triggered by a Pub/Sub topic
        of the project when `topic` names one, else by HTTP; with its Cloud Run service."""
        path = f"projects/{project}/locations/{region}/functions/{name}"
        service = f"projects/{project}/locations/{region}/services/{name}"
        number = self._project(project).data["id"]
        account = f"{number}-compute@developer.gserviceaccount.com"
        url = f"https://{name}-{self._random.getrandbits(40):010x}-uc.a.run.app"
        timestamp = _storage_time(created)
        data: dict[str, Any] = {
            "name": path, "environment": "GEN_2", "state": state, "url": url,
            "buildConfig": {"runtime": runtime, "entryPoint": "handler",
                            "dockerRepository": f"projects/{project}/locations/{region}/"
                                                "repositories/gcf-artifacts"},
            "serviceConfig": {"service": service, "uri": url, "timeoutSeconds": 60,
                              "availableMemory": "256M", "availableCpu": "0.1667",
                              "maxInstanceCount": 100, "maxInstanceRequestConcurrency": 1,
                              "ingressSettings": "ALLOW_ALL", "serviceAccountEmail": account,
                              "allTrafficOnLatestRevision": True, "revision": f"{name}-00001-abc"},
            "createTime": timestamp, "updateTime": timestamp,
        }  # fmt: skip
        if topic:
            data["eventTrigger"] = {
                "trigger": f"projects/{project}/locations/{region}/triggers/{name}-123456",
                "triggerRegion": region, "pubsubTopic": f"projects/{project}/topics/{topic}",
                "eventType": "google.cloud.pubsub.topic.v1.messagePublished",
                "retryPolicy": "RETRY_POLICY_DO_NOT_RETRY", "serviceAccountEmail": account,
            }  # fmt: skip
        if labels:
            data["labels"] = dict(labels)
        function = self.add_asset(
            project, "cloudfunctions.googleapis.com/Function", path, data, location=region
        )
        self.add_run_service(project, name=name, region=region, url=url, labels=labels,
                             image=f"{region}-docker.pkg.dev/{project}/gcf-artifacts/{name}",
                             created=created)  # fmt: skip
        return function

    def add_run_service(
        self,
        project: str,
        *,
        name: str,
        region: str = "us-central1",
        image: str = "us-docker.pkg.dev/cloudrun/container/hello",
        url: str | None = None,
        ready: bool = True,
        sql_instances: Iterable[str] = (),
        network: str | None = None,
        subnetwork: str | None = None,
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A Cloud Run service as the asset inventory holds it (run v1, the Knative shape):
        connected to Cloud SQL instances of the project (by name) and, with `network`, sending
        private traffic to a subnetwork of it in the region (Direct VPC egress; by default the
        one named like the network)."""
        number = self._project(project).data["id"]
        url = url or f"https://{name}-{self._random.getrandbits(40):010x}-uc.a.run.app"
        template: dict[str, str] = {"autoscaling.knative.dev/maxScale": "4"}
        if sql_instances:
            template["run.googleapis.com/cloudsql-instances"] = ",".join(
                f"{project}:{region}:{i}" for i in sql_instances
            )
        if network:
            template["run.googleapis.com/network-interfaces"] = json.dumps(
                [{"network": network, "subnetwork": subnetwork or network}]
            )
            template["run.googleapis.com/vpc-access-egress"] = "private-ranges-only"
        revision = f"{name}-00001-{self._random.getrandbits(12):03x}"
        timestamp = _storage_time(created)
        condition = "True" if ready else "False"
        data = {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": str(number), "generation": 1,
                         "uid": f"{self._random.getrandbits(128):032x}",
                         "labels": {"cloud.googleapis.com/location": region, **(labels or {})},
                         "annotations": {"run.googleapis.com/ingress": "all",
                                         "serving.knative.dev/creator": "deploy@example.com"},
                         "selfLink": f"/apis/serving.knative.dev/v1/namespaces/{number}/"
                                     f"services/{name}",
                         "creationTimestamp": timestamp, "resourceVersion": "AAXYN2StUX8"},
            "spec": {"template": {"metadata": {"name": revision, "annotations": template},
                                  "spec": {"containerConcurrency": 80, "timeoutSeconds": 300,
                                           "serviceAccountName":
                                               f"{number}-compute@developer.gserviceaccount.com",
                                           "containers": [{"image": image, "ports": [
                                               {"name": "http1", "containerPort": 8080}],
                                               "resources": {"limits": {"cpu": "1000m",
                                                                        "memory": "512Mi"}}}]}},
                     "traffic": [{"percent": 100, "latestRevision": True}]},
            "status": {"observedGeneration": 1, "url": url, "address": {"url": url},
                       "latestReadyRevisionName": revision,
                       "latestCreatedRevisionName": revision,
                       "conditions": [{"type": t, "status": condition,
                                       "lastTransitionTime": timestamp}
                                      for t in ("Ready", "ConfigurationsReady", "RoutesReady")],
                       "traffic": [{"revisionName": revision, "percent": 100,
                                    "latestRevision": True}]},
        }  # fmt: skip
        path = f"projects/{project}/locations/{region}/services/{name}"
        return self.add_asset(project, "run.googleapis.com/Service", path, data, location=region)

    def add_topic(
        self, project: str, *, name: str, labels: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A Pub/Sub topic."""
        path = f"projects/{project}/topics/{name}"
        data: dict[str, Any] = {"name": path, "messageRetentionDuration": "604800s",
                                "state": "ACTIVE"}  # fmt: skip
        if labels:
            data["labels"] = dict(labels)
        return self.add_asset(project, "pubsub.googleapis.com/Topic", path, data, location="global")

    def add_dns_zone(
        self,
        project: str,
        *,
        name: str,
        dns_name: str,
        private_networks: Iterable[str] = (),
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A Cloud DNS managed zone: public, or private to the networks named."""
        networks = list(private_networks)
        data: dict[str, Any] = {
            "kind": "dns#managedZone", "name": name, "dnsName": dns_name, "description": "",
            "id": str(self._random.randrange(10**18, 10**19)),
            "creationTime": _storage_time(created),
            "visibility": "private" if networks else "public",
            "cloudLoggingConfig": {"kind": "dns#managedZoneCloudLoggingConfig",
                                   "enableLogging": False},
        }  # fmt: skip
        if networks:
            data["privateVisibilityConfig"] = {
                "kind": "dns#managedZonePrivateVisibilityConfig",
                "networks": [{"kind": "dns#managedZonePrivateVisibilityConfigNetwork",
                              "networkUrl": f"{COMPUTE}/projects/{project}/global/networks/{n}"}
                             for n in networks],
            }  # fmt: skip
        else:
            data["nameServers"] = [f"ns-cloud-a{n}.googledomains.com." for n in range(1, 5)]
            data["dnssecConfig"] = {"kind": "dns#managedZoneDnsSecConfig", "state": "off"}
        if labels:
            data["labels"] = dict(labels)
        path = f"projects/{project}/managedZones/{name}"
        return self.add_asset(
            project, "dns.googleapis.com/ManagedZone", path, data, location="global"
        )
