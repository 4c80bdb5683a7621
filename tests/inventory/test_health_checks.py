"""Scheduled health checks, pausing a dead account, resuming it, and the HTMX test button."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django_q.models import Schedule

from accounts.models import AuditEvent
from inventory.models import CloudAccount, HealthStatus, ProviderHealth
from inventory.schedules import HEALTH_CHECKS
from inventory.tasks import check_all_accounts
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db


def test_the_schedule_exists_with_the_interval_setting(settings):
    schedule = Schedule.objects.get(name=HEALTH_CHECKS)
    assert schedule.func == "inventory.tasks.check_all_accounts"
    assert schedule.minutes == settings.HEALTH_CHECK_INTERVAL_MINUTES == 5


def test_scheduled_checks_cover_every_enabled_unpaused_account(aws, org, other_org, scheduled):
    good = aws_account(org, aws.create_user_key("reader"))
    other = aws_account(other_org, aws.create_user_key("other"), name="aws-other")
    disabled = aws_account(org, aws.create_user_key("off"), name="aws-off")
    disabled.enabled = False
    disabled.save()
    assert scheduled(check_all_accounts) == 2  # q2 runs the queued checks inline in tests
    assert ProviderHealth.objects.get(account=good).trigger == ProviderHealth.Trigger.SCHEDULED
    assert ProviderHealth.objects.get(account=other).status == HealthStatus.HEALTHY
    assert not ProviderHealth.objects.filter(account=disabled).exists()
    # Scheduled checks are not audit noise.
    assert not AuditEvent.objects.filter(action="cloud_account.tested").exists()


def test_an_account_failing_five_times_in_a_row_is_paused_and_admins_hear_once(
    aws, org, alice, ada, bob, django_capture_on_commit_callbacks, scheduled
):
    account = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"))
    for _ in range(4):
        scheduled(check_all_accounts)
    account.refresh_from_db()
    assert account.consecutive_failures == 4
    assert not account.is_paused
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        check_all_accounts()
    account.refresh_from_db()
    assert account.is_paused
    assert "Paused after 5 failed checks in a row: AWS rejected the access key" in (
        account.pause_reason
    )
    # One e-mail each, to the admins and owners (who have not chosen otherwise).
    assert sorted(m.to for m in mail.outbox) == [["ada@acme.test"], ["alice@acme.test"]]
    assert all(f"/cloud-accounts/{account.pk}/" in m.body for m in mail.outbox)
    # Paused: no more scheduled checks hammer the dead credential.
    with django_capture_on_commit_callbacks(execute=True):
        assert check_all_accounts() == 0
    assert len(mail.outbox) == 2
    assert ProviderHealth.objects.filter(account=account).count() == 5
    assert AuditEvent.objects.filter(action="cloud_account.paused").count() == 1


def test_the_page_says_why_and_resume_clears_the_pause(aws, org, login, ada, scheduled):
    account = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"))
    for _ in range(5):
        scheduled(check_all_accounts)
    client = login(ada)
    page = client.get(reverse("inventory:account_detail", args=[account.pk])).content.decode()
    assert "Paused after 5 failed checks in a row" in page
    assert ">Resume</button>" in page
    client.post(reverse("inventory:account_resume", args=[account.pk]))
    account.refresh_from_db()
    assert (account.paused_at, account.consecutive_failures) == (None, 0)
    assert AuditEvent.objects.filter(action="cloud_account.resumed", actor=ada).exists()


def test_a_manual_test_answers_inline_through_htmx(aws, org, login, ada):
    account = aws_account(org, aws.create_user_key("reader"))
    response = login(ada).post(
        reverse("inventory:account_test", args=[account.pk]), headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="test-result"' in body
    assert "Connected as arn:aws:iam::123456789012:user/reader" in body
    # The state and the history panel are refreshed out of band, with this check in them.
    assert 'id="account-state" hx-swap-oob="true">Healthy<' in body
    assert 'id="health-panel" hx-swap-oob="true"' in body
    assert body.count("Connected as arn:aws:iam::123456789012:user/reader") == 2
    event = AuditEvent.objects.get(action="cloud_account.tested")
    assert event.data["status"] == "healthy"


def test_a_manual_test_without_htmx_redirects_with_a_message(aws, org, login, ada):
    account = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"))
    response = login(ada).post(reverse("inventory:account_test", args=[account.pk]), follow=True)
    assert b"AWS rejected the access key (InvalidClientTokenId)" in response.content
    assert CloudAccount.objects.get(pk=account.pk).consecutive_failures == 1
