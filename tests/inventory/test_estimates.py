"""The inventory's list-price estimates: each provider's resources priced from the catalog by
their size keys, at ingest in one catalog read per scope, and shown labelled "estimate"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.estimates import price_query
from inventory.models import Resource
from inventory.pricing import PriceQuery, hourly_usd, monthly_usd
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.inventory.factories import aws_account, azure_account, gcp_account

pytestmark = pytest.mark.django_db


def test_each_provider_names_the_size_the_catalog_knows():
    aws = price_query(provider="aws", type="vm", region="eu-west-1",
                      metadata={"instance_type": "t3.micro"})  # fmt: skip
    assert aws == PriceQuery("aws", "vm", "t3.micro", "eu-west-1")
    azure = price_query(provider="azure", type="disk", region="westeurope",
                        metadata={"sku": "Premium_LRS", "size_gb": 128})  # fmt: skip
    assert azure == PriceQuery("azure", "disk", "Premium_LRS", "westeurope", 128.0)
    sql = price_query(provider="azure", type="database", region="eastus",
                      metadata={"sku": "GP_Gen5", "service_objective": "GP_Gen5_2"})  # fmt: skip
    assert sql is not None
    assert sql.size == "GP_Gen5_2"
    gcp = price_query(provider="gcp", type="database", region="us-central1",
                      metadata={"tier": "db-custom-2-7680"})  # fmt: skip
    assert gcp == PriceQuery("gcp", "database", "db-custom-2-7680", "us-central1")


def test_what_has_no_price_has_no_query():
    assert price_query(provider="aws", type="network", region="", metadata={}) is None
    assert price_query(provider="aws", type="disk", region="", metadata={"size_gb": None}) is None
    assert price_query(provider="nope", type="vm", region="", metadata={}) is None


def vm(rid: str, region: str, **metadata: object) -> ResourceRecord:
    return ResourceRecord(rid, rid, "vm", region, "running", metadata=dict(metadata))


def disk(rid: str, region: str, **metadata: object) -> ResourceRecord:
    return ResourceRecord(rid, rid, "disk", region, "available", metadata=dict(metadata))


def test_ingest_writes_each_providers_estimates(org):
    aws = aws_account(org, ("AKIAEXAMPLE000000000", "secret"))
    azure = azure_account(org, "t", "c", "s", ["sub-1"])
    gcp = gcp_account(
        org,
        {
            "client_email": "sa@p1.iam.gserviceaccount.com",
            "private_key_id": "k1",
            "project_id": "p1",
        },
    )
    ingest_scope(account=aws, scope="us-east-1", records=[
        vm("i-1", "us-east-1", instance_type="m5.large"),
        disk("vol-1", "us-east-1", volume_type="gp2", size_gb=50),
        vm("i-2", "us-east-1", instance_type="x9.unheard-of"),
    ])  # fmt: skip
    ingest_scope(account=azure, scope="sub-1", records=[
        vm("vm-1", "westeurope", vm_size="Standard_D2s_v3"),
        disk("disk-1", "eastus", sku="StandardSSD_LRS", size_gb=64),
    ])  # fmt: skip
    ingest_scope(
        account=gcp, scope="p1", records=[vm("gce-1", "europe-west1", machine_type="e2-medium")]
    )
    estimate = dict(Resource.objects.values_list("resource_id", "monthly_estimate"))
    assert estimate["i-1"] == Decimal("0.096") * 730
    assert estimate["vol-1"] == Decimal("0.1") * 50
    assert estimate["i-2"] is None  # not in the catalog: none, never zero
    assert estimate["vm-1"] == hourly_usd("azure", "Standard_D2s_v3", "westeurope") * 730
    assert hourly_usd("azure", "Standard_D2s_v3", "westeurope") != hourly_usd(
        "azure", "Standard_D2s_v3"
    )
    assert estimate["disk-1"] == Decimal("0.075") * 64
    medium = PriceQuery("gcp", "vm", "e2-medium", "europe-west1")
    assert estimate["gce-1"] == monthly_usd([medium])[medium].quantize(Decimal("0.0001"))


def test_a_changed_price_is_written_at_the_next_sync(org):
    from inventory.models import Price

    account = aws_account(org, ("AKIAEXAMPLE000000000", "secret"))
    records = [vm("i-1", "us-east-1", instance_type="t3.micro")]
    ingest_scope(account=account, scope="us-east-1", records=records)
    Price.objects.filter(provider="aws", kind="vm", size="t3.micro").update(usd=Decimal("0.02"))
    counts = ingest_scope(account=account, scope="us-east-1", records=records)
    assert counts.updated == 1
    assert Resource.objects.get().monthly_estimate == Decimal("14.6")


def test_the_catalog_is_read_once_per_scope(org):
    account = aws_account(org, ("AKIAEXAMPLE000000000", "secret"))

    def catalog_reads(count: int) -> int:
        records = [vm(f"i-{n}", "us-east-1", instance_type="t3.micro") for n in range(count)]
        records += [
            disk(f"vol-{n}", "us-east-1", volume_type="gp3", size_gb=8) for n in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            ingest_scope(account=account, scope=f"s{count}", records=records)
        return sum("inventory_price" in q["sql"] for q in queries.captured_queries)

    assert catalog_reads(3) == catalog_reads(300) == 1


def test_the_resource_page_shows_the_estimate_labelled(org, alice, login):
    account = aws_account(org, ("AKIAEXAMPLE000000000", "secret"))
    ingest_scope(account=account, scope="us-east-1",
                 records=[vm("i-1", "us-east-1", instance_type="t3.micro")])  # fmt: skip
    page = login(alice).get(reverse("inventory:resource_detail", args=[Resource.objects.get().pk]))
    text = page.content.decode()
    assert 'id="list-price"' in text
    assert "7.59 USD a month" in text
    assert ">estimate</span>" in text
