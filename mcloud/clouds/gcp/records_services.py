"""Records of managed services, from the asset inventory, each read in the API version its
asset carries: Cloud Storage buckets, Cloud SQL instances (sqladmin v1beta4), Firestore
databases, GKE clusters and their node pools (vm groups attached to their cluster), Cloud
Functions (v2, every generation), Cloud Run services (v1, the Knative shape), Pub/Sub topics
and Cloud DNS managed zones.

What they are configured with beyond names and sizes (environment variables, secrets,
passwords) is never read. Each builder takes one item and the project's `Links`, and returns a
record or a Skip; it never raises whatever the item holds."""

from __future__ import annotations

import json
from typing import Any

from mcloud.clouds.base import ResourceRecord, ResourceType, Skip, Status
from mcloud.clouds.gcp.assets import AssetItem
from mcloud.clouds.gcp.fields import (
    GLOBAL_REGION,
    asset_path,
    dig,
    iso,
    last,
    listed,
    location_region,
    mapping,
    number,
    strings,
    text,
    timestamp,
)
from mcloud.clouds.gcp.links import Links
from mcloud.clouds.records import record_or_skip

_SQL_STATES = {
    "RUNNABLE": Status.RUNNING,
    "SUSPENDED": Status.STOPPED,
    "PENDING_CREATE": Status.PENDING,
    "MAINTENANCE": Status.PENDING,
    "ONLINE_MAINTENANCE": Status.PENDING,
    "REPAIRING": Status.PENDING,
    "PENDING_DELETE": Status.DELETING,
    "FAILED": Status.ERROR,
}
_GKE_STATUSES = {
    "RUNNING": Status.RUNNING,
    "PROVISIONING": Status.PENDING,
    "RECONCILING": Status.PENDING,
    "STOPPING": Status.DELETING,  # GKE stops a cluster or pool only to delete it
    "ERROR": Status.ERROR,
    "DEGRADED": Status.ERROR,
    "RUNNING_WITH_ERROR": Status.ERROR,
}
_FUNCTION_STATES = {
    "ACTIVE": Status.AVAILABLE,
    "DEPLOYING": Status.PENDING,
    "DETACHING": Status.PENDING,
    "DELETING": Status.DELETING,
    "FAILED": Status.ERROR,
    "DETACH_FAILED": Status.ERROR,
}
_READY = {"True": Status.AVAILABLE, "False": Status.ERROR, "Unknown": Status.PENDING}
# Labels Cloud Run sets itself, not the owner's.
_SYSTEM_LABELS = ("cloud.googleapis.com/", "run.googleapis.com/", "serving.knative.dev/")


def bucket_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Cloud Storage bucket; its id is its IAM name, projects/_/buckets/<name>."""
    data = item.data
    name = text(data.get("name")) or asset_path(item.name)
    prevention = text(dig(data, "iamConfiguration", "publicAccessPrevention"))
    return record_or_skip(
        kind="bucket",
        resource_id=f"projects/_/buckets/{name}" if name.strip() else None,
        name=name,
        type=ResourceType.STORAGE,
        region=text(data.get("location")) or item.location,
        status=Status.AVAILABLE,
        created_at=timestamp(data.get("timeCreated")),
        tags=data.get("labels"),
        metadata={
            "storage_class": text(data.get("storageClass")) or None,
            "location_type": text(data.get("locationType")) or None,
            "versioning": dig(data, "versioning", "enabled") is True,
            "public_access_prevention": prevention or None,
            "provider_status": "available",
            "provider_type": item.asset_type,
        },
    )


def sql_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Cloud SQL instance: running, or stopped when its activation policy says NEVER;
    attached to its private network and, for a replica, its primary."""
    data = item.data
    settings = mapping(data.get("settings"))
    state = text(data.get("state"))
    status = _SQL_STATES.get(state, Status.UNKNOWN)
    if status == Status.RUNNING and text(settings.get("activationPolicy")) == "NEVER":
        status = Status.STOPPED
    network = links.paths.network(dig(settings, "ipConfiguration", "privateNetwork"))
    primary = text(data.get("masterInstanceName"))
    project, _, primary_name = primary.rpartition(":")
    created = timestamp(data.get("createTime"))
    ips = {text(mapping(a).get("type")): text(mapping(a).get("ipAddress"))
           for a in listed(data.get("ipAddresses"))}  # fmt: skip
    return record_or_skip(
        kind="Cloud SQL instance",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.DATABASE,
        region=text(data.get("region")) or item.location,
        status=status,
        created_at=created,
        tags=settings.get("userLabels"),
        metadata={
            "engine": text(data.get("databaseVersion")) or None,
            "tier": text(settings.get("tier")) or None,
            "disk_gb": number(settings.get("dataDiskSizeGb")),
            "availability": text(settings.get("availabilityType")) or None,
            "zone": text(data.get("gceZone")) or None,
            "private_ip": ips.get("PRIVATE") or None,
            "public_ip": ips.get("PRIMARY") or None,
            "connection_name": text(data.get("connectionName")) or None,
            "backups": dig(settings, "backupConfiguration", "enabled") is True,
            "replica_of": primary or None,
            "provider_status": state or None,
            "provider_type": item.asset_type,
            "created": iso(created),
        },
        attached_to=[
            network,
            f"projects/{project or links.paths.project}/instances/{primary_name}"
            if primary_name
            else "",
        ],
    )


