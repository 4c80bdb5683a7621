"""The notification pages: admins manage channels (audited), members and viewers see that
channels exist but not where they point, other organizations get 404s, the list and the log
keep their query counts, and each person's e-mail choices are theirs and are respected."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import (
    AuditEvent,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
)
from accounts.notifications.events import ADMIN_DEFAULTS, Event
from accounts.notifications.services import channel_create, notify

pytestmark = pytest.mark.django_db
SLACK_URL = "https://hooks.slack.com/services/T0ACME/B0OPS/kV9sLEAKCHECKhookToken"


@pytest.fixture
def public_dns(monkeypatch):
    """hooks.slack.com resolves to a public address without a network (nothing is called)."""
    import socket

    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "hooks.slack.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("34.226.36.12", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)


@pytest.fixture
def slack(org, ada, public_dns) -> NotificationChannel:
    made, _ = channel_create(
        organization=org,
        kind="slack",
        name="#ops",
        address=SLACK_URL,
        events=[Event.RUN_FAILED, Event.PLAN_AWAITING_APPROVAL],
        user=ada,
    )
    return made


def test_an_admin_adds_edits_and_deletes_a_channel_audited(org, ada, login, public_dns):
    client = login(ada)
    assert "Slack" in client.get(reverse("accounts:channel_create")).content.decode()
    response = client.post(
        reverse("accounts:channel_create") + "?kind=slack",
        {"name": "#ops", "address": SLACK_URL, "events": [Event.RUN_FAILED], "enabled": "on"},
    )
    channel = NotificationChannel.objects.get()
    assert response.url == reverse("accounts:channel_detail", args=[channel.pk])
    assert (channel.kind, channel.events, channel.enabled) == ("slack", ["run.failed"], True)
    assert channel.target == {"url": SLACK_URL}
    assert channel.target_hint == "hooks.slack.com …oken"

    # Editing with the address left blank keeps it.
    edit = reverse("accounts:channel_edit", args=[channel.pk])
    client.post(edit, {"name": "#ops-alerts", "address": "", "events": [Event.BUDGET_THRESHOLD]})
    channel.refresh_from_db()
    assert (channel.name, channel.events, channel.enabled) == (
        "#ops-alerts",
        ["budget.threshold"],
        False,
    )
    assert channel.target == {"url": SLACK_URL}

    client.post(reverse("accounts:channel_delete", args=[channel.pk]))
    assert not NotificationChannel.objects.exists()
    events = AuditEvent.objects.filter(target_type="notificationchannel").order_by("id")
    assert [e.action for e in events] == [
        "notification_channel.created", "notification_channel.updated",
        "notification_channel.deleted",
    ]  # fmt: skip
    assert events[1].data["changed"] == ["enabled", "events", "name"]
    assert events[1].data["address_replaced"] is False
    # The audit log holds the hint, never the URL.
    assert "LEAKCHECK" not in str([e.data for e in events])


def test_the_url_is_never_rendered_back(slack, ada, login):
    client = login(ada)
    for name in ("accounts:channel_detail", "accounts:channel_edit"):
        page = client.get(reverse(name, args=[slack.pk])).content.decode()
        assert "hooks.slack.com …oken" in page
        assert "LEAKCHECK" not in page
    assert "LEAKCHECK" not in client.get(reverse("accounts:channel_list")).content.decode()


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_see_channels_but_not_where_they_point(slack, team, who, login):
    client = login(team[who])
    listing = client.get(reverse("accounts:channel_list")).content.decode()
    assert "#ops" in listing
    assert "hooks.slack.com" not in listing
    detail = client.get(reverse("accounts:channel_detail", args=[slack.pk])).content.decode()
    assert "#ops" in detail
    assert "Delivery log" in detail
    assert "hooks.slack.com" not in detail
    assert "Send test" not in detail
    for name in ("channel_edit", "channel_delete", "channel_test", "channel_secret"):
        assert client.post(reverse(f"accounts:{name}", args=[slack.pk])).status_code == 403
    new = reverse("accounts:channel_create") + "?kind=slack"
    assert client.post(new, {"name": "x", "address": SLACK_URL}).status_code == 403
    assert NotificationChannel.objects.count() == 1


def test_it_checks_ownership(slack, charlie, login):
    client = login(charlie)
    for name in ("channel_detail", "channel_edit"):
        assert client.get(reverse(f"accounts:{name}", args=[slack.pk])).status_code == 404
    for name in ("channel_edit", "channel_delete", "channel_test", "channel_secret"):
        assert client.post(reverse(f"accounts:{name}", args=[slack.pk])).status_code == 404
    assert "#ops" not in client.get(reverse("accounts:channel_list")).content.decode()
    assert NotificationChannel.objects.filter(pk=slack.pk, name="#ops").exists()


def test_a_name_is_unique_in_an_organization(slack, ada, login):
    response = login(ada).post(
        reverse("accounts:channel_create") + "?kind=slack",
        {"name": "#ops", "address": SLACK_URL, "enabled": "on"},
    )
    assert "There is a channel named #ops already." in response.content.decode()


def _many_channels(org, ada, count: int, deliveries: int) -> NotificationChannel:
    notification = Notification.objects.create(
        organization=org, event="run.failed", title="t", url="/provisioning/runs/1/"
    )
    first = None
    for n in range(count):
        channel = NotificationChannel.objects.create(
            organization=org,
            name=f"c{n}",
            kind="slack",
            target={"url": SLACK_URL},
            target_hint="hooks.slack.com …oken",
            events=[Event.RUN_FAILED],
        )
        NotificationDelivery.objects.bulk_create(
            NotificationDelivery(
                organization=org,
                notification=notification,
                channel=channel,
                status="failed",
                attempts=4,
                last_error="HTTP 500",
            )
            for _ in range(deliveries)
        )
        first = first or channel
    return first


@pytest.mark.parametrize("count", [2, 40])
def test_the_channel_list_keeps_its_query_count(
    org, ada, login, count, django_assert_max_num_queries
):
    _many_channels(org, ada, count, deliveries=count)
    client = login(ada)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("accounts:channel_list"))
    assert response.content.decode().count("hooks.slack.com …oken") == count


@pytest.mark.parametrize("count", [3, 80])
def test_the_delivery_log_keeps_its_query_count(
    org, ada, login, count, django_assert_max_num_queries
):
    channel = _many_channels(org, ada, 1, deliveries=count)
    client = login(ada)
    url = reverse("accounts:channel_detail", args=[channel.pk])
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert response.content.decode().count("HTTP 500") == min(count, 25)
    fragment = client.get(url + "?page=2", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    assert 'id="delivery-log"' in fragment


def test_everyone_chooses_their_own_emails(org, login, vera, ada):
    client = login(vera)
    page = client.get(reverse("accounts:notification_preferences")).content.decode()
    assert "your role's defaults apply: nothing" in page
    client.post(
        reverse("accounts:notification_preferences"),
        {"events": [Event.RUN_APPLIED, Event.DRIFT_FOUND]},
    )
    mine = NotificationPreference.objects.get(user=vera, organization=org)
    assert mine.events == ["run.applied", "drift.found"]
    assert AuditEvent.objects.filter(action="notification.preferences_updated", actor=vera).exists()
    # An admin's page starts from the admin defaults.
    admin_page = login(ada).get(reverse("accounts:notification_preferences")).content.decode()
    assert admin_page.count("checked") == len(ADMIN_DEFAULTS)


def test_email_choices_are_respected(
    org, alice, ada, bob, vera, charlie, login, django_capture_on_commit_callbacks
):
    """Defaults: admins and owners hear of failures; then alice opts out, bob opts in."""
    with django_capture_on_commit_callbacks(execute=True):
        notify(organization=org, event=Event.RUN_FAILED, title="Plan #1 of a failed")
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@acme.test", "alice@acme.test"]
    assert "/organization/notifications/e-mail/" in mail.outbox[0].body  # how to change it

    mail.outbox.clear()
    login(alice).post(reverse("accounts:notification_preferences"), {"events": []})
    login(bob).post(reverse("accounts:notification_preferences"), {"events": [Event.RUN_FAILED]})
    with django_capture_on_commit_callbacks(execute=True):
        notify(organization=org, event=Event.RUN_FAILED, title="Plan #2 of a failed")
        notify(organization=org, event=Event.RUN_APPLIED, title="a was applied")
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("ada@acme.test", "[mcloud] Plan #2 of a failed"),
        ("bob@acme.test", "[mcloud] Plan #2 of a failed"),
    ]
    # Nobody listening: nothing is recorded.
    assert notify(organization=org, event=Event.COST_ANOMALY, title="x") is not None  # ada
    login(ada).post(reverse("accounts:notification_preferences"), {"events": []})
    assert notify(organization=org, event=Event.COST_ANOMALY, title="x") is None


def test_a_person_who_left_is_not_emailed(org, ada, django_capture_on_commit_callbacks):
    from accounts.models import Membership

    notification = notify(organization=org, event=Event.RUN_FAILED, title="t")
    Membership.objects.filter(user=ada).delete()
    from accounts.notifications.delivery import delivery_attempt

    delivery = notification.deliveries.get()
    assert delivery_attempt(delivery_id=delivery.pk).last_error == (
        "The person is no longer a member."
    )
    assert mail.outbox == []
