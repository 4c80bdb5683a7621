"""schemathesis against the API's own OpenAPI schema, through the real WSGI application:
generated calls to every operation find no server error and no response that breaks the
schema."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from mcloud.wsgi import application
from tests.billing.costs import daily, store
from tests.inventory import estate

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
# No server error, and every answer as the schema says. (Input that the schema allows but a
# business rule refuses gets a documented 409 or 422, which is not a failure.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def _keep_the_test_connection():
    """Django's test client does this too: a finished request must not close the test
    transaction's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(org, ada, token_for, _keep_the_test_connection):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 8)
    store(acct, daily(acct, date(2026, 11, 1), 3, "10"))
    return token_for(ada)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@pytest.mark.django_db
def test_the_api_keeps_its_schema_and_never_errs(case, admin_token):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {admin_token}"}
    case.call_and_validate(checks=CHECKS)
