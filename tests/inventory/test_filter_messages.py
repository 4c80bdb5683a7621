"""Filters that explain themselves: a bad value is a message beside its field (and is not
applied), a 422 naming the field in the API, and links that carry no empty parameters."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.inventory import estate

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def inventory(org):
    aws = estate.account(org, "aws-prod")
    estate.fill(aws, 12, region="eu-west-1")
    estate.fill(estate.account(org, "gcp-main", "gcp"), 6, region="us-central1")
    return aws


def _error(html: str, field: str) -> str:
    found = re.search(rf'id="filter-error-{field}"[^>]*>(.*?)</div>', html, re.S)
    return found.group(1).strip() if found else ""


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "zzz"}, "status", "Not a status: zzz"),
        ({"provider": "foo"}, "provider", "Not a provider: foo"),
        ({"tag": "="}, "tag", "A tag filter is key or key=value"),
        ({"q": "x" * 3000}, "q", "at most 200 characters"),
        ({"tag": "k" * 300}, "tag", "at most 200 characters"),
        ({"account": "x"}, "account", "Not an account"),
    ],
)
def test_a_bad_filter_is_a_message_beside_its_field(login, vera, inventory, query, field, message):
    client = login(vera)
    page = client.get(reverse("inventory:resource_list"), query).content.decode()
    assert message in _error(page, field)
    assert "1 filter ignored" in page
    # After an HTMX change the message is swapped in beside the field too.
    fragment = client.get(reverse("inventory:resource_list"), query, headers=HTMX)
    html = fragment.content.decode()
    assert "<html" not in html
    assert 'id="filter-error-' + field + '" hx-swap-oob="true"' in html
    assert message in _error(html, field)


def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_a_good_filter_clears_the_message(login, vera, inventory):
    html = (
        login(vera)
        .get(reverse("inventory:resource_list"), {"status": "running"}, headers=HTMX)
        .content.decode()
    )
    assert _error(html, "status") == ""
    assert "ignored" not in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"provider": "foo"}, "provider"),
        ({"status": "zzz"}, "status"),
        ({"q": "x" * 3000}, "q"),
        ({"tag": "="}, "tag"),
        ({"tag": "k" * 300}, "tag"),
        ({"region": "mars-1"}, "region"),
        ({"sort": "colour"}, "sort"),
    ],
)
def test_the_api_refuses_a_bad_filter_naming_the_field(inventory, vera, token_for, query, field):
    response = api(token_for(vera)).get("/api/resources", query)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["details"]


def test_the_api_still_filters_with_good_values(inventory, vera, token_for):
    response = api(token_for(vera)).get("/api/resources", {"provider": "gcp", "sort": "-name"})
    assert response.status_code == 200
    assert response.json()["count"] == 6


def test_sort_and_page_links_carry_no_empty_parameters(login, vera, inventory):
    html = (
        login(vera)
        .get(
            reverse("inventory:resource_list"),
            {"q": "", "provider": "", "status": "", "per_page": "25", "sort": "name"},
        )
        .content.decode()
    )
    links = re.findall(r'href="(\?[^"]*)"', html)
    assert links
    for link in links:
        assert not re.search(r"(^\?|&(amp;)?)[a-z_]+=(&|$)", link), link