def firestore_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Firestore (or Datastore-mode) database."""
    data = item.data
    deleting = bool(data.get("deleteTime"))
    return record_or_skip(
        kind="Firestore database",
        resource_id=item.path,
        name=last(text(data.get("name"))) or last(item.path),
        type=ResourceType.NOSQL,
        region=text(data.get("locationId")) or item.location,
        status=Status.DELETING if deleting else Status.AVAILABLE,
        created_at=timestamp(data.get("createTime")),
        metadata={
            "mode": text(data.get("type")) or None,
            "edition": text(data.get("databaseEdition")) or None,
            "concurrency": text(data.get("concurrencyMode")) or None,
            "point_in_time_recovery": text(data.get("pointInTimeRecoveryEnablement")) or None,
            "delete_protection": text(data.get("deleteProtectionState")) or None,
            "provider_status": "deleted" if deleting else "available",
            "provider_type": item.asset_type,
        },
    )


def cluster_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A GKE cluster, attached to its network and subnetwork (its node pools are vm groups
    attached to it)."""
    data = item.data
    location = text(data.get("location")) or item.location
    region = location_region(location)
    word = text(data.get("status"))
    config = mapping(data.get("networkConfig"))
    network = links.paths.network(config.get("network") or data.get("network"))
    subnet = links.paths.subnetwork(config.get("subnetwork") or data.get("subnetwork"), region)
    return record_or_skip(
        kind="GKE cluster",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.KUBERNETES,
        region=region,
        status=_GKE_STATUSES.get(word, Status.UNKNOWN),
        created_at=timestamp(data.get("createTime")),
        tags=data.get("resourceLabels"),
        metadata={
            "version": text(data.get("currentMasterVersion")) or None,
            "node_count": number(data.get("currentNodeCount")),
            "node_pools": [text(mapping(p).get("name")) for p in listed(data.get("nodePools"))],
            "location": location or None,
            "autopilot": dig(data, "autopilot", "enabled") is True,
            "release_channel": text(dig(data, "releaseChannel", "channel")) or None,
            "endpoint": text(data.get("endpoint")) or None,
            "provider_status": word or None,
            "provider_type": item.asset_type,
        },
        attached_to=[network, subnet],
    )


def node_pool_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A GKE node pool: a vm group attached to its cluster and the instance groups of its
    nodes."""
    data = item.data
    config = mapping(data.get("config"))
    cluster = item.path.rsplit("/nodePools/", 1)[0] if "/nodePools/" in item.path else ""
    groups = [links.paths.of(g) for g in strings(data.get("instanceGroupUrls"))]
    word = text(data.get("status"))
    return record_or_skip(
        kind="node pool",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.VM_GROUP,
        region=location_region(item.location),
        status=_GKE_STATUSES.get(word, Status.UNKNOWN),
        tags=config.get("resourceLabels"),
        metadata={
            "cluster": cluster or None,
            "machine_type": text(config.get("machineType")) or None,
            "initial_node_count": number(data.get("initialNodeCount")),
            "autoscaling": dig(data, "autoscaling", "enabled") is True,
            "max_node_count": number(dig(data, "autoscaling", "maxNodeCount")),
            "version": text(data.get("version")) or None,
            "spot": config.get("spot") is True or config.get("preemptible") is True,
            "provider_status": word or None,
            "provider_type": item.asset_type,
        },
        attached_to=[cluster, *groups],
    )


def function_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Cloud Function (v2 API: both generations), attached to the Cloud Run service it
    runs on and the Pub/Sub topic that triggers it."""
    data = item.data
    service = mapping(data.get("serviceConfig"))
    trigger = mapping(data.get("eventTrigger"))
    name = text(data.get("name"))
    state = text(data.get("state"))
    return record_or_skip(
        kind="function",
        resource_id=item.path,
        name=last(name) or last(item.path),
        type=ResourceType.FUNCTION,
        region=_location_of(name) or item.location,
        status=_FUNCTION_STATES.get(state, Status.UNKNOWN),
        created_at=timestamp(data.get("createTime")),
        tags=data.get("labels"),
        metadata={
            "runtime": text(dig(data, "buildConfig", "runtime")) or None,
            "generation": text(data.get("environment")) or None,
            "memory": text(service.get("availableMemory")) or None,
            "timeout_seconds": number(service.get("timeoutSeconds")),
            "max_instances": number(service.get("maxInstanceCount")),
            "url": text(data.get("url")) or text(service.get("uri")) or None,
            "trigger": text(trigger.get("eventType")) or ("http" if service else None),
            "ingress": text(service.get("ingressSettings")) or None,
            "provider_status": state or None,
            "provider_type": item.asset_type,
        },
        attached_to=[_name_path(service.get("service")), _name_path(trigger.get("pubsubTopic"))],
    )


