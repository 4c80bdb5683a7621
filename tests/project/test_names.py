"""Names and small things: admin plurals, the favicon, "Log in" everywhere, and e-mails that
carry the site's name and domain with links that survive the console."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.sites.models import Site
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "inventory", "billing", "provisioning"}


def test_admin_plurals_are_english():
    wrong = [
        str(m._meta.verbose_name_plural)
        for m in apps.get_models()
        if m._meta.app_label in OUR_APPS
        and re.search(r"(ss|[^aeiou]ys|datas|infos)$", str(m._meta.verbose_name_plural))
    ]
    assert wrong == []


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"\x00\x00\x01\x00")  # an ICO file


@pytest.mark.parametrize(
    "url", ["account_login", "account_signup", "account_reset_password", "account_logout"]
)
def test_log_in_is_never_sign_in(client, alice, url):
    if url == "account_logout":
        client.force_login(alice)
    html = client.get(reverse(url)).content.decode()
    assert not re.search(r"sign[ -]?(in|out)", html, re.IGNORECASE), re.findall(
        r".{30}sign[ -]?(in|out).{30}", html, re.IGNORECASE
    )


def test_the_site_has_the_configured_name_and_domain(settings):
    site = Site.objects.get_current()
    assert site.name == settings.SITE_NAME
    assert site.domain == urlsplit(settings.SITE_URL).netloc
    assert site.name != "example.com"


def test_emails_name_the_site_and_keep_links_whole_in_the_console(client, alice):
    client.post(reverse("account_reset_password"), {"email": alice.email})
    message = mail.outbox[-1]
    assert "example.com" not in message.subject + message.body
    link = re.search(r"https?://\S+", message.body).group(0)
    assert len(link) > 78  # long enough to be cut by a quoted-printable console
    from mcloud.mail import ConsoleEmailBackend

    stream = io.StringIO()
    ConsoleEmailBackend(stream=stream).send_messages([message])
    assert link in stream.getvalue()
