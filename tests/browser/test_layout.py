"""The layout works on a phone-sized screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_menu_collapses_on_a_phone(live_server, page: Page, log_in, alice, bob, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, alice)
    organization_menu = page.get_by_role("button", name="Organization")
    expect(organization_menu).to_be_hidden()
    page.get_by_role("button", name="Toggle navigation").click()
    organization_menu.click()
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.get_by_role("heading", name="Members of Acme")).to_be_visible()
    expect(page.get_by_text("bob@acme.test")).to_be_visible()
    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "members-phone")
