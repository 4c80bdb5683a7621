"""The colour theme: the system's by default, or the one a person picks, remembered."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_follow_the_system_until_a_theme_is_picked(login, alice):
    html = login(alice).get(reverse("home")).content.decode()
    assert '<html lang="en" data-theme="auto" data-bs-theme="light">' in html
    assert "/static/js/theme.js" in html[: html.index("</head>")]


def test_a_picked_theme_is_remembered_and_goes_back(login, alice):
    client = login(alice)
    back = reverse("inventory:resource_list") + "?provider=aws"
    response = client.post(reverse("accounts:theme"), {"theme": "dark", "next": back})
    assert response.url == back
    alice.refresh_from_db()
    assert alice.theme == "dark"
    assert 'data-theme="dark" data-bs-theme="dark"' in client.get(back).content.decode()


def test_a_refused_theme_changes_nothing_and_says_why(login, alice):
    response = login(alice).post(reverse("accounts:theme"), {"theme": "purple"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "Choose a theme: follow the system, light or dark." in response.content.decode()
    alice.refresh_from_db()
    assert alice.theme == "auto"


def test_it_goes_back_to_the_page_as_the_browser_shows_it(login, alice):
    back = "http://testserver/billing/?provider=gcp"  # pushed by HTMX after the page was made
    response = login(alice).post(
        reverse("accounts:theme"), {"theme": "dark"}, headers={"Referer": back}
    )
    assert response.url == back


def test_it_never_sends_anyone_off_the_site(login, alice):
    data = {"theme": "light", "next": "https://evil.test/"}
    assert login(alice).post(reverse("accounts:theme"), data).url == "/"


def test_only_a_signed_in_person_picks_a_theme(client):
    response = client.post(reverse("accounts:theme"), {"theme": "dark"})
    assert response.status_code == 302
    assert reverse("account_login") in response.url
