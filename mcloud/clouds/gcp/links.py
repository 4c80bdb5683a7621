"""What a project's resources are attached to that no single item says: which firewall rules
apply to a VM, which addresses and load balancers use it, which VMs a managed instance group
or a load balancer reaches, which subnetworks a Cloud NAT covers.

`Links.build` reads every listed asset and instance once, before any record is made; an item
it cannot read adds nothing (its own record, or skip, says what is wrong with it). Ids are
those of `mcloud.clouds.gcp.fields` (paths from "projects/"), both ends alike."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mcloud.clouds.gcp.assets import COMPUTE, AssetItem
from mcloud.clouds.gcp.fields import (
    Paths,
    compute_place,
    dig,
    last,
    listed,
    mapping,
    strings,
    text,
)

_LB_HOPS = 4  # forwarding rule -> target proxy -> URL map -> backend service -> groups
_SERVICE_KEYS = ("defaultService", "service", "backendService")


def instance_id(project: str, zone: str, name: str) -> str:
    """The id of an instance, built as Compute's paths are (the listing gives no selfLink
    guarantee; zone and name it always has)."""
    return f"projects/{project}/zones/{zone or '-'}/instances/{name}"


@dataclass(frozen=True)
class _Firewall:
    rule: str
    tags: frozenset[str]
    accounts: frozenset[str]


@dataclass
class Links:
    """The index of one project's attachments (empty: nothing is known beyond each item)."""

    paths: Paths = field(default_factory=lambda: Paths(""))
    firewalls: dict[str, list[_Firewall]] = field(default_factory=lambda: defaultdict(list))
    users: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    members: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    group_managers: dict[str, str] = field(default_factory=dict)  # instance group -> MIG
    subnets: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    routes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    reaches: dict[str, list[str]] = field(default_factory=dict)  # LB -> VMs and groups
    behind: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # VM -> LBs

    @classmethod
    def build(cls, project: str, assets: Iterable[AssetItem], instances: Iterable[Any]) -> Links:
        assets = list(assets)
        number = next(
            (last(a.parent) for a in assets if a.parent.startswith("//cloudresourcemanager")), ""
        )
        links = cls(paths=Paths(project, number))
        indexers: dict[str, Callable[[AssetItem], None]] = {
            COMPUTE + "Firewall": links._firewall,
            COMPUTE + "Address": links._address,
            COMPUTE + "GlobalAddress": links._address,
            COMPUTE + "InstanceGroupManager": links._group_manager,
            COMPUTE + "Subnetwork": links._subnetwork,
            COMPUTE + "BackendService": links._backend_service,
            COMPUTE + "RegionBackendService": links._backend_service,
            COMPUTE + "ForwardingRule": links._hop("target", "backendService"),
            COMPUTE + "GlobalForwardingRule": links._hop("target", "backendService"),
            COMPUTE + "TargetHttpProxy": links._hop("urlMap"),
            COMPUTE + "TargetHttpsProxy": links._hop("urlMap"),
            COMPUTE + "TargetSslProxy": links._hop("service"),
            COMPUTE + "TargetTcpProxy": links._hop("service"),
            COMPUTE + "UrlMap": links._url_map,
            COMPUTE + "TargetPool": links._target_pool,
        }
        for item in assets:
            index = indexers.get(item.asset_type)
            if index is not None:
                _quietly(index, item)
        for instance in instances:
            _quietly(links._instance, instance)
        links._resolve_load_balancers(
            [a.path for a in assets if "ForwardingRule" in a.asset_type]
            + [a.path for a in assets if "BackendService" in a.asset_type]
        )
        return links

    # --- what a record asks -----------------------------------------------------------------
    def firewalls_of(self, network: str, tags: Iterable[str], accounts: Iterable[str]) -> list[str]:
        """The rules of `network` that apply to a VM with these network tags and service
        accounts: those that target neither tags nor accounts apply to every VM."""
        tags, accounts = set(tags), set(accounts)
        return [
            f.rule
            for f in self.firewalls.get(network, [])
            if (not f.tags and not f.accounts) or f.tags & tags or f.accounts & accounts
        ]

    def subnets_in(self, network: str, region: str) -> list[str]:
        return list(self.subnets.get((network, region), []))

    # --- indexing ---------------------------------------------------------------------------
    def _firewall(self, item: AssetItem) -> None:
        self.firewalls[self.paths.network(item.get("network"))].append(_Firewall(
            item.path, frozenset(strings(item.get("targetTags"))),
            frozenset(strings(item.get("targetServiceAccounts"))),
        ))  # fmt: skip

    def _address(self, item: AssetItem) -> None:
        for user in strings(item.get("users")):
            if self.paths.of(user):
                self.users[self.paths.of(user)].append(item.path)

    def _group_manager(self, item: AssetItem) -> None:
        group = self.paths.of(item.get("instanceGroup"))
        if group:
            self.group_managers[group] = item.path

    def _subnetwork(self, item: AssetItem) -> None:
        region, _ = compute_place(item.data)
        self.subnets[(self.paths.network(item.get("network")), region)].append(item.path)

    def _backend_service(self, item: AssetItem) -> None:
        for backend in listed(item.get("backends")):
            group = self.paths.of(mapping(backend).get("group"))
            if group:
                self.routes[item.path].append(group)

    def _hop(self, *keys: str) -> Callable[[AssetItem], None]:
        def index(item: AssetItem) -> None:
            for key in keys:
                target = self.paths.of(item.get(key))
                if target:
                    self.routes[item.path].append(target)

        return index

    def _url_map(self, item: AssetItem) -> None:
        """Every backend service a URL map sends to, wherever in its rules it is named."""
        found: list[str] = []
        _collect(item.data, _SERVICE_KEYS, found, depth=0)
        for service in found:
            if self.paths.of(service):
                self.routes[item.path].append(self.paths.of(service))

    def _target_pool(self, item: AssetItem) -> None:
        for instance in strings(item.get("instances")):
            if self.paths.of(instance):
                self.routes[item.path].append(self.paths.of(instance))

    def _instance(self, instance: Any) -> None:
        """A VM made by a managed instance group says so in its "created-by" metadata (the
        group's path, with the project's number)."""
        zone = last(instance.zone)
        vm = instance_id(self.paths.project, zone, instance.name)
        for entry in instance.metadata.items:
            if entry.key == "created-by" and "/instanceGroupManagers/" in entry.value:
                self.members[self.paths.of(entry.value)].append(vm)

    def _resolve_load_balancers(self, balancers: list[str]) -> None:
        """Follow each balancer's routes to instance groups (then their VMs) and VMs."""
        managers = set(self.group_managers.values())
        for balancer in balancers:
            seen: dict[str, None] = {}
            frontier = [balancer]
            for _ in range(_LB_HOPS):
                frontier = [n for h in frontier for n in self.routes.get(h, []) if n not in seen]
                seen.update(dict.fromkeys(frontier))
            reached: list[str] = []
            for node in seen:
                group = self.group_managers.get(node, node if node in managers else "")
                if group:
                    reached.extend([group, *self.members.get(group, [])])
                elif "/instances/" in node or "/backendServices/" in node:
                    reached.append(node)
            self.reaches[balancer] = list(dict.fromkeys(reached))
            for vm in (n for n in self.reaches[balancer] if "/instances/" in n):
                self.behind[vm].append(balancer)


def _collect(value: Any, keys: tuple[str, ...], found: list[str], depth: int) -> None:
    if depth > 6:
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in keys and isinstance(inner, str):
                found.append(inner)
            else:
                _collect(inner, keys, found, depth + 1)
    elif isinstance(value, list):
        for inner in value[:200]:
            _collect(inner, keys, found, depth + 1)


def _quietly(index: Callable[[Any], None], item: Any) -> None:
    """Index one item; an item that cannot be read adds nothing (its own record or skip
    tells what is wrong with it)."""
    with contextlib.suppress(Exception):
        index(item)


def nat_subnets(links: Links, router: AssetItem, nat: dict[str, Any]) -> list[str]:
    """The subnetworks one Cloud NAT of a router serves: those it lists, or every one of the
    router's network in its region."""
    if text(nat.get("sourceSubnetworkIpRangesToNat")).startswith("LIST_OF"):
        return [links.paths.of(dig(s, "name")) for s in listed(nat.get("subnetworks"))]
    region, _ = compute_place(router.data)
    return links.subnets_in(links.paths.network(router.get("network")), region)
