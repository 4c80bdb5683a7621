"""Compute Engine's network resources as Cloud Asset Inventory serves them (compute.v1 JSON):
subnetworks, firewall rules, addresses, Cloud Routers with their NATs, and the pieces of a load
balancer (backend services, URL maps, target proxies, forwarding rules).

Each `add_*` takes names (or full URLs) of what it refers to and stores the JSON GCP would
return, with selfLinks under https://www.googleapis.com/compute/v1/; the referring fields are
full URLs, as GCP writes them. Addresses list their users and are IN_USE when they have any."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from emulators.gcp.common import COMPUTE, GcpPart, _compute_time

# The ranges of auto-mode subnetworks in the regions the estate uses (10.x.0.0/20, as GCP's).
AUTO_RANGES = {"us-central1": 128, "europe-west1": 132, "us-east1": 142, "asia-east1": 140}


def compute_url(project: str, ref: str, kind: str, where: str = "global") -> str:
    """`ref` as a full Compute URL: a URL as is, a name as <where>/<kind>/<name>."""
    if ref.startswith("https://"):
        return ref
    if ref.startswith("projects/"):
        return f"{COMPUTE}/{ref}"
    return f"{COMPUTE}/projects/{project}/{where}/{kind}/{ref}"


def _where(region: str | None) -> str:
    return f"regions/{region}" if region else "global"


class NetworkMixin(GcpPart):
    add_asset: Callable[..., dict[str, Any]]
    asset_data: Callable[[str, str, str], dict[str, Any]]

    def _stored(
        self,
        project: str,
        asset_type: str,
        kind: str,
        name: str,
        data: dict[str, Any],
        *,
        region: str | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """`data` completed with id, name, time and selfLink, and stored as an asset. `kind`
        is the collection ("firewalls"), which names the item kind too (compute#firewall)."""
        path = f"projects/{project}/{_where(region)}/{kind}/{name}"
        item = kind.removesuffix("ies") + "y" if kind.endswith("ies") else kind[:-1]
        full = {
            "kind": f"compute#{item}",
            "id": self._new_id(),
            "creationTimestamp": _compute_time(created),
            "name": name,
            **({"region": f"{COMPUTE}/projects/{project}/regions/{region}"} if region else {}),
            **data,
            "selfLink": f"{COMPUTE}/{path}",
        }
        return self.add_asset(project, asset_type, path, full, location=region or "global")

    def add_subnetwork(
        self,
        project: str,
        *,
        name: str,
        region: str,
        network: str,
        cidr: str,
        private_google_access: bool = False,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#subnetwork; its network (of the fake) lists it among its subnetworks."""
        network_url = compute_url(project, network, "networks")
        data = self._stored(project, "compute.googleapis.com/Subnetwork", "subnetworks", name, {
            "network": network_url, "ipCidrRange": cidr,
            "gatewayAddress": cidr.rsplit(".", 2)[0] + ".0.1",
            "privateIpGoogleAccess": private_google_access, "fingerprint": "2L1v0uwNz9s=",
            "stackType": "IPV4_ONLY", "purpose": "PRIVATE",
        }, region=region, created=created)  # fmt: skip
        with self._lock:
            owner = self._projects[project].networks.get(network_url.rsplit("/", 1)[-1])
            if owner is not None and data["selfLink"] not in owner.setdefault("subnetworks", []):
                owner["subnetworks"].append(data["selfLink"])
        return data

    def add_firewall(
        self,
        project: str,
        *,
        name: str,
        network: str = "default",
        ports: Iterable[str] = ("22",),
        protocol: str = "tcp",
        sources: Iterable[str] = ("0.0.0.0/0",),
        target_tags: Iterable[str] = (),
        direction: str = "INGRESS",
        priority: int = 1000,
        disabled: bool = False,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#firewall rule; without target tags it applies to every VM of its network."""
        data: dict[str, Any] = {
            "description": "", "network": compute_url(project, network, "networks"),
            "priority": priority, "direction": direction, "disabled": disabled,
            "allowed": [{"IPProtocol": protocol, **({"ports": list(ports)} if ports else {})}],
            "logConfig": {"enable": False},
        }  # fmt: skip
        data["sourceRanges" if direction == "INGRESS" else "destinationRanges"] = list(sources)
        if target_tags:
            data["targetTags"] = list(target_tags)
        return self._stored(
            project, "compute.googleapis.com/Firewall", "firewalls", name, data, created=created
        )

    def add_address(
        self,
        project: str,
        *,
        name: str,
        address: str,
        region: str | None = None,
        users: Iterable[str] = (),
        internal_subnetwork: str | None = None,
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#address (global without a region); IN_USE when it has users (full URLs
        of instances, forwarding rules or routers), else RESERVED. Internal when it names the
        subnetwork it is in."""
        data: dict[str, Any] = {
            "address": address,
            "status": "IN_USE" if users else "RESERVED",
            "addressType": "INTERNAL" if internal_subnetwork else "EXTERNAL",
            "labelFingerprint": "42WmSpB8rSM=",
        }
        if internal_subnetwork:
            where = f"regions/{region}"
            data["subnetwork"] = compute_url(project, internal_subnetwork, "subnetworks", where)
            data["purpose"] = "GCE_ENDPOINT"
        else:
            data["networkTier"] = "PREMIUM"
        if not region:
            data["ipVersion"] = "IPV4"
        if users:
            data["users"] = list(users)
        if labels:
            data["labels"] = dict(labels)
        asset_type = "compute.googleapis.com/" + ("Address" if region else "GlobalAddress")
        return self._stored(
            project, asset_type, "addresses", name, data, region=region, created=created
        )

    def add_router(
        self,
        project: str,
        *,
        name: str,
        region: str,
        network: str = "default",
        nat: str | None = None,
        nat_subnetworks: Iterable[str] = (),
        nat_ips: Iterable[str] = (),
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#router, with a Cloud NAT named `nat`: for every subnetwork of the region
        unless `nat_subnetworks` names some, on automatic IPs unless `nat_ips` names
        addresses (which then list the router among their users)."""
        data: dict[str, Any] = {
            "network": compute_url(project, network, "networks"),
            "encryptedInterconnectRouter": False,
        }
        if nat:
            where = f"regions/{region}"
            subnets = [compute_url(project, s, "subnetworks", where) for s in nat_subnetworks]
            ips = [compute_url(project, a, "addresses", where) for a in nat_ips]
            data["nats"] = [{
                "name": nat,
                "sourceSubnetworkIpRangesToNat": (
                    "LIST_OF_SUBNETWORKS" if subnets else "ALL_SUBNETWORKS_ALL_IP_RANGES"),
                **({"subnetworks": [{"name": s, "sourceIpRangesToNat": ["ALL_IP_RANGES"]}
                                    for s in subnets]} if subnets else {}),
                "natIpAllocateOption": "MANUAL_ONLY" if ips else "AUTO_ONLY",
                **({"natIps": ips} if ips else {}),
                "logConfig": {"enable": False, "filter": "ALL"},
                "endpointTypes": ["ENDPOINT_TYPE_VM"],
                "enableEndpointIndependentMapping": False,
            }]  # fmt: skip
        router = self._stored(project, "compute.googleapis.com/Router", "routers", name, data,
                              region=region, created=created)  # fmt: skip
        for ip in data.get("nats", [{}])[0].get("natIps", []):
            self._add_user(project, ip, router["selfLink"])
        return router

    def add_backend_service(
        self,
        project: str,
        *,
        name: str,
        groups: Iterable[str],
        region: str | None = None,
        protocol: str = "HTTP",
        scheme: str = "EXTERNAL_MANAGED",
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#backendService (regional with a region) over instance groups (full URLs,
        as a managed instance group's `instanceGroup`)."""
        where = _where(region)
        data = {
            "backends": [{"group": g, "balancingMode": "UTILIZATION", "capacityScaler": 1.0}
                         for g in groups],
            "healthChecks": [f"{COMPUTE}/projects/{project}/{where}/healthChecks/{name}-hc"],
            "protocol": protocol, "loadBalancingScheme": scheme, "port": 80, "portName": "http",
            "timeoutSec": 30, "sessionAffinity": "NONE", "fingerprint": "BXx8Yv2T1U0=",
            "connectionDraining": {"drainingTimeoutSec": 300},
        }  # fmt: skip
        asset_type = "compute.googleapis.com/" + (
            "RegionBackendService" if region else "BackendService"
        )
        return self._stored(project, asset_type, "backendServices", name, data, region=region,
                            created=created)  # fmt: skip

    def add_url_map(self, project: str, *, name: str, default_service: str) -> dict[str, Any]:
        """A global compute#urlMap sending every request to `default_service`."""
        data = {"defaultService": compute_url(project, default_service, "backendServices"),
                "fingerprint": "5o2P0mSWkzE="}  # fmt: skip
        return self._stored(project, "compute.googleapis.com/UrlMap", "urlMaps", name, data)

    def add_target_proxy(
        self, project: str, *, name: str, url_map: str, https: bool = False
    ) -> dict[str, Any]:
        """A global compute#targetHttpProxy (or Https) in front of a URL map."""
        kind = "targetHttpsProxies" if https else "targetHttpProxies"
        asset_type = f"compute.googleapis.com/TargetHttp{'s' if https else ''}Proxy"
        data = {"urlMap": compute_url(project, url_map, "urlMaps"), "fingerprint": "mL0wx9DvBxQ="}
        return self._stored(project, asset_type, kind, name, data)

    def add_target_pool(
        self,
        project: str,
        *,
        name: str,
        region: str,
        instances: Iterable[str] = (),
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#targetPool (a legacy network load balancer's backend) of instances (full
        URLs); a forwarding rule names it as its `target`."""
        data = {"instances": list(instances), "healthChecks": [], "sessionAffinity": "NONE"}
        return self._stored(project, "compute.googleapis.com/TargetPool", "targetPools", name,
                            data, region=region, created=created)  # fmt: skip

    def add_forwarding_rule(
        self,
        project: str,
        *,
        name: str,
        ip_address: str,
        region: str | None = None,
        target: str | None = None,
        backend_service: str | None = None,
        address: str | None = None,
        scheme: str = "EXTERNAL_MANAGED",
        ports: str = "80-80",
        labels: dict[str, str] | None = None,
        created: datetime | str | None = None,
    ) -> dict[str, Any]:
        """A compute#forwardingRule (global without a region) to a target proxy or pool
        (`target`, a full URL) or, for a passthrough balancer, a regional backend service.
        `address`, a reserved address's URL, lists the rule among its users."""
        data: dict[str, Any] = {
            "IPAddress": ip_address, "IPProtocol": "TCP", "portRange": ports,
            "loadBalancingScheme": scheme, "networkTier": "PREMIUM",
            "fingerprint": "Xu1oQw0Jq9E=", "labelFingerprint": "42WmSpB8rSM=",
        }  # fmt: skip
        if target:
            data["target"] = target
        if backend_service:
            where = _where(region)
            data["backendService"] = compute_url(project, backend_service, "backendServices", where)
        if labels:
            data["labels"] = dict(labels)
        asset_type = "compute.googleapis.com/" + (
            "ForwardingRule" if region else "GlobalForwardingRule"
        )
        rule = self._stored(project, asset_type, "forwardingRules", name, data, region=region,
                            created=created)  # fmt: skip
        if address:
            self._add_user(project, address, rule["selfLink"])
        return rule

    def _add_user(self, project: str, address_url: str, user: str) -> None:
        """Mark a stored address as used by `user`, as GCP does when it is assigned."""
        path = address_url.split("/compute/v1/", 1)[-1]
        kind = "Address" if "/regions/" in path else "GlobalAddress"
        data = self.asset_data(project, f"compute.googleapis.com/{kind}", path)
        with self._lock:
            data.setdefault("users", []).append(user)
            data["status"] = "IN_USE"
