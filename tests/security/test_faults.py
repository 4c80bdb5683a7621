"""With the emulators failing 20 percent of calls (429, 500, slow answers, dropped
connections), a sync and a cost import end with exactly the rows of a clean run."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from billing.models import CostData
from billing.services.imports import cost_import
from emulators.base import FAULT_KINDS
from inventory.models import Resource
from inventory.services.sync import cloud_account_sync
from tests.inventory.factories import azure_account, gcp_account

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUBS = ["aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"]
TODAY = date(2026, 11, 20)


def rows(account) -> set[tuple]:
    return set(
        Resource.objects.filter(account=account).values_list(
            "resource_id", "status", "fingerprint", "deleted_at"
        )
    )


def costs(account) -> set[tuple]:
    return set(
        CostData.objects.filter(account=account).values_list(
            "date", "service", "region", "resource_id", "amount"
        )
    )


def flaky(server, settings, seed: int) -> None:
    settings.CLOUD_RETRIES = 8
    server.faults.retry_after = 0
    server.faults.set(rate=0.2, kinds=FAULT_KINDS, seed=seed, slow_seconds=0.3)


@pytest.fixture
def azure_estate(azure):
    azure.graph_page_size = 4  # the inventory reads Resource Graph in pages of 4
    for index, sub in enumerate(SUBS):
        azure.add_subscription(sub, f"Sub {index}", TENANT)
        for n in range(9):
            vm = azure.add_vm(sub, name=f"vm-{index}-{n}", tags={"n": str(n)})
            azure.add_costs(
                sub,
                [
                    {
                        "date": date(2026, 11, d),
                        "service": "Virtual Machines",
                        "resource_id": vm["id"],
                        "cost": 1.5 + n,
                        "currency": "USD",
                        "location": "westeurope",
                    }
                    for d in range(1, 20)
                ],
            )
        azure.add_disk(sub, name=f"disk-{index}")
        azure.add_storage_account(sub, name=f"store{index}faults")
        azure.add_virtual_network(sub, name=f"vnet-{index}")
    azure.cost_page_size = 25
    azure.add_app(TENANT, CLIENT, "secret", SUBS)
    return azure


def test_an_azure_sync_and_import_under_faults_equal_a_clean_run(azure_estate, org, settings):
    clean = azure_account(org, TENANT, CLIENT, "secret", SUBS, name="clean")
    assert cloud_account_sync(account=clean).status == "succeeded"
    assert cost_import(account=clean, today=TODAY).status == "succeeded"

    noisy = azure_account(org, TENANT, CLIENT, "secret", SUBS, name="noisy")
    flaky(azure_estate, settings, seed=3)
    run = cloud_account_sync(account=noisy)
    imported = cost_import(account=noisy, today=TODAY)
    assert azure_estate.faults.injected >= 3
    assert run.status == "succeeded", run.scope_errors
    assert imported.status == "succeeded", imported.error
    assert {r[0] for r in rows(noisy)} == {r[0] for r in rows(clean)}
    assert {r[1:3] for r in rows(noisy)} == {r[1:3] for r in rows(clean)}
    assert costs(noisy) == costs(clean)


def test_a_gcp_sync_and_import_under_faults_equal_a_clean_run(gcp, org, settings):
    gcp.page_size = 5
    key = gcp.add_service_account("acme-prod")
    table = "acme-prod.billing.gcp_billing_export_v1_X"
    for n in range(17):
        gcp.add_instance(
            "acme-prod",
            zone=("us-central1-a", "europe-west1-b")[n % 2],
            name=f"vm-{n}",
            labels={"n": str(n)},
        )
        gcp.add_disk("acme-prod", name=f"disk-{n}")
    gcp.add_network("acme-prod", name="net")
    gcp.add_bucket("acme-prod", name="acme-faults-bucket")
    gcp.add_billing_rows(
        table,
        [
            {
                "usage_start_time": datetime(2026, 11, d, h, tzinfo=UTC),
                "service": "Compute Engine",
                "region": "us-central1",
                "cost": 0.25 * h,
                "credits": 0,
                "currency": "USD",
            }
            for d in range(1, 20)
            for h in range(0, 24, 6)
        ],
    )
    accounts = []
    for name in ("clean", "noisy"):
        account = gcp_account(org, key, name=name)
        account.config["billing_table"] = table
        account.save()
        accounts.append(account)
    clean, noisy = accounts
    assert cloud_account_sync(account=clean).status == "succeeded"
    assert cost_import(account=clean, today=TODAY).status == "succeeded"
    flaky(gcp, settings, seed=11)
    run = cloud_account_sync(account=noisy)
    imported = cost_import(account=noisy, today=TODAY)
    assert gcp.faults.injected >= 3
    assert run.status == "succeeded", run.scope_errors
    assert imported.status == "succeeded", imported.error
    assert {r[:3] for r in rows(noisy)} == {r[:3] for r in rows(clean)}
    assert costs(noisy) == costs(clean)


def test_an_aws_import_under_faults_equals_a_clean_run(aws, org, settings):
    import requests

    from emulators.aws import ACCOUNT_ID
    from emulators.proxy import ForwardingProxy
    from tests.inventory.factories import aws_account

    days = [
        {
            "TimePeriod": {"Start": f"2026-11-{d:02d}", "End": f"2026-11-{d + 1:02d}"},
            "Total": {},
            "Estimated": False,
            "Groups": [
                {
                    "Keys": [f"svc-{g}", "eu-west-1"],
                    "Metrics": {"UnblendedCost": {"Amount": f"{d + g}.5", "Unit": "USD"}},
                }
                for g in range(4)
            ],
        }
        for d in range(1, 19)
    ]
    # One answer per distinct request: enough copies for the clean run and the retried one.
    answer = {"ResultsByTime": days, "GroupDefinitions": []}
    requests.post(
        f"{aws.url}/moto-api/static/ce/cost-and-usage-results",
        json={"results": [answer] * 4, "account_id": ACCOUNT_ID},
        timeout=10,
    ).raise_for_status()
    clean = aws_account(org, aws.create_user_key("clean"), name="clean")
    assert cost_import(account=clean, today=TODAY).status == "succeeded"
    noisy = aws_account(org, aws.create_user_key("noisy"), name="noisy")
    with ForwardingProxy(aws.url) as proxy:
        settings.AWS_ENDPOINT_URL = proxy.url
        flaky(proxy, settings, seed=5)
        for kind in ("500", "drop", "429"):  # one call only: make sure it meets each fault
            proxy.faults.fail_next(kind)
        imported = cost_import(account=noisy, today=TODAY)
        injected = proxy.faults.injected
    assert imported.status == "succeeded", imported.error
    assert costs(noisy) == costs(clean)
    assert len(costs(clean)) == 18 * 4
    assert injected >= 3
