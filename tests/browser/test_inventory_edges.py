"""The inventory list where its bugs live in the browser: URLs the filters push, the phone
layout, the saved-view popover."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.inventory import estate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def inventory(org):
    aws = estate.account(org, "aws-production-main")
    estate.fill(aws, 40, region="eu-west-1", team="web")
    return aws


def test_changing_a_filter_pushes_a_url_without_empty_parameters(
    live_server, page: Page, log_in, bob, inventory
):
    log_in(page, bob)
    page.goto(f"{live_server.url}/inventory/")
    page.select_option("#id_status", "stopped")
    expect(page.locator("#result-count")).to_contain_text("7 resources match")
    assert "status=stopped" in page.url
    assert not re.search(r"[?&][a-z_]+=(&|$)", page.url), page.url


def test_on_a_phone_the_results_are_cards_on_the_first_screen_and_fit(
    live_server, page: Page, log_in, bob, inventory
):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, bob)
    page.goto(f"{live_server.url}/inventory/")
    # Cards, not the table: name and status on each, the first ones on the first screen.
    cards = page.locator("#resource-cards .resource-card")
    expect(cards.first).to_be_visible()
    expect(page.locator("#resource-table")).to_be_hidden()
    assert page.locator("#result-count").bounding_box()["y"] < 844
    assert cards.nth(1).bounding_box()["y"] < 844
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    expect(cards.first.locator(".resource-status")).to_be_visible()
    # Sorting without headers; the filters are one tap away.
    page.locator("#card-sort").get_by_role("link", name="status").click()
    expect(page).to_have_url(re.compile(r"sort=status"))
    expect(cards.first.locator(".resource-status")).to_have_text("available")
    expect(page.locator("#id_status")).to_be_hidden()
    page.locator("#filter-toggle").click()
    expect(page.locator("#id_status")).to_be_visible()


def test_the_save_view_popover_stays_open_with_its_message(
    live_server, page: Page, log_in, bob, inventory
):
    log_in(page, bob)
    page.goto(f"{live_server.url}/inventory/?status=stopped")
    page.get_by_role("button", name="Save view").click()
    popover = page.locator("#save-view")
    popover.get_by_role("button", name="Save").click()
    expect(popover).to_be_visible()
    expect(popover).to_contain_text("Give the view a name.")
    page.locator("#view-name").fill("Stopped")
    popover.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved the view 'Stopped'.")).to_be_visible()
    assert "status=stopped" in page.url

    page.get_by_role("button", name="Save view").click()
    page.locator("#view-name").fill("Stopped")
    popover.get_by_role("button", name="Save").click()
    expect(popover).to_contain_text("A view named Stopped already exists")
    popover.get_by_role("button", name="Replace it").click()
    expect(page.get_by_text("Saved the view 'Stopped'.")).to_be_visible()
