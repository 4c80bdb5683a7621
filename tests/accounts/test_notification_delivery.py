"""Delivering notifications: Slack (Block Kit), Teams (an Adaptive Card in a workflow message)
and signed webhooks, to local receivers that check the shapes and signatures; e-mail; retries
with backoff and their log; and the egress rules, at save time and again at send time."""

from __future__ import annotations

import ast
import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule
from standardwebhooks import Webhook

from accounts.models import NotificationChannel, NotificationDelivery
from accounts.notifications.delivery import delivery_attempt
from accounts.notifications.events import Event
from accounts.notifications.services import channel_create, notify
from mcloud.background import Task

pytestmark = pytest.mark.django_db
Status = NotificationDelivery.Status
SLACK_PATH = "/slack/services/T0ACME/B0OPS/kV9sLEAKCHECKhookToken"


def channel(
    org, ada, kind: str, url: str, events=(Event.RUN_FAILED,), name: str = ""
) -> NotificationChannel:
    made, _secret = channel_create(
        organization=org,
        kind=kind,
        name=name or f"{kind} channel",
        address=url,
        events=events,
        user=ada,
    )
    return made


def run_failed(org, capture) -> None:
    with capture(execute=True):
        notify(
            organization=org,
            event=Event.RUN_FAILED,
            title="Apply #7 of web-1 failed",
            text="Terraform failed (exit code 1): see the log.",
            url="/provisioning/runs/7/",
            facts=[("Deployment", "web-1"), ("Started by", "bob@acme.test")],
        )


def scheduled_retry() -> Schedule:
    """The one pending retry, as q2's scheduler holds it."""
    [retry] = Schedule.objects.filter(name__startswith="notifications: ")
    return retry


def run_schedule(schedule: Schedule, capture) -> None:
    """What q2's scheduler does when the retry is due: run its task with its arguments."""
    with capture(execute=True):
        Task(schedule.func).function()(*ast.literal_eval(schedule.args))
    schedule.delete()  # a ONCE schedule is deleted once it has run


def test_slack_gets_block_kit_with_a_link_back(
    org, ada, receivers, settings, django_capture_on_commit_callbacks
):
    slack = channel(org, ada, "slack", receivers.url + SLACK_PATH)
    run_failed(org, django_capture_on_commit_callbacks)
    [request] = receivers.on("/slack/")
    assert request.path == SLACK_PATH
    payload = request.json()
    assert payload["text"] == "Apply #7 of web-1 failed"
    types = [block["type"] for block in payload["blocks"]]
    assert types == ["header", "section", "section", "context", "actions"]
    header, text, facts, context, actions = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "Apply #7 of web-1 failed"}
    assert text["text"]["text"] == "Terraform failed (exit code 1): see the log."
    assert facts["fields"][0] == {"type": "mrkdwn", "text": "*Deployment*\nweb-1"}
    assert context["elements"][0]["text"] == "Acme · Run failed"
    assert actions["elements"][0]["url"] == f"{settings.SITE_URL}/provisioning/runs/7/"
    delivery = NotificationDelivery.objects.get(channel=slack)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.SENT, 1, "")


def test_names_cannot_become_slack_markup(org, ada, receivers, django_capture_on_commit_callbacks):
    channel(org, ada, "slack", receivers.url + SLACK_PATH)
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            organization=org,
            event=Event.RUN_FAILED,
            title="x",
            text="<https://evil.example|click> & more",
        )
    [request] = receivers.on("/slack/")
    assert request.json()["blocks"][1]["text"]["text"] == (
        "&lt;https://evil.example|click&gt; &amp; more"
    )


def test_teams_gets_an_adaptive_card_in_a_workflow_message(
    org, ada, receivers, settings, django_capture_on_commit_callbacks
):
    teams = channel(org, ada, "teams", receivers.url + "/teams/workflows/abc/triggers/manual")
    run_failed(org, django_capture_on_commit_callbacks)
    [request] = receivers.on("/teams/")
    payload = request.json()
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["body"][0]["text"] == "Apply #7 of web-1 failed"
    assert card["body"][0]["weight"] == "Bolder"
    facts = next(item for item in card["body"] if item["type"] == "FactSet")["facts"]
    assert facts == [{"title": "Deployment", "value": "web-1"},
                     {"title": "Started by", "value": "bob@acme.test"}]  # fmt: skip
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in mcloud",
                                "url": f"{settings.SITE_URL}/provisioning/runs/7/"}]  # fmt: skip
    assert NotificationDelivery.objects.get(channel=teams).status == Status.SENT


