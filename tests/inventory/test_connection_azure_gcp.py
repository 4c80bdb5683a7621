"""Connection tests of Azure and GCP accounts: the real SDKs against the local fakes."""

from __future__ import annotations

import time
from datetime import date

import pytest

from emulators.base import FakeServer, Request, Response
from inventory.account_adapters import adapter_for
from inventory.models import HealthStatus
from inventory.services.health import connection_check
from mcloud.clouds.base import CloudError
from tests.inventory.factories import azure_account, gcp_account

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB_A = "aaaaaaaa-0000-0000-0000-000000000001"
SUB_B = "aaaaaaaa-0000-0000-0000-000000000002"


@pytest.fixture
def azure_app(azure):
    azure.add_subscription(SUB_A, "Production", TENANT)
    azure.add_subscription(SUB_B, "Staging", TENANT)
    azure.add_app(TENANT, CLIENT, "the-client-secret", [SUB_A])
    return azure


def test_a_good_azure_secret_reads_the_subscriptions(azure_app, org):
    check = connection_check(
        account=azure_account(org, TENANT, CLIENT, "the-client-secret", [SUB_A])
    )
    assert check.status == HealthStatus.HEALTHY, check.message
    assert check.message == f"Connected as application {CLIENT} to subscription Production"


def test_a_wrong_azure_secret_is_an_error_with_the_aadsts_reason(azure_app, org):
    check = connection_check(account=azure_account(org, TENANT, CLIENT, "wrong", [SUB_A]))
    assert check.status == HealthStatus.ERROR
    assert check.message == (
        "Azure rejected the client secret (AADSTS7000215: Invalid client secret provided.)"
    )
    assert "wrong" not in check.message


def test_an_ungranted_subscription_is_an_error(azure_app, org):
    check = connection_check(
        account=azure_account(org, TENANT, CLIENT, "the-client-secret", [SUB_A, SUB_B])
    )
    assert check.status == HealthStatus.ERROR
    assert check.message == (
        f"Azure denied the request to read subscription {SUB_B} (AuthorizationFailed)"
    )


def test_a_slow_azure_answer_is_degraded(azure_app, org, settings):
    settings.HEALTH_DEGRADED_MS = 300
    azure_app.faults.set(latency=0.4)
    check = connection_check(
        account=azure_account(org, TENANT, CLIENT, "the-client-secret", [SUB_A])
    )
    assert check.status == HealthStatus.DEGRADED
    assert check.response_ms >= 400


def test_an_azure_endpoint_that_never_answers_does_not_hang(azure_app, org, settings):
    settings.CONNECTION_TEST_TIMEOUT = 1.5
    azure_app.faults.set(latency=30)
    started = time.monotonic()
    check = connection_check(
        account=azure_account(org, TENANT, CLIENT, "the-client-secret", [SUB_A])
    )
    assert time.monotonic() - started < 20  # the fake stalls 30 s; the deadline is 1.5 s
    assert check.status == HealthStatus.ERROR


def test_a_good_gcp_key_reads_the_projects(gcp, org):
    key = gcp.add_service_account("acme-prod", projects=["acme-prod", "acme-data"])
    check = connection_check(account=gcp_account(org, key, ["acme-prod", "acme-data"]))
    assert check.status == HealthStatus.HEALTHY, check.message
    assert check.message == (f"Connected as {key['client_email']} to projects acme-prod, acme-data")


def test_a_revoked_gcp_key_is_an_error(gcp, org):
    key = gcp.add_service_account("acme-prod")
    gcp.revoke_key(key["client_email"], tokens=True)
    check = connection_check(account=gcp_account(org, key))
    assert check.status == HealthStatus.ERROR
    assert check.message == "GCP rejected the service-account key (UNAUTHENTICATED)"


def test_a_gcp_project_without_access_is_an_error(gcp, org):
    key = gcp.add_service_account("acme-prod")
    gcp.add_project("someone-else")
    check = connection_check(account=gcp_account(org, key, ["someone-else"]))
    assert check.status == HealthStatus.ERROR
    assert check.message.startswith("GCP denied the request to read project someone-else (")


def test_a_slow_gcp_answer_is_degraded_and_a_dead_one_does_not_hang(gcp, org, settings):
    key = gcp.add_service_account("acme-prod")
    account = gcp_account(org, key)
    settings.HEALTH_DEGRADED_MS = 300
    gcp.faults.set(latency=0.4)
    assert connection_check(account=account).status == HealthStatus.DEGRADED
    settings.CONNECTION_TEST_TIMEOUT = 1.5
    gcp.faults.set(latency=30)
    started = time.monotonic()
    assert connection_check(account=account).status == HealthStatus.ERROR
    assert time.monotonic() - started < 20  # the fake stalls 30 s; the deadline is 1.5 s


BILLING_TABLE = "acme-prod.billing.gcp_billing_export_v1_X"  # BigQuery's calls need a token


def test_a_stored_key_never_sends_its_token_to_the_endpoint_it_names(gcp, org):
    """A key saved before keys were checked, naming an endpoint of its own: mcloud still asks
    Google's (here the emulator's, as GCP_TOKEN_URI says), and the other hears nothing."""
    key = gcp.add_service_account("acme-prod")
    gcp.add_billing_rows(BILLING_TABLE, [])
    with FakeServer() as thief:
        account = gcp_account(org, {**key, "token_uri": f"{thief.url}/steal"})
        account.config["billing_table"] = BILLING_TABLE
        costs = adapter_for(account).costs(date(2026, 1, 1), date(2026, 1, 2))  # needs a token
        assert thief.requests == []
    assert ("POST", "/token") in gcp.requests
    assert costs == []


def test_what_a_token_endpoint_says_is_not_shown_only_its_error_code(gcp, org, settings):
    key = gcp.add_service_account("acme-prod")
    with FakeServer() as endpoint:

        @endpoint.route("POST", "/token")
        def refuse(request: Request) -> Response:
            return Response.json(
                {"error": "invalid_grant", "error_description": "<b>LEAKED-TEXT</b> call me"}, 400
            )

        settings.GCP_TOKEN_URI = f"{endpoint.url}/token"
        account = gcp_account(org, key)
        account.config["billing_table"] = BILLING_TABLE
        with pytest.raises(CloudError) as raised:
            adapter_for(account).costs(date(2026, 1, 1), date(2026, 1, 2))
    assert raised.value.message == "GCP rejected the service-account key (invalid_grant)"
