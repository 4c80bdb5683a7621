"""`manage.py refresh_prices`: each provider's public price list read through the guarded
client from a local stand-in in its documented shape, paging followed, and a list that
fails changing nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Price
from inventory.price_sources.gcp import shape
from inventory.pricing import PriceQuery, hourly_usd, monthly_usd
from tests.inventory.price_lists import as_json, aws_offer, aws_row, price_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def allow(settings):
    def allowed(served: Any) -> None:
        settings.EGRESS_ALLOW = frozenset({served.host_port})
        settings.EGRESS_ALLOW_HTTP = True

    return allowed


def snapshot_of(provider: str) -> dict:
    return {
        (p.kind, p.size, p.region): (p.usd, p.source)
        for p in Price.objects.filter(provider=provider)
    }


# --- AWS -----------------------------------------------------------------------------------
def aws_route(path: str, query: dict) -> tuple[int, str, bytes]:
    if path == "/offers/v1.0/aws/AmazonEC2/current/region_index.json":
        return as_json({"formatVersion": "v1.0", "regions": {"us-east-1": {
            "regionCode": "us-east-1",
            "currentVersionUrl": "/offers/v1.0/aws/AmazonEC2/20261201000000/us-east-1/index.json",
        }}})  # fmt: skip
    if path == "/offers/v1.0/aws/AmazonEC2/20261201000000/us-east-1/index.csv":
        linux = {"tenancy": "Shared", "os": "Linux", "software": "NA", "capacity": "Used"}
        return 200, "text/csv", aws_offer([
            aws_row("OnDemand", "Hrs", "0.0110000000", "Compute Instance",
                    instance_type="t3.micro", **linux),
            aws_row("OnDemand", "Hrs", "0.0200000000", "Compute Instance",
                    instance_type="t3.micro", **{**linux, "os": "Windows"}),
            aws_row("Reserved", "Hrs", "0.0060000000", "Compute Instance",
                    instance_type="t3.micro", **linux),
            aws_row("OnDemand", "GB-Mo", "0.0900000000", "Storage", volume="gp3"),
            aws_row("OnDemand", "GB-Mo", "0.0550000000", "Storage Snapshot",
                    usage="EBS:SnapshotUsage"),
            aws_row("OnDemand", "Hrs", "0.0500000000", "NAT Gateway", usage="NatGateway-Hours"),
            aws_row("OnDemand", "Hrs", "0.0060000000", "IP Address",
                    usage="PublicIPv4:IdleAddress"),
        ])  # fmt: skip
    return 404, "text/plain", b"no such offer"


def test_aws_is_refreshed_from_the_bulk_api_csv(settings, allow):
    with price_list(aws_route) as served:
        allow(served)
        settings.PRICES_AWS_URL = served.url
        call_command("refresh_prices", provider=["aws"])
    assert hourly_usd("aws", "t3.micro", "us-east-1") == Decimal("0.011")  # Linux, on demand
    assert hourly_usd("aws", "t3.micro") == Decimal("0.011")  # the fallback follows us-east-1
    disk = PriceQuery("aws", "disk", "gp3", "us-east-1", quantity=10)
    nat = PriceQuery("aws", "nat_gateway", region="us-east-1")
    prices = monthly_usd([disk, nat])
    assert prices[disk] == Decimal("0.9")
    assert prices[nat] == Decimal("0.05") * 730
    refreshed = Price.objects.get(provider="aws", kind="ip", region="us-east-1")
    assert (refreshed.usd, refreshed.source) == (Decimal("0.006"), "aws-price-list")
    # What the list did not price keeps the snapshot's figure.
    assert hourly_usd("aws", "m5.large") == Decimal("0.096")
    assert served.asked[-1].endswith("/us-east-1/index.csv")


# --- Azure ---------------------------------------------------------------------------------
def azure_items(region: str) -> list[dict]:
    def vm(size: str, price: float, **extra: str) -> dict:
        return {"currencyCode": "USD", "retailPrice": price, "unitPrice": price,
                "armRegionName": region, "armSkuName": size, "skuName": size.split("_", 1)[1],
                "serviceName": "Virtual Machines", "productName": "Virtual Machines BS Series",
                "unitOfMeasure": "1 Hour", "type": "Consumption", **extra}  # fmt: skip

    return [
        vm("Standard_B1s", 0.0111),
        vm("Standard_B1s", 0.0222, productName="Virtual Machines BS Series Windows"),
        vm("Standard_B1s", 0.0033, skuName="B1s Spot"),
        vm("Standard_D2s_v3", 0.0999),
    ]


def azure_route(url: str) -> Any:
    def route(path: str, query: dict) -> tuple[int, str, bytes]:
        odata = query["$filter"][0]
        region = odata.split("armRegionName eq '")[1].split("'")[0]
        if "Virtual Machines" in odata:
            items = azure_items(region)
            if "$skip" not in query:  # two pages: the second through NextPageLink
                following = urlencode({"$skip": 2, "$filter": odata})
                return as_json(
                    {
                        "BillingCurrency": "USD",
                        "Items": items[:2],
                        "Count": 2,
                        "NextPageLink": f"{url}/api/retail/prices?{following}",
                    }
                )
            return as_json({"Items": items[2:], "NextPageLink": None, "Count": 2})
        return as_json({"Items": [
            {"currencyCode": "USD", "retailPrice": 6.4, "armRegionName": region,
             "meterName": "S10 LRS Disk", "serviceName": "Storage", "unitOfMeasure": "1/Month"},
        ], "NextPageLink": None})  # fmt: skip

    return route


def test_azure_is_refreshed_following_next_page_link(settings, allow):
    box: dict = {}
    with price_list(lambda path, query: box["route"](path, query)) as served:
        box["route"] = azure_route(served.url)
        allow(served)
        settings.PRICES_AZURE_URL = f"{served.url}/api/retail/prices"
        call_command("refresh_prices", provider=["azure"])
    assert hourly_usd("azure", "Standard_B1s", "eastus") == Decimal("0.0111")  # not Windows, Spot
    assert hourly_usd("azure", "Standard_D2s_v3", "westeurope") == Decimal("0.0999")  # page 2
    assert hourly_usd("azure", "Standard_D2s_v3") == Decimal("0.0999")  # fallback: eastus
    disk = PriceQuery("azure", "disk", "Standard_LRS", "eastus", quantity=128)
    assert monthly_usd([disk])[disk] == Decimal("6.4")
    assert any("skip=2" in path for path in served.asked)


# --- GCP -----------------------------------------------------------------------------------
def sku(description: str, regions: list[str], units: int, nanos: int, group: str = "CPU") -> dict:
    return {"name": f"services/6F81-5844-456A/skus/{description[:4]}", "skuId": "X",
            "description": description,
            "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": "Compute",
                         "resourceGroup": group, "usageType": "OnDemand"},
            "serviceRegions": regions,
            "pricingInfo": [{"pricingExpression": {"usageUnit": "h", "tieredRates": [
                {"startUsageAmount": 0, "unitPrice": {
                    "currencyCode": "USD", "units": str(units), "nanos": nanos}}]}}]}  # fmt: skip


def gcp_route(path: str, query: dict) -> tuple[int, str, bytes]:
    if query.get("key") != ["test-key"]:
        return 403, "application/json", b'{"error": {"code": 403}}'
    if "pageToken" not in query:
        return as_json({"skus": [
            sku("E2 Instance Core running in Americas", ["us-central1", "us-east1"], 0, 22000000),
            sku("E2 Instance Ram running in Americas", ["us-central1", "us-east1"], 0, 3000000,
                "RAM"),
        ], "nextPageToken": "page-2"})  # fmt: skip
    return as_json({"skus": [
        sku("Storage PD Capacity", ["us-central1"], 0, 44000000, "PDStandard"),
        sku("Spot Preemptible E2 Instance Core running in Americas", ["us-central1"], 0, 1),
    ], "nextPageToken": ""})  # fmt: skip


def test_gcp_is_refreshed_from_the_catalog_skus(settings, allow):
    with price_list(gcp_route) as served:
        allow(served)
        settings.PRICES_GCP_URL = f"{served.url}/v1/services/6F81-5844-456A/skus"
        settings.PRICES_GCP_API_KEY = "test-key"
        call_command("refresh_prices", provider=["gcp"])
    # e2-standard-2: 2 vCPUs at 0.022 and 8 GiB at 0.003
    assert hourly_usd("gcp", "e2-standard-2", "us-east1") == Decimal("0.068")
    assert hourly_usd("gcp", "e2-micro") == Decimal("0.0085")  # 0.25 vCPU and 1 GiB
    disk = PriceQuery("gcp", "disk", "pd-standard", "us-central1", quantity=100)
    assert monthly_usd([disk])[disk] == Decimal("4.4")
    assert len(served.asked) == 2
    assert "pageToken=page-2" in served.asked[1]


def test_gcp_without_an_api_key_says_so_and_changes_nothing(settings):
    settings.PRICES_GCP_API_KEY = ""
    before = snapshot_of("gcp")
    with pytest.raises(CommandError):
        call_command("refresh_prices", provider=["gcp"])
    assert snapshot_of("gcp") == before


def test_machine_shapes():
    assert shape("n1-standard-4") == ("n1", 4, Decimal(15))
    assert shape("n2-highmem-2") == ("n2", 2, 16)
    assert shape("e2-small") == ("e2", Decimal("0.5"), 2)
    assert shape("a2-highgpu-1g") is None


# --- failures change nothing ---------------------------------------------------------------
def test_a_list_that_fails_midway_changes_nothing(settings, allow, capsys):
    """The second page of Azure's list fails: the first page's prices are not written."""

    def route(path: str, query: dict) -> tuple[int, str, bytes]:
        if "$skip" in query:
            return 500, "text/plain", b"upstream went away"
        following = urlencode({"$skip": 100, "$filter": query["$filter"][0]})
        return as_json(
            {
                "Items": azure_items("eastus"),
                "NextPageLink": f"{served.url}/api/retail/prices?{following}",
            }
        )

    before = snapshot_of("azure")
    with price_list(route) as served:
        allow(served)
        settings.PRICES_AZURE_URL = f"{served.url}/api/retail/prices"
        with pytest.raises(CommandError, match="azure could not be read"):
            call_command("refresh_prices", provider=["azure"])
    assert snapshot_of("azure") == before
    assert "answered HTTP 500. Nothing was changed." in capsys.readouterr().err


def test_offline_it_fails_with_a_clear_message_and_changes_nothing(settings, capsys):
    settings.PRICES_AWS_URL = "https://pricing.invalid"
    before = snapshot_of("aws")
    with pytest.raises(CommandError):
        call_command("refresh_prices", provider=["aws"])
    assert snapshot_of("aws") == before
    assert "the AWS Price List bulk API did not answer" in capsys.readouterr().err


def test_a_private_address_is_refused_as_for_webhooks(settings, capsys):
    """Without EGRESS_ALLOW listing it, a list on loopback is never called."""
    with price_list(aws_route) as served:
        settings.EGRESS_ALLOW_HTTP = True
        settings.PRICES_AWS_URL = served.url
        with pytest.raises(CommandError):
            call_command("refresh_prices", provider=["aws"])
    assert served.asked == []
    assert "Nothing was changed." in capsys.readouterr().err