def test_a_webhook_is_signed_as_standard_webhooks_say(
    org, ada, login, receivers, settings, django_capture_on_commit_callbacks
):
    """Made through the page: the secret is shown once, and verifies what is sent."""
    client = login(ada)
    url = receivers.url + "/hook/mcloud"
    response = client.post(
        reverse("accounts:channel_create") + "?kind=webhook",
        {"name": "Our endpoint", "address": url, "events": [Event.RUN_FAILED], "enabled": "on"},
        follow=True,
    )
    page = response.content.decode()
    hook = NotificationChannel.objects.get(name="Our endpoint")
    secret = hook.target["secret"]
    assert secret.startswith("whsec_")
    assert secret in page
    assert (
        secret
        not in client.get(reverse("accounts:channel_detail", args=[hook.pk])).content.decode()
    )
    receivers.secrets["/hook/mcloud"] = secret

    run_failed(org, django_capture_on_commit_callbacks)
    [request] = receivers.on("/hook/")
    verified = Webhook(secret).verify(request.body, dict(request.headers))
    assert verified["type"] == "run.failed"
    assert verified["data"]["url"] == f"{settings.SITE_URL}/provisioning/runs/7/"
    assert verified["data"]["facts"] == {"Deployment": "web-1", "Started by": "bob@acme.test"}
    assert verified["data"]["organization"] == "acme"
    delivery = NotificationDelivery.objects.get(channel=hook)
    assert delivery.status == Status.SENT
    assert request.headers["webhook-id"] == f"msg_notification_{delivery.pk}"
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "A" * 44).verify(request.body, dict(request.headers))


