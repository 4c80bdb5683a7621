"""Budget webhooks: signed as Standard Webhooks (verified here with its own library), sent
only to public addresses (refused at save time and again at send time), never redirected,
and their URLs shown to admins only."""

from __future__ import annotations

import json
import socket
from datetime import date

import pytest
from django.urls import reverse
from standardwebhooks import Webhook

from billing.models import Budget, BudgetAlert
from billing.selectors import billing_settings
from billing.services.budgets import budgets_evaluate
from emulators.base import FakeServer, Request, Response
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
PRIVATE = [
    "http://127.0.0.1:8000/hook",
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[fd00:ec2::254]/hook",
    "https://100.64.0.1/hook",
    "https://localhost/hook",  # a name resolving to loopback
]


@pytest.fixture
def account(org):
    return aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))


@pytest.fixture
def receiver(settings):
    """A webhook receiver on this machine, which an operator allowed (EGRESS_ALLOW)."""
    received: list[Request] = []
    with FakeServer() as hook:

        @hook.route("POST", "/budget")
        def capture(request: Request) -> Response:
            received.append(request)
            return Response.json({"ok": True})

        @hook.route("POST", "/moved")
        def moved(request: Request) -> Response:
            received.append(request)
            return Response(302, b"", {"Location": f"{hook.url}/budget"})

        settings.EGRESS_ALLOW = frozenset({hook.url.removeprefix("http://")})
        settings.EGRESS_ALLOW_HTTP = True
        hook.received = received
        yield hook


def crossing(org, account, url: str, capture) -> BudgetAlert:
    Budget.objects.create(organization=org, name="Monthly", amount=1000, thresholds=[50],
                          webhook_url=url)  # fmt: skip
    store(account, daily(account, date(2026, 11, 1), 10, "55"))
    with capture(execute=True):
        budgets_evaluate(organization=org, today=TODAY)
    return BudgetAlert.objects.get()


def test_the_webhook_is_signed_as_standard_webhooks_say(
    org, account, receiver, django_capture_on_commit_callbacks
):
    alert = crossing(org, account, f"{receiver.url}/budget", django_capture_on_commit_callbacks)
    [request] = receiver.received
    secret = billing_settings(org).webhook["secret"]
    assert secret.startswith("whsec_")
    verified = Webhook(secret).verify(request.body, dict(request.headers))
    assert verified["threshold"] == 50
    assert verified["event"] == "budget.threshold_crossed"
    assert request.headers["webhook-id"] == f"msg_budget_alert_{alert.pk}"
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "A" * 44).verify(request.body, dict(request.headers))
    tampered = request.body.replace(b'"threshold": 50', b'"threshold": 99')
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(secret).verify(tampered, dict(request.headers))
    assert alert.webhook_status == "HTTP 200"


def test_redirects_are_not_followed(org, account, receiver, django_capture_on_commit_callbacks):
    alert = crossing(org, account, f"{receiver.url}/moved", django_capture_on_commit_callbacks)
    assert [r.path for r in receiver.received] == ["/moved"]
    assert alert.webhook_status == "HTTP 302"


@pytest.mark.parametrize("url", PRIVATE)
def test_private_addresses_are_refused_at_save_time(login, ada, url, settings):
    settings.EGRESS_ALLOW_HTTP = True
    response = login(ada).post(reverse("billing:budget_create"), {
        "name": "B", "amount": "10", "basis": "actual", "thresholds": "50", "account": "",
        "webhook_url": url,
    })  # fmt: skip
    assert response.status_code == 200
    assert "mcloud does not connect there" in response.content.decode()
    assert not Budget.objects.exists()


def test_the_api_refuses_them_too(ada, token_for, client, settings):
    settings.EGRESS_ALLOW_HTTP = True
    response = client.post(
        "/api/budgets", {"name": "B", "amount": "10", "webhook_url": "https://10.0.0.1/x"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token_for(ada)}",
    )  # fmt: skip
    assert response.status_code == 422
    assert "private address" in json.dumps(response.json())


def test_plain_http_needs_the_setting(login, ada, settings):
    settings.EGRESS_ALLOW_HTTP = False
    response = login(ada).post(reverse("billing:budget_create"), {
        "name": "B", "amount": "10", "basis": "actual", "thresholds": "50", "account": "",
        "webhook_url": "http://hooks.example.com/x",
    })  # fmt: skip
    assert "must start with https://" in response.content.decode()


@pytest.mark.parametrize("url", PRIVATE)
def test_private_addresses_are_refused_at_send_time(
    org, account, url, settings, django_capture_on_commit_callbacks
):
    """A URL saved before these rules, or a name that resolved elsewhere then, is checked
    again when the call is made."""
    settings.EGRESS_ALLOW_HTTP = True
    alert = crossing(org, account, url, django_capture_on_commit_callbacks)
    assert alert.webhook_status.startswith("refused: ")


def test_the_call_goes_to_the_address_that_was_checked(
    org, account, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """No second lookup for DNS to answer differently: the name is resolved once, the
    connection made to that address, with the name in the Host header."""
    port = receiver.url.rsplit(":", 1)[1]
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolver(host, *args, **kwargs):
        if host == "hooks.example.test":
            lookups.append(host)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = f"http://hooks.example.test:{port}/budget"
    crossing(org, account, url, django_capture_on_commit_callbacks)
    [request] = receiver.received
    assert request.headers["host"] == f"hooks.example.test:{port}"
    assert lookups == ["hooks.example.test"]


def test_webhook_urls_are_shown_to_admins_only(org, ada, vera, token_for, client):
    Budget.objects.create(organization=org, name="B", amount=10, thresholds=[50],
                          webhook_url="https://hooks.example.com/secret-path")  # fmt: skip
    for user, shown in ((ada, True), (vera, False)):
        response = client.get("/api/budgets", HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        [budget] = response.json()
        assert budget["webhook_set"] is True
        assert (budget["webhook_url"] == "https://hooks.example.com/secret-path") is shown
        assert ("secret-path" in response.content.decode()) is shown


def test_old_secrets_move_to_the_whsec_format_with_the_same_key(org):
    from importlib import import_module

    from django.apps import apps

    old = "ab" * 32
    settings_row = billing_settings(org)
    settings_row.webhook = {"secret": old}
    settings_row.save()
    import_module("billing.migrations.0004_webhook_secret_whsec").to_whsec(apps, None)
    new = billing_settings(org).webhook["secret"]
    assert new.startswith("whsec_")
    assert Webhook(new)._whsecret == old.encode()  # what the old HMAC was keyed with
