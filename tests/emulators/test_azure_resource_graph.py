"""The Azure fake's Resource Graph, driven through the real azure-mgmt-resourcegraph client with
several query shapes: it evaluates the KQL it is sent, pages with $skipToken, refuses what it
cannot run as the real service refuses invalid queries, and takes faults like every route."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from emulators.azure import ARM_SCOPE, AzureFake

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
SECRET = "s3cr3t~value"
SUB = "11111111-2222-3333-4444-555555555555"
SUB2 = "22222222-2222-3333-4444-555555555555"
OTHER = "99999999-8888-7777-6666-555555555555"  # exists, but not granted to the app
VMS = "Microsoft.Compute/virtualMachines"


@pytest.fixture
def fake(azure_server: AzureFake) -> AzureFake:
    azure_server.reset()
    azure_server.faults.retry_after = 0
    for sub, name in ((SUB, "Production"), (SUB2, "Staging"), (OTHER, "Someone else's")):
        azure_server.add_subscription(sub, name, TENANT)
    azure_server.add_app(TENANT, CLIENT_ID, SECRET, subscriptions=[SUB, SUB2])
    for n, state in enumerate(("running", "deallocated", "running")):
        azure_server.add_vm(SUB, name=f"vm-{n}", power_state=state, size="Standard_D2s_v3")
    azure_server.add_vm(SUB2, name="staging-vm", resource_group="RG-Staging")
    azure_server.add_disk(SUB, name="data-1", size_gb=64)
    azure_server.add_virtual_network(SUB, name="hub")
    azure_server.add_vm(OTHER, name="not-ours")
    return azure_server


def client(fake: AzureFake) -> ResourceGraphClient:
    credential = ClientSecretCredential(
        TENANT,
        CLIENT_ID,
        SECRET,
        authority=fake.authority,
        disable_instance_discovery=True,
        connection_verify=fake.ca_bundle,
    )
    return ResourceGraphClient(
        credential,
        base_url=fake.base_url,
        credential_scopes=[ARM_SCOPE],
        connection_verify=fake.ca_bundle,
        retry_backoff_factor=0.01,
        api_version="2022-10-01",
    )


def ask(fake: AzureFake, query: str, subscriptions=(SUB,), **options):
    request = QueryRequest(
        subscriptions=list(subscriptions), query=query, options=QueryRequestOptions(**options)
    )
    return client(fake).resources(request)


def test_it_filters_projects_and_orders_as_the_query_says(fake: AzureFake) -> None:
    answer = ask(
        fake,
        "resources | where type in~ ('Microsoft.Compute/virtualMachines', "
        "'MICROSOFT.COMPUTE/DISKS') | project id, name, type | order by name desc",
    )
    assert [row["name"] for row in answer.data] == ["vm-2", "vm-1", "vm-0", "data-1"]
    assert set(answer.data[0]) == {"id", "name", "type"}
    assert answer.data[0]["type"] == "microsoft.compute/virtualmachines"  # as the service spells
    assert answer.data[0]["id"].endswith(f"/{VMS}/vm-2")  # ARM's spelling kept
    assert (answer.total_records, answer.count, answer.result_truncated) == (4, 4, "false")
    assert answer.skip_token is None


def test_a_query_may_start_with_its_first_operator(fake: AzureFake) -> None:
    answer = ask(fake, "where type =~ 'microsoft.network/virtualNetworks'", [SUB, SUB2])
    assert [row["name"] for row in answer.data] == ["hub"]
    assert answer.data[0]["location"] == "westeurope"
    assert answer.data[0]["properties"]["subnets"][0]["name"] == "default"


def test_it_scopes_to_readable_subscriptions_and_filters_by_column(fake: AzureFake) -> None:
    everything = ask(
        fake, "resources | project id, subscriptionId, resourceGroup", [SUB, SUB2, OTHER]
    )
    assert {row["subscriptionId"] for row in everything.data} == {SUB, SUB2}  # not OTHER's
    staging = ask(
        fake,
        f"resources | where subscriptionId == '{SUB2}' | project id, resourceGroup",
        [SUB, SUB2],
    )
    assert [row["resourceGroup"] for row in staging.data] == ["rg-staging"]  # lower case
    with pytest.raises(HttpResponseError) as denied:
        ask(fake, "resources", [OTHER])
    assert (denied.value.status_code, denied.value.error.code) == (403, "AccessDenied")


def test_extend_and_computed_columns_read_the_power_state(fake: AzureFake) -> None:
    answer = ask(
        fake,
        "resources | where type =~ 'microsoft.compute/virtualmachines' "
        "| extend power = tostring(properties.extended.instanceView.powerState.code) "
        "| where power != 'PowerState/running' "
        "| project id, name, size = properties.hardwareProfile.vmSize, power",
    )
    assert answer.data == [
        {
            "id": answer.data[0]["id"],
            "name": "vm-1",
            "size": "Standard_D2s_v3",
            "power": "PowerState/deallocated",
        }
    ]


def test_it_pages_with_skip_tokens_bound_to_their_query(fake: AzureFake) -> None:
    for n in range(7):
        fake.add_disk(SUB, name=f"extra-{n}")
    query = "resources | where type =~ 'microsoft.compute/disks' | project id, name | order by id"
    names, token, pages = [], None, 0
    while True:
        answer = ask(fake, query, top=3, skip_token=token)
        names += [row["name"] for row in answer.data]
        pages += 1
        token = answer.skip_token
        if not token:
            break
        assert (answer.count, answer.total_records) == (3, 8)
    assert (pages, len(set(names))) == (3, 8)
    first = ask(fake, query, top=3)
    with pytest.raises(HttpResponseError) as refused:  # the token of another query
        ask(fake, query.replace("desc", "asc") + " | take 5", skip_token=first.skip_token)
    assert refused.value.status_code == 400
    fake.graph_page_size = 2  # the service's own limit wins over $top
    assert ask(fake, query, top=3).count == 2


def test_without_an_id_column_the_answer_is_truncated(fake: AzureFake) -> None:
    answer = ask(fake, "resources | project name", top=2)
    assert (answer.count, answer.result_truncated, answer.skip_token) == (2, "true", None)


def test_the_table_format_and_rows_sent_as_they_are(fake: AzureFake) -> None:
    fake.add_raw(SUB, VMS, {"name": "ghost", "properties": "odd"})
    answer = ask(
        fake, "where name == 'ghost' | project id, name, properties", result_format="table"
    )
    assert answer.data["columns"][1] == {"name": "name", "type": "string"}
    assert answer.data["rows"] == [[None, "ghost", "odd"]]


@pytest.mark.parametrize(
    ("query", "code", "column", "token"),
    [
        ("resources | summarize count() by type", "NotSupportedByEmulator", 12, "summarize"),
        ("resources\n| where name = 'x'", "ParserFailure", 13, "="),
        ("resources | where nmae == 'x'", "SemanticError", 18, "nmae"),
        ("resources | where name == 'x", "ParserFailure", 26, "'"),
        ("resourcecontainers | take 1", "NotSupportedByEmulator", 0, "resourcecontainers"),
    ],
)
def test_invalid_or_unsupported_kql_is_a_bad_request(fake, query, code, column, token) -> None:
    with pytest.raises(HttpResponseError) as refused:
        ask(fake, query)
    error = refused.value
    assert (error.status_code, error.error.code) == (400, "BadRequest")
    assert "Please provide below info when asking for support" in error.error.message
    first, detail = error.response.json()["error"]["details"]
    assert first["code"] == "InvalidQuery"
    assert (detail["code"], detail["characterPositionInLine"]) == (code, column)
    assert detail["token"] == token


def test_faults_apply_to_the_query(fake: AzureFake) -> None:
    fake.faults.fail_next("500")
    fake.faults.fail_next("429")
    assert ask(fake, "resources | project id").count == 5  # azure-core retried both
    assert fake.faults.injected == 2
    fake.faults.fail_next("500", count=5)
    with pytest.raises(HttpResponseError) as failed:
        ask(fake, "resources | project id")
    assert failed.value.status_code == 500