def test_a_new_secret_is_shown_once_and_the_old_one_stops_verifying(
    org, ada, login, receivers, django_capture_on_commit_callbacks
):
    hook, old = channel_create(
        organization=org,
        kind="webhook",
        name="h",
        user=ada,
        address=receivers.url + "/hook/h",
        events=[Event.RUN_FAILED],
    )
    client = login(ada)
    page = client.post(reverse("accounts:channel_secret", args=[hook.pk]), follow=True)
    hook.refresh_from_db()
    new = hook.target["secret"]
    assert new != old
    assert new in page.content.decode()
    receivers.secrets["/hook/h"] = old
    run_failed(org, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get(channel=hook)
    # The receiver still holds the old secret: 401, which no retry mends.
    assert (delivery.status, delivery.last_error) == (
        Status.FAILED,
        "The receiver answered HTTP 401.",
    )


def test_a_failing_receiver_is_retried_with_backoff_and_its_error_logged(
    org, ada, login, receivers, django_capture_on_commit_callbacks, caplog
):
    slack = channel(org, ada, "slack", receivers.url + SLACK_PATH)
    receivers.fail_next(4)
    caplog.set_level(logging.DEBUG)
    started = timezone.now()
    run_failed(org, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get(channel=slack)
    assert (delivery.status, delivery.attempts) == (Status.RETRYING, 1)
    assert delivery.last_error == "The receiver answered HTTP 500."
    waits = []
    for attempt in (2, 3, 4):
        retry = scheduled_retry()
        assert retry.name == f"notifications: delivery {delivery.pk}, attempt {attempt}"
        assert retry.schedule_type == Schedule.ONCE
        waits.append(round((retry.next_run - started).total_seconds() / 60))
        started = timezone.now()
        run_schedule(retry, django_capture_on_commit_callbacks)
    assert waits == [1, 5, 25]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        Status.FAILED,
        4,
        None,
    )
    assert not Schedule.objects.filter(name__startswith="notifications: ").exists()
    assert len(receivers.on("/slack/")) == 4

    page = login(ada).get(reverse("accounts:channel_detail", args=[slack.pk])).content.decode()
    assert "The receiver answered HTTP 500." in page
    assert "Failed" in page
    # Neither the log page nor any log record names the URL, which is Slack's credential.
    assert "LEAKCHECK" not in page
    assert not [r for r in caplog.records if "LEAKCHECK" in r.getMessage()]


def test_a_receiver_that_recovers_gets_the_message_once_with_the_same_id(
    org, ada, receivers, django_capture_on_commit_callbacks
):
    hook, secret = channel_create(
        organization=org,
        kind="webhook",
        name="h",
        user=ada,
        address=receivers.url + "/hook/h",
        events=[Event.RUN_FAILED],
    )
    receivers.secrets["/hook/h"] = secret
    receivers.fail_next(1)
    run_failed(org, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get(channel=hook)
    assert delivery.status == Status.RETRYING
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(minutes=1)
    run_schedule(scheduled_retry(), django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.SENT, 2, "")
    first, second = receivers.on("/hook/")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # receivers dedupe
    # A twin of the task (delivered twice by the queue) sends nothing more.
    assert delivery_attempt(delivery_id=delivery.pk).status == Status.SENT
    assert len(receivers.on("/hook/")) == 2


def test_no_answer_is_retried(org, ada, settings, django_capture_on_commit_callbacks):
    """A port nobody listens on (allowed, so the refusal is the connection's)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EGRESS_ALLOW, settings.EGRESS_ALLOW_HTTP = frozenset({f"127.0.0.1:{port}"}), True
    slack = channel(org, ada, "slack", f"http://127.0.0.1:{port}/slack/x")
    run_failed(org, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get(channel=slack)
    assert delivery.status == Status.RETRYING
    assert delivery.last_error == "No answer (ConnectionRefusedError)."


REFUSED = [
    "http://127.0.0.1:8000/hook",  # loopback, not in EGRESS_ALLOW
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata endpoint
    "https://10.0.0.1/hook",
    "https://localhost/hook",  # a name resolving to loopback
    "https://[::1]/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_addresses_are_refused_at_save_time(login, ada, url, settings):
    settings.EGRESS_ALLOW_HTTP = True
    response = login(ada).post(
        reverse("accounts:channel_create") + "?kind=slack",
        {"name": "#ops", "address": url, "events": [Event.RUN_FAILED], "enabled": "on"},
    )
    assert response.status_code == 200
    assert "mcloud does not connect there" in response.content.decode()
    assert not NotificationChannel.objects.exists()


@pytest.mark.parametrize("url", REFUSED)
def test_private_addresses_are_refused_at_send_time(
    org, url, settings, django_capture_on_commit_callbacks
):
    """A URL saved before the rules (or a name that resolved elsewhere then) is checked again
    when it is called, and not retried: no wait makes it allowed."""
    settings.EGRESS_ALLOW_HTTP = True
    saved = NotificationChannel.objects.create(
        organization=org, name="old", kind="slack", target={"url": url}, events=[Event.RUN_FAILED]
    )
    run_failed(org, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get(channel=saved)
    assert delivery.status == Status.FAILED
    assert delivery.last_error.startswith("Refused: ")
    assert "mcloud does not connect there" in delivery.last_error
    assert not Schedule.objects.filter(name__startswith="notifications: ").exists()


def test_an_email_channel_mails_its_addresses(
    org, ada, settings, django_capture_on_commit_callbacks
):
    channel_create(
        organization=org,
        kind="email",
        name="ops list",
        user=ada,
        address="ops@acme.test, Oncall@acme.test",
        events=[Event.RUN_FAILED],
    )
    run_failed(org, django_capture_on_commit_callbacks)
    [message] = [m for m in mail.outbox if "ops@acme.test" in m.to]
    assert message.to == ["ops@acme.test", "oncall@acme.test"]
    assert message.subject == "[mcloud] Apply #7 of web-1 failed"
    assert f"{settings.SITE_URL}/provisioning/runs/7/" in message.body
    assert "Deployment: web-1" in message.body


def test_a_channel_turned_off_or_not_subscribed_gets_nothing(
    org, ada, receivers, django_capture_on_commit_callbacks
):
    off = channel(org, ada, "slack", receivers.url + "/slack/off")
    off.enabled = False
    off.save()
    channel(org, ada, "slack", receivers.url + "/slack/b", events=[Event.RUN_APPLIED], name="b")
    run_failed(org, django_capture_on_commit_callbacks)
    assert receivers.received == []
    assert not NotificationDelivery.objects.filter(channel__isnull=False).exists()


def test_send_test_reaches_a_channel_and_is_audited(
    org, ada, login, receivers, django_capture_on_commit_callbacks
):
    teams = channel(org, ada, "teams", receivers.url + "/teams/t", events=[])
    with django_capture_on_commit_callbacks(execute=True):
        response = login(ada).post(reverse("accounts:channel_test", args=[teams.pk]), follow=True)
    [request] = receivers.on("/teams/")
    card = request.json()["attachments"][0]["content"]
    assert card["body"][0]["text"] == "Test message from mcloud"
    assert "Test message" in response.content.decode()  # the log's row
    assert NotificationDelivery.objects.get(channel=teams).status == Status.SENT
    from accounts.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="notification_channel.tested", target_id=str(teams.pk)
    ).exists()


def test_a_url_that_could_not_be_sent_is_refused_at_save_time(login, ada, receivers):
    response = login(ada).post(
        reverse("accounts:channel_create") + "?kind=teams",
        {"name": "t", "address": receivers.url + "/teams/a b/é", "enabled": "on"},
    )
    assert "no spaces or non-ASCII characters" in response.content.decode()
    assert not NotificationChannel.objects.exists()
