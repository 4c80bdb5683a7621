"""Saved-view names validated in place, never losing the filters, and an existing name that
asks before it is replaced."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import SavedView

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
URL = "inventory:saved_view_create"


def test_an_empty_name_is_refused_in_place(login, bob, org):
    response = login(bob).post(
        reverse(URL), {"name": "  ", "query": "status=running"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Give the view a name." in html
    assert 'value="status=running"' not in html  # the query stays in the results' own field
    assert not SavedView.objects.exists()


def test_a_long_name_is_refused_without_losing_the_filters(login, bob, org):
    client = login(bob)
    fragment = client.post(
        reverse(URL), {"name": "n" * 81, "query": "status=running&region=x"}, headers=HTMX
    )
    assert "at most 80 characters (this has 81)" in fragment.content.decode()
    assert 'value="' + "n" * 81 + '"' in fragment.content.decode()  # kept to shorten
    plain = client.post(reverse(URL), {"name": "n" * 81, "query": "status=running&region=x"})
    assert plain.status_code == 302
    assert plain.url == reverse("inventory:resource_list") + "?region=x&status=running"
    assert not SavedView.objects.exists()


def test_an_existing_name_asks_before_it_replaces_and_keeps_the_view_shared(login, bob, org):
    client = login(bob)
    client.post(reverse(URL), {"name": "East", "query": "region=us-east-1", "shared": "on"})
    view = SavedView.objects.get()
    assert view.shared

    asked = client.post(reverse(URL), {"name": "East", "query": "status=stopped"}, headers=HTMX)
    html = asked.content.decode()
    assert "A view named East already exists" in html
    assert 'name="replace"' in html
    view.refresh_from_db()
    assert (view.query, view.shared) == ("region=us-east-1", True)

    plain = client.post(reverse(URL), {"name": "East", "query": "status=stopped"})
    assert plain.url == reverse("inventory:resource_list") + "?status=stopped"
    view.refresh_from_db()
    assert view.query == "region=us-east-1"

    done = client.post(
        reverse(URL), {"name": "East", "query": "status=stopped", "replace": "1"}, headers=HTMX
    )
    assert done["HX-Redirect"] == reverse("inventory:resource_list") + "?status=stopped"
    view.refresh_from_db()
    assert (view.query, view.shared) == ("status=stopped", True)
    assert SavedView.objects.count() == 1
