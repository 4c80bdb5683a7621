"""The Azure fake, driven only through the real SDK clients, as the adapter will drive it."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.costmanagement import CostManagementClient
from azure.mgmt.costmanagement import models as cost_models
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource import SubscriptionClient
from azure.mgmt.storage import StorageManagementClient

from emulators.azure import ARM_SCOPE, AzureFake

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
SECRET = "s3cr3t~value"
SUB = "11111111-2222-3333-4444-555555555555"
OTHER = "99999999-8888-7777-6666-555555555555"  # exists, but not granted to the app


@pytest.fixture
def fake(azure_server: AzureFake) -> AzureFake:
    azure_server.reset()
    azure_server.faults.retry_after = 0  # azure-core then sleeps its own (tiny) backoff instead
    azure_server.add_subscription(SUB, "Production", TENANT)
    azure_server.add_subscription(OTHER, "Someone else's", TENANT)
    azure_server.add_app(TENANT, CLIENT_ID, SECRET, subscriptions=[SUB])
    return azure_server


def credential(fake: AzureFake, secret: str = SECRET) -> ClientSecretCredential:
    return ClientSecretCredential(
        TENANT,
        CLIENT_ID,
        secret,
        authority=fake.authority,
        disable_instance_discovery=True,
        connection_verify=fake.ca_bundle,
    )


def options(fake: AzureFake) -> dict:
    return {
        "base_url": fake.base_url,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": fake.ca_bundle,
        "retry_backoff_factor": 0.01,
    }


def compute(fake: AzureFake, sub: str = SUB) -> ComputeManagementClient:
    return ComputeManagementClient(credential(fake), sub, **options(fake))


def test_it_reads_a_subscription_with_a_good_credential(fake: AzureFake) -> None:
    client = SubscriptionClient(credential(fake), **options(fake))
    subscription = client.subscriptions.get(SUB)
    assert subscription.display_name == "Production"
    assert subscription.tenant_id == TENANT
    assert subscription.state == "Enabled"
    assert [s.subscription_id for s in client.subscriptions.list()] == [SUB]


@pytest.mark.parametrize(
    ("client_id", "secret", "code"),
    [(CLIENT_ID, "wrong", "AADSTS7000215"), ("not-an-app", SECRET, "AADSTS700016")],
)
def test_it_rejects_bad_client_credentials(
    fake: AzureFake, client_id: str, secret: str, code: str
) -> None:
    bad = ClientSecretCredential(
        TENANT,
        client_id,
        secret,
        authority=fake.authority,
        disable_instance_discovery=True,
        connection_verify=fake.ca_bundle,
    )
    with pytest.raises(ClientAuthenticationError, match=code):
        SubscriptionClient(bad, **options(fake)).subscriptions.get(SUB)


def test_it_rejects_tokens_it_did_not_issue(fake: AzureFake) -> None:
    class Forged:
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            return AccessToken("forged", 2**31)

    client = SubscriptionClient(Forged(), **options(fake))
    with pytest.raises(ClientAuthenticationError, match="InvalidAuthenticationToken"):
        client.subscriptions.get(SUB)


def test_it_requires_an_api_version(fake: AzureFake) -> None:
    path = f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"
    response = compute(fake).send_request(HttpRequest("GET", path))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_it_forbids_a_subscription_not_granted_to_the_app(fake: AzureFake) -> None:
    with pytest.raises(HttpResponseError) as info:
        list(compute(fake, OTHER).virtual_machines.list_all())
    assert info.value.status_code == 403
    assert info.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Compute/virtualMachines/read" in info.value.message


def test_it_answers_404_for_an_unknown_subscription(fake: AzureFake) -> None:
    with pytest.raises(ResourceNotFoundError, match="SubscriptionNotFound"):
        SubscriptionClient(credential(fake), **options(fake)).subscriptions.get("no-such-sub")


def test_it_pages_vms_with_their_power_states(fake: AzureFake) -> None:
    states = ["running", "stopped", "deallocated"]
    vms = [fake.add_vm(SUB, name=f"vm-{i:03}", power_state=states[i % 3]) for i in range(120)]
    fake.set_power_state(vms[0]["id"], "deallocated")
    fake.remove(vms[1]["id"])

    listed = list(compute(fake).virtual_machines.list_all(status_only="true"))

    assert len(listed) == 119
    power = {vm.name: vm.instance_view.statuses[-1].code for vm in listed}
    assert power["vm-000"] == "PowerState/deallocated"
    assert power["vm-002"] == "PowerState/deallocated"
    assert power["vm-003"] == "PowerState/running"
    assert listed[0].hardware_profile.vm_size == "Standard_B2s"
    assert listed[0].storage_profile.os_disk.os_type == "Linux"
    assert listed[0].time_created.tzinfo is not None
    vm_pages = [p for m, p in fake.requests if p.endswith("/virtualMachines")]
    assert len(vm_pages) == 3  # 50 + 50 + 19, each nextLink followed as given


def test_it_serves_disks_storage_accounts_and_vnets(fake: AzureFake) -> None:
    vm = fake.add_vm(SUB, name="db-1", resource_group="rg-data")
    fake.add_disk(SUB, name="data-1", resource_group="rg-data", size_gb=512, managed_by=vm["id"])
    fake.add_storage_account(SUB, name="acmelogs", sku="Standard_GRS", tags={"team": "ops"})
    fake.add_virtual_network(SUB, name="hub", subnets=[("a", "10.0.1.0/24"), ("b", "10.0.2.0/24")])
    cred, kwargs = credential(fake), options(fake)

    (disk,) = ComputeManagementClient(cred, SUB, **kwargs).disks.list()
    assert (disk.disk_size_gb, disk.disk_state, disk.sku.name) == (512, "Attached", "Premium_LRS")
    assert disk.managed_by == vm["id"]
    assert disk.time_created is not None

    (account,) = StorageManagementClient(cred, SUB, **kwargs).storage_accounts.list()
    assert (account.name, account.kind, account.sku.name) == (
        "acmelogs",
        "StorageV2",
        "Standard_GRS",
    )
    assert account.primary_endpoints.blob == "https://acmelogs.blob.core.windows.net/"
    assert account.secondary_location == "northeurope"
    assert account.creation_time.year >= 2026
    assert account.tags == {"team": "ops"}

    (vnet,) = NetworkManagementClient(cred, SUB, **kwargs).virtual_networks.list_all()
    assert vnet.address_space.address_prefixes == ["10.0.0.0/16"]
    assert [(s.name, s.address_prefix) for s in vnet.subnets] == [
        ("a", "10.0.1.0/24"),
        ("b", "10.0.2.0/24"),
    ]


def cost_query(*groupings: str) -> cost_models.QueryDefinition:
    return cost_models.QueryDefinition(
        type="ActualCost",
        timeframe="Custom",
        time_period=cost_models.QueryTimePeriod(
            from_property=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
            to=dt.datetime(2026, 10, 31, tzinfo=dt.UTC),
        ),
        dataset=cost_models.QueryDataset(
            granularity="Daily",
            aggregation={"totalCost": cost_models.QueryAggregation(name="Cost", function="Sum")},
            grouping=[cost_models.QueryGrouping(type="Dimension", name=g) for g in groupings],
        ),
    )


def test_it_sums_costs_per_day_and_group_and_pages_to_the_end(fake: AzureFake) -> None:
    vm, disk = (f"/subscriptions/{SUB}/resourceGroups/RG/providers/Microsoft.Compute/{t}" for t in
                ("virtualMachines/web", "disks/web-os"))  # fmt: skip
    day = dt.date(2026, 10, 1)
    rows = [
        {"date": day, "service": "Virtual Machines", "resource_id": vm, "cost": 10.25},
        {"date": day, "service": "Virtual Machines", "resource_id": vm, "cost": 2.25},
        {"date": day, "service": "Storage", "resource_id": disk, "cost": 1.5},
        {"date": day + dt.timedelta(days=1), "service": "Storage", "resource_id": disk, "cost": 3},
        {"date": dt.date(2026, 11, 1), "service": "Storage", "resource_id": disk, "cost": 99},
    ]
    fake.add_costs(SUB, rows)
    fake.cost_page_size = 2
    client = CostManagementClient(credential(fake), **options(fake))
    query, scope = cost_query("ServiceName", "ResourceId"), f"/subscriptions/{SUB}"

    result = client.query.usage(scope, query)
    table = list(result.rows)
    while result.next_link:  # POST the same body again with the link's $skiptoken
        token = parse_qs(urlsplit(result.next_link).query)["$skiptoken"][0]
        result = client.query.usage(scope, query, params={"$skiptoken": token})
        table += result.rows

    assert [c.name for c in result.columns] == [
        "Cost",
        "UsageDate",
        "ServiceName",
        "ResourceId",
        "Currency",
    ]
    assert table == [
        [1.5, 20261001, "Storage", disk.lower(), "USD"],
        [12.5, 20261001, "Virtual Machines", vm.lower(), "USD"],
        [3.0, 20261002, "Storage", disk.lower(), "USD"],
    ]
    with pytest.raises(HttpResponseError, match="up to 2 group by"):
        client.query.usage(scope, cost_query("ServiceName", "ResourceId", "ResourceLocation"))


def test_it_recovers_from_injected_429_and_500(fake: AzureFake) -> None:
    for i in range(60):
        fake.add_vm(SUB, name=f"vm-{i:02}")
    client = compute(fake)
    fake.faults.fail_next("429")
    fake.faults.fail_next("500")

    assert len(list(client.virtual_machines.list_all())) == 60
    assert fake.faults.injected == 2
    assert len([p for m, p in fake.requests if p.endswith("/virtualMachines")]) == 4


def test_a_power_action_is_a_long_running_operation_on_the_wire(fake: AzureFake) -> None:
    vm = fake.add_vm(SUB, name="web-1")
    client = compute(fake)
    sent = client.send_request(HttpRequest("POST", f"{vm['id']}/deallocate?api-version=2024-07-01"))
    assert sent.status_code == 202
    assert sent.headers["Retry-After"] == "0"
    assert fake.power_state(vm["id"]) == "deallocating"  # the next listing says so
    status_url, location = sent.headers["Azure-AsyncOperation"], sent.headers["Location"]
    running = client.send_request(HttpRequest("GET", status_url))
    assert running.json()["status"] == "InProgress"
    assert client.send_request(HttpRequest("GET", location)).status_code == 200  # now done
    done = client.send_request(HttpRequest("GET", status_url)).json()
    assert (done["status"], "endTime" in done) == ("Succeeded", True)
    assert fake.power_state(vm["id"]) == "deallocated"
    assert fake.calls("POST", r".*/virtualMachines/web-1/deallocate") == 1
    assert fake.calls("GET", r".*/operations/[^/]+") == 3


def test_a_power_action_takes_faults_and_restart_needs_a_running_vm(fake: AzureFake) -> None:
    vm = fake.add_vm(SUB, name="web-1", power_state="deallocated")
    client = compute(fake)
    with pytest.raises(HttpResponseError) as refused:
        client.virtual_machines.begin_restart("rg-default", "web-1", polling_interval=0).result()
    assert refused.value.error.code == "OperationNotAllowed"
    fake.faults.fail_next("500")
    client.virtual_machines.begin_start("rg-default", "web-1", polling_interval=0).result()
    assert fake.power_state(vm["id"]) == "running"
    assert fake.calls("POST", r".*/virtualMachines/web-1/start") == 2  # azure-core retried
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machines.begin_start("rg-default", "gone", polling_interval=0).result()
