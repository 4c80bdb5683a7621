"""What a Terraform plan will cost: the monthly list price of each resource it creates, changes
or destroys, read from the plan's JSON (`terraform show -json`, format 0.x/1.x) and priced from
the one price catalog (`inventory.pricing`) in a single batch.

- A resource type mcloud knows how to price becomes one or more priced parts (an instance and
  its root volume); one whose parts the catalog lacks, whose size is unknown until apply, or
  whose type is not known here is listed as "not estimated", never counted as zero.
- Types that cost nothing themselves (networks, security groups, resource groups…) are known
  as free, so they neither count nor appear as not estimated.
- Usage-billed types (buckets, storage accounts) are "not estimated: billed by usage".
- The delta of an update or a replacement is its price after minus before; a destroy is minus
  its price before. Figures are list prices in USD for a 730-hour month: an estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from inventory.pricing import PriceQuery, monthly_usd
from mcloud.clouds.registry import provider_for_terraform_source

CURRENCY = "USD"
_CENTS = Decimal("0.01")
# (what, catalog kind, size, quantity): quantity None when unknown until apply.
Part = tuple[str, str, str, float | None]
Values = Mapping[str, Any]

USAGE_BILLED = frozenset({
    "aws_s3_bucket", "azurerm_storage_account", "google_storage_bucket",
})  # fmt: skip
FREE = frozenset({
    "aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule", "aws_vpc", "aws_subnet", "aws_route_table",
    "aws_route_table_association", "aws_route", "aws_internet_gateway", "aws_key_pair",
    "aws_iam_role", "aws_iam_policy", "aws_iam_role_policy_attachment",
    "aws_iam_instance_profile", "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_public_access_block", "aws_s3_bucket_versioning",
    "aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_policy", "aws_eip_association", "aws_volume_attachment",
    "azurerm_resource_group", "azurerm_virtual_network", "azurerm_subnet",
    "azurerm_network_interface", "azurerm_network_security_group",
    "azurerm_network_security_rule", "azurerm_subnet_network_security_group_association",
    "azurerm_network_interface_security_group_association",
    "google_compute_network", "google_compute_subnetwork", "google_compute_firewall",
    "google_compute_router", "google_project_service", "google_service_account",
})  # fmt: skip


def _first(values: Values, key: str) -> Values:
    """The first block of a nested block list (`root_block_device[0]`), or {}."""
    blocks = values.get(key) or []
    return blocks[0] if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _aws_instance(v: Values) -> list[Part]:
    root = _first(v, "root_block_device")
    parts: list[Part] = [("instance", "vm", str(v.get("instance_type") or ""), 1)]
    if root:
        size = _number(root.get("volume_size"))
        parts.append(("root volume", "disk", str(root.get("volume_type") or "gp2"), size))
    for device in v.get("ebs_block_device") or []:
        size = _number(device.get("volume_size"))
        parts.append(("volume", "disk", str(device.get("volume_type") or "gp2"), size))
    return parts


def _azure_vm(v: Values) -> list[Part]:
    disk = _first(v, "os_disk")
    parts: list[Part] = [("machine", "vm", str(v.get("size") or v.get("vm_size") or ""), 1)]
    if disk:
        size = _number(disk.get("disk_size_gb"))
        parts.append(("OS disk", "disk", str(disk.get("storage_account_type") or ""), size))
    return parts


def _gcp_instance(v: Values) -> list[Part]:
    disk = _first(_first(v, "boot_disk"), "initialize_params")
    parts: list[Part] = [("machine", "vm", str(v.get("machine_type") or ""), 1)]
    if disk:
        size = _number(disk.get("size"))
        parts.append(("boot disk", "disk", str(disk.get("type") or "pd-standard"), size))
    return parts


def _one(kind: str, size_key: str = "", default: str = "") -> Callable[[Values], list[Part]]:
    def parts(v: Values) -> list[Part]:
        return [(kind.replace("_", " "), kind, str(v.get(size_key) or default), 1)]

    return parts


def _disk(type_key: str, size_key: str, default: str = "") -> Callable[[Values], list[Part]]:
    def parts(v: Values) -> list[Part]:
        return [("disk", "disk", str(v.get(type_key) or default), _number(v.get(size_key)))]

    return parts


def _gcp_sql(v: Values) -> list[Part]:
    return [("database", "database", str(_first(v, "settings").get("tier") or ""), 1)]


def _gcp_address(v: Values) -> list[Part]:
    if str(v.get("address_type") or "EXTERNAL").upper() != "EXTERNAL":
        return []  # internal addresses are free
    return [("ip address", "ip", "", 1)]


PRICED: dict[str, Callable[[Values], list[Part]]] = {
    "aws_instance": _aws_instance,
    "aws_ebs_volume": _disk("type", "size", "gp2"),
    "aws_eip": _one("ip"),
    "aws_nat_gateway": _one("nat_gateway"),
    "aws_lb": _one("load_balancer", "load_balancer_type", "application"),
    "aws_alb": _one("load_balancer", "load_balancer_type", "application"),
    "aws_elb": _one("load_balancer", default="classic"),
    "aws_db_instance": _one("database", "instance_class"),
    "azurerm_linux_virtual_machine": _azure_vm,
    "azurerm_windows_virtual_machine": _azure_vm,
    "azurerm_virtual_machine": _azure_vm,
    "azurerm_managed_disk": _disk("storage_account_type", "disk_size_gb"),
    "azurerm_public_ip": _one("ip"),
    "azurerm_nat_gateway": _one("nat_gateway"),
    "azurerm_lb": _one("load_balancer", "sku", "Basic"),
    "azurerm_postgresql_flexible_server": _one("database", "sku_name"),
    "azurerm_mysql_flexible_server": _one("database", "sku_name"),
    "azurerm_mssql_database": _one("database", "sku_name"),
    "google_compute_instance": _gcp_instance,
    "google_compute_disk": _disk("type", "size", "pd-standard"),
    "google_compute_address": _gcp_address,
    "google_compute_router_nat": _one("nat_gateway"),
    "google_compute_forwarding_rule": _one("load_balancer"),
    "google_compute_global_forwarding_rule": _one("load_balancer"),
    "google_sql_database_instance": _gcp_sql,
}


@dataclass
class ResourceCost:
    """One resource of the plan: its price before and after (None: not estimated)."""

    address: str
    type: str
    action: str  # create, update, replace, delete, no-op
    before: Decimal | None = None
    after: Decimal | None = None
    note: str = ""

    @property
    def estimated(self) -> bool:
        return not self.note

    @property
    def delta(self) -> Decimal | None:
        if not self.estimated:
            return None
        return (self.after or Decimal(0)) - (self.before or Decimal(0))


def _action(actions: list[str]) -> str:
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    return actions[0] if len(actions) == 1 else "+".join(actions)


def _provider_region(plan: Mapping[str, Any], local_name: str) -> str:
    """The provider block's region: a constant, or the variable it names."""
    config = (plan.get("configuration") or {}).get("provider_config") or {}
    block = config.get(local_name) or {}
    region = (block.get("expressions") or {}).get("region") or {}
    if "constant_value" in region:
        return str(region["constant_value"] or "")
    for reference in region.get("references") or []:
        if reference.startswith("var."):
            variable = (plan.get("variables") or {}).get(reference[4:]) or {}
            return str(variable.get("value") or "")
    return ""