def run_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Cloud Run service (the asset holds run v1's Knative shape), attached to the Cloud SQL
    instances it connects to and the network its private traffic goes to."""
    data = item.data
    meta = mapping(data.get("metadata"))
    template = mapping(dig(data, "spec", "template"))
    notes = mapping(dig(template, "metadata", "annotations"))
    labels = mapping(meta.get("labels"))
    region = text(labels.get("cloud.googleapis.com/location")) or item.location
    ready = next((text(c.get("status")) for c in map(mapping, listed(dig(
        data, "status", "conditions"))) if c.get("type") == "Ready"), "")  # fmt: skip
    containers = [mapping(c) for c in listed(dig(template, "spec", "containers"))]
    created = timestamp(meta.get("creationTimestamp"))
    return record_or_skip(
        kind="Cloud Run service",
        resource_id=item.path,
        name=text(meta.get("name")) or last(item.path),
        type=ResourceType.FUNCTION,
        region=region,
        status=_READY.get(ready, Status.UNKNOWN),
        created_at=created,
        tags={k: v for k, v in labels.items() if not str(k).startswith(_SYSTEM_LABELS)},
        metadata={
            "url": text(dig(data, "status", "url")) or None,
            "image": text(containers[0].get("image")) or None if containers else None,
            "revision": text(dig(data, "status", "latestReadyRevisionName")) or None,
            "max_scale": text(notes.get("autoscaling.knative.dev/maxScale")) or None,
            "ingress": text(mapping(meta.get("annotations")).get("run.googleapis.com/ingress"))
            or None,
            "service_account": text(dig(template, "spec", "serviceAccountName")) or None,
            "provider_status": f"Ready={ready}" if ready else None,
            "provider_type": item.asset_type,
            "created": iso(created),
        },
        attached_to=[*_sql_instances(notes, links), *_run_networks(notes, links, region)],
    )


def topic_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Pub/Sub topic."""
    data = item.data
    state = text(data.get("state"))
    return record_or_skip(
        kind="topic",
        resource_id=item.path,
        name=last(text(data.get("name"))) or last(item.path),
        type=ResourceType.TOPIC,
        region=GLOBAL_REGION,
        status=Status.ERROR if state == "INGESTION_RESOURCE_ERROR" else Status.AVAILABLE,
        tags=data.get("labels"),
        metadata={
            "retention": text(data.get("messageRetentionDuration")) or None,
            "regions": strings(dig(data, "messageStoragePolicy", "allowedPersistenceRegions")),
            "encrypted_with_own_key": bool(data.get("kmsKeyName")),
            "provider_status": state or None,
            "provider_type": item.asset_type,
        },
    )


def dns_zone_record(item: AssetItem, links: Links) -> ResourceRecord | Skip:
    """A Cloud DNS managed zone; a private one is attached to the networks that see it."""
    data = item.data
    networks = [
        links.paths.network(mapping(n).get("networkUrl"))
        for n in listed(dig(data, "privateVisibilityConfig", "networks"))
    ]
    return record_or_skip(
        kind="managed zone",
        resource_id=item.path,
        name=text(data.get("name")),
        type=ResourceType.DNS_ZONE,
        region=GLOBAL_REGION,
        status=Status.AVAILABLE,
        created_at=timestamp(data.get("creationTime")),
        tags=data.get("labels"),
        metadata={
            "dns_name": text(data.get("dnsName")) or None,
            "visibility": text(data.get("visibility")) or None,
            "name_servers": strings(data.get("nameServers")),
            "dnssec": text(dig(data, "dnssecConfig", "state")) or None,
            "provider_status": "available",
            "provider_type": item.asset_type,
        },
        attached_to=networks,
    )


def _location_of(name: str) -> str:
    """projects/p/locations/us-central1/functions/f -> us-central1."""
    parts = name.split("/")
    return parts[3] if len(parts) > 3 and parts[2] == "locations" else ""


def _name_path(value: Any) -> str:
    """A resource name of another service ("projects/p/topics/t") as an id."""
    found = text(value)
    return found if found.startswith("projects/") else ""


def _sql_instances(notes: dict[str, Any], links: Links) -> list[str]:
    """Cloud SQL ids of the "project:region:instance" connection names a service lists."""
    found = []
    for entry in text(notes.get("run.googleapis.com/cloudsql-instances")).split(","):
        project, _, rest = entry.strip().partition(":")
        instance = rest.rpartition(":")[2]
        if project and instance:
            found.append(f"projects/{project}/instances/{instance}")
    return found


def _run_networks(notes: dict[str, Any], links: Links, region: str) -> list[str]:
    """The network and subnetwork of a service's Direct VPC egress (a JSON annotation)."""
    try:
        interfaces = json.loads(text(notes.get("run.googleapis.com/network-interfaces")) or "[]")
    except (ValueError, RecursionError):
        return []
    found = []
    for interface in map(mapping, listed(interfaces)):
        found.append(links.paths.network(interface.get("network")))
        found.append(links.paths.subnetwork(interface.get("subnetwork"), region))
    return found
