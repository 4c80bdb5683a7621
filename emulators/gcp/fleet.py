"""What runs on Compute Engine machines, as Cloud Asset Inventory serves it: snapshots, managed
instance groups (with their instances and boot disks, created through the Compute tables so
that the Compute API lists them too) and GKE clusters with their node pools (each pool backed
by a managed instance group of nodes, as on GCP).

Instances of a group carry the "created-by" metadata item GCP writes (the group's path, with
the project's number); a node pool lists its groups' URLs in `instanceGroupUrls`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from emulators.gcp.common import COMPUTE, GcpPart, _compute_time, _region, _storage_time

CONTAINER = "https://container.googleapis.com/v1"
GKE_VERSION = "1.30.5-gke.1014001"


class FleetMixin(GcpPart):
    add_asset: Callable[..., dict[str, Any]]
    add_instance: Callable[..., dict[str, Any]]
    add_disk: Callable[..., dict[str, Any]]

    def add_snapshot(
        self,
        project: str,
        *,
        name: str,
        source_disk: str,
        size_gb: int = 10,
        status: str = "READY",
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#snapshot of a disk (`source_disk`: its full URL, or "<zone>/<name>")."""
        if not source_disk.startswith("https://"):
            zone, disk = source_disk.split("/", 1)
            source_disk = f"{COMPUTE}/projects/{project}/zones/{zone}/disks/{disk}"
        path = f"projects/{project}/global/snapshots/{name}"
        data: dict[str, Any] = {
            "kind": "compute#snapshot", "id": self._new_id(),
            "creationTimestamp": _compute_time(created), "name": name, "status": status,
            "sourceDisk": source_disk, "sourceDiskId": self._new_id(),
            "diskSizeGb": str(size_gb), "storageBytes": str(size_gb * 2**30 // 7),
            "storageBytesStatus": "UP_TO_DATE", "storageLocations": ["us"],
            "snapshotType": "STANDARD", "labelFingerprint": "42WmSpB8rSM=",
            "selfLink": f"{COMPUTE}/{path}",
        }  # fmt: skip
        if labels:
            data["labels"] = dict(labels)
        return self.add_asset(project, "compute.googleapis.com/Snapshot", path, data, location="us")

    def add_instance_group_manager(
        self,
        project: str,
        *,
        name: str,
        zone: str,
        size: int,
        machine_type: str = "e2-medium",
        base_instance_name: str | None = None,
        labels: dict[str, str] | None = None,
        network_tags: Iterable[str] = (),
        stable: bool = True,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A zonal compute#instanceGroupManager of `size` instances (each with its boot disk),
        from a template named after it."""
        base = base_instance_name or name
        number = self._project(project).data["id"]
        path = f"projects/{project}/zones/{zone}/instanceGroupManagers/{name}"
        template = f"{COMPUTE}/projects/{project}/global/instanceTemplates/{name}-template"
        for _ in range(size):
            instance = f"{base}-{self._random.getrandbits(16):04x}"
            self.add_instance(project, zone=zone, name=instance, machine_type=machine_type,
                              labels=labels, network_tags=list(network_tags) or None,
                              boot_disk=instance, created=created, metadata={
                                  "instance-template": template.split("/v1/", 1)[1],
                                  "created-by": f"projects/{number}/zones/{zone}/"
                                                f"instanceGroupManagers/{name}"})  # fmt: skip
            self.add_disk(project, zone=zone, name=instance, size_gb=10, users=(instance,),
                          labels=labels, created=created)  # fmt: skip
        zone_url = f"{COMPUTE}/projects/{project}/zones/{zone}"
        data: dict[str, Any] = {
            "kind": "compute#instanceGroupManager", "id": self._new_id(),
            "creationTimestamp": _compute_time(created), "name": name, "zone": zone_url,
            "instanceTemplate": template, "instanceGroup": f"{zone_url}/instanceGroups/{name}",
            "baseInstanceName": base, "fingerprint": "eZ3qnVmGk0E=", "targetSize": size,
            "currentActions": {"none": size if stable else 0, "creating": 0 if stable else size,
                               "recreating": 0, "deleting": 0, "abandoning": 0, "restarting": 0,
                               "refreshing": 0, "verifying": 0, "resuming": 0, "starting": 0,
                               "stopping": 0, "suspending": 0},
            "status": {"isStable": stable, "versionTarget": {"isReached": stable},
                       "stateful": {"hasStatefulConfig": False}},
            "versions": [{"instanceTemplate": template}],
            "updatePolicy": {"type": "OPPORTUNISTIC", "minimalAction": "REPLACE",
                             "maxSurge": {"fixed": 1, "calculated": 1},
                             "maxUnavailable": {"fixed": 1, "calculated": 1},
                             "replacementMethod": "SUBSTITUTE"},
            "listManagedInstancesResults": "PAGELESS",
            "selfLink": f"{COMPUTE}/{path}",
        }  # fmt: skip
        return self.add_asset(
            project, "compute.googleapis.com/InstanceGroupManager", path, data, location=zone
        )

    def add_cluster(
        self,
        project: str,
        *,
        name: str,
        location: str,
        node_pools: Iterable[tuple[str, int, str]] = (("default-pool", 2, "e2-medium"),),
        network: str = "default",
        subnetwork: str | None = None,
        status: str = "RUNNING",
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A GKE cluster (zonal when `location` is a zone), with node pools of (name, nodes per
        zone, machine type); every pool is a node pool asset and a managed instance group of
        nodes in each of the cluster's zones."""
        zonal = location.count("-") == 2
        zones = [location] if zonal else [f"{location}-a", f"{location}-b"]
        region = _region(location) if zonal else location
        path = f"projects/{project}/locations/{location}/clusters/{name}"
        self_link = f"{CONTAINER}/projects/{project}/{'zones' if zonal else 'locations'}/" + (
            f"{location}/clusters/{name}"
        )
        tag = f"{self._random.getrandbits(32):08x}"
        pools = [
            self._node_pool(project, name, self_link, zones, tag, pool, labels, created)
            for pool in node_pools
        ]
        data: dict[str, Any] = {
            "name": name, "nodePools": pools, "locations": zones, "location": location,
            "network": network, "subnetwork": subnetwork or network,
            "networkConfig": {
                "network": f"projects/{project}/global/networks/{network}",
                "subnetwork": f"projects/{project}/regions/{region}/subnetworks/"
                              f"{subnetwork or network}",
                "defaultSnatStatus": {},
            },
            "clusterIpv4Cidr": "10.8.0.0/14", "servicesIpv4Cidr": "34.118.224.0/20",
            "loggingService": "logging.googleapis.com/kubernetes",
            "monitoringService": "monitoring.googleapis.com/kubernetes",
            "releaseChannel": {"channel": "REGULAR"}, "autopilot": {},
            "initialClusterVersion": GKE_VERSION, "currentMasterVersion": GKE_VERSION,
            "currentNodeVersion": GKE_VERSION, "status": status,
            "currentNodeCount": sum(n for _, n, _ in node_pools) * len(zones),
            "endpoint": f"34.{self._random.randrange(256)}.{self._random.randrange(256)}.9",
            "createTime": _storage_time(created), "selfLink": self_link,
            "id": f"{self._random.getrandbits(128):032x}", "etag": tag,
            "labelFingerprint": "a9dc16a7",
        }  # fmt: skip
        if zonal:
            data["zone"] = location
        if labels:
            data["resourceLabels"] = dict(labels)
        self.add_asset(project, "container.googleapis.com/Cluster", path, data, location=location)
        for pool in pools:
            self.add_asset(project, "container.googleapis.com/NodePool",
                           f"{path}/nodePools/{pool['name']}", pool,
                           location=location)  # fmt: skip
        return data

    def _node_pool(
        self,
        project: str,
        cluster: str,
        cluster_link: str,
        zones: list[str],
        tag: str,
        pool: tuple[str, int, str],
        labels: dict[str, str] | None,
        created: datetime | str | None,
    ) -> dict[str, Any]:
        """A node pool's JSON, after its groups of nodes were made."""
        pool_name, nodes, machine_type = pool
        base = f"gke-{cluster}-{pool_name}-{tag}"[:54]
        node_labels = {**(labels or {}), "goog-gke-node": "", "goog-k8s-cluster-name": cluster,
                       "goog-k8s-node-pool-name": pool_name}  # fmt: skip
        groups = []
        for zone in zones:
            group = self.add_instance_group_manager(
                project, name=f"{base}-grp", zone=zone, size=nodes, machine_type=machine_type,
                base_instance_name=base, labels=node_labels,
                network_tags=[f"gke-{cluster}-{tag}-node"], created=created,
            )  # fmt: skip
            groups.append(group["selfLink"])
        return {
            "name": pool_name,
            "config": {"machineType": machine_type, "diskSizeGb": 100, "diskType": "pd-balanced",
                       "imageType": "COS_CONTAINERD", "serviceAccount": "default",
                       "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                       **({"resourceLabels": dict(labels)} if labels else {})},
            "initialNodeCount": nodes, "locations": zones,
            "autoscaling": {"enabled": True, "minNodeCount": 1, "maxNodeCount": nodes + 2},
            "management": {"autoUpgrade": True, "autoRepair": True},
            "instanceGroupUrls": groups, "status": "RUNNING", "version": GKE_VERSION,
            "podIpv4CidrSize": 24, "etag": tag,
            "selfLink": f"{cluster_link}/nodePools/{pool_name}",
            "upgradeSettings": {"maxSurge": 1, "strategy": "SURGE"},
        }  # fmt: skip