def _region(values: Values, fallback: str) -> str:
    if values.get("region"):
        return str(values["region"])
    if values.get("location"):
        return str(values["location"]).replace(" ", "").lower()
    zone = str(values.get("zone") or "")
    if zone.count("-") >= 2:  # europe-west1-b -> europe-west1
        return zone.rsplit("-", 1)[0]
    return fallback


@dataclass
class _Side:
    """The parts of one side (before or after) of a change, with their catalog queries."""

    queries: list[PriceQuery]
    unknown: bool  # a size or quantity Terraform knows only after apply


def _side(values: Values | None, provider: str, type_: str, region: str) -> _Side | None:
    if not values:
        return None
    queries, unknown = [], False
    for _what, kind, size, quantity in PRICED[type_](values):
        if quantity is None or (kind in ("vm", "database", "disk") and not size):
            unknown = True
            continue
        queries.append(PriceQuery(provider, kind, size, _region(values, region), quantity))
    return _Side(queries, unknown)


def plan_cost_estimate(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's estimate as stored on its run and given to policies: the monthly delta, the
    monthly total after apply of what the plan knows, and every resource (see module doc)."""
    rows: list[tuple[ResourceCost, _Side | None, _Side | None]] = []
    queries: list[PriceQuery] = []
    for change in plan.get("resource_changes") or []:
        if not isinstance(change, dict) or change.get("mode") != "managed":
            continue
        type_ = str(change.get("type") or "")
        actions = list((change.get("change") or {}).get("actions") or ["no-op"])
        row = ResourceCost(str(change.get("address") or ""), type_, _action(actions))
        source = str(change.get("provider_name") or "").removeprefix("registry.terraform.io/")
        provider = provider_for_terraform_source(source)
        if type_ in FREE:
            row.before = row.after = Decimal(0)
            rows.append((row, None, None))
            continue
        if type_ in USAGE_BILLED:
            row.note = "billed by usage"
        elif type_ not in PRICED or provider is None:
            row.note = "not a type mcloud prices"
        if row.note or provider is None:
            rows.append((row, None, None))
            continue
        region = _provider_region(plan, source.rsplit("/", 1)[-1])
        body = change.get("change") or {}
        before = _side(body.get("before"), provider.key, type_, region)
        after = (
            None
            if row.action == "delete"
            else _side(body.get("after"), provider.key, type_, region)
        )
        for side in (before, after):
            queries.extend(side.queries if side else [])
        rows.append((row, before, after))
    prices = monthly_usd(queries)
    for row, before, after in rows:
        if row.note or row.type in FREE:
            continue
        row.before, row.after = _price(before, prices, row), _price(after, prices, row)
    return _summary([row for row, _b, _a in rows])


def _price(
    side: _Side | None, prices: Mapping[PriceQuery, Decimal | None], row: ResourceCost
) -> Decimal | None:
    if side is None:
        return None
    if side.unknown:
        row.note = row.note or "size known only after apply"
        return None
    missing = [q for q in side.queries if prices.get(q) is None]
    if missing:
        what = " ".join(filter(None, (missing[0].kind.replace("_", " "), missing[0].size)))
        row.note = row.note or f"no list price for {what} in {missing[0].region or 'any region'}"
        return None
    return sum((prices[q] or Decimal(0) for q in side.queries), Decimal(0))


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(_CENTS))


def _summary(rows: Iterable[ResourceCost]) -> dict[str, Any]:
    listed = [r for r in rows if r.type not in FREE]
    estimated = [r for r in listed if r.estimated]
    delta = sum((r.delta or Decimal(0) for r in estimated), Decimal(0))
    total = sum((r.after or Decimal(0) for r in estimated if r.action != "delete"), Decimal(0))
    return {
        "currency": CURRENCY,
        "monthly_delta": _money(delta),
        "monthly_total": _money(total),
        "not_estimated": sum(1 for r in listed if not r.estimated),
        "resources": [
            {"address": r.address, "type": r.type, "action": r.action,
             "before": _money(r.before), "after": _money(r.after), "delta": _money(r.delta),
             "estimated": r.estimated, "note": r.note}
            for r in listed
        ],
    }  # fmt: skip


def estimate_line(estimate: Mapping[str, Any]) -> str:
    """One line for the run's log: "Cost estimate: +12.40 USD/month (1 resource not
    estimated)."."""
    delta = estimate.get("monthly_delta") or 0.0
    line = f"Cost estimate: {delta:+.2f} {estimate.get('currency', CURRENCY)}/month"
    missing = estimate.get("not_estimated") or 0
    if missing:
        line += f" ({missing} resource{'s' if missing != 1 else ''} not estimated)"
    return line + "."
