"""The search palette, by keyboard only: "/" opens it, typing finds, the arrows choose, Enter
opens the choice, Esc closes; Ctrl-K opens it from inside a text field."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from inventory.models import Resource
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.inventory import estate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_palette_finds_and_opens_a_resource_by_keyboard(
    live_server, page: Page, log_in, vera, org, screenshot
):
    account = estate.account(org, "orion-prod")
    records = [
        ResourceRecord(resource_id=f"i-{name}", name=name, type="vm", region="eu-west-1",
                       status="running", created_at=datetime(2026, 1, 1, tzinfo=UTC))
        for name in ("orion-api", "orion-web")
    ]  # fmt: skip
    ingest_scope(account=account, scope="eu-west-1", records=records)
    web = Resource.objects.get(name="orion-web")
    log_in(page, vera)
    palette = page.get_by_role("dialog", name="Search resources")
    expect(palette).to_be_hidden()

    page.keyboard.press("/")
    expect(palette).to_be_visible()
    field = page.get_by_role("combobox", name="Search resources")
    expect(field).to_be_focused()
    field.press_sequentially("orion", delay=30)
    results = page.get_by_role("listbox", name="Results")
    expect(results.get_by_role("option")).to_have_count(4)  # 2 resources, "every", 1 account
    expect(results.get_by_role("group", name="Resources")).to_be_visible()
    expect(results.get_by_role("group", name="Cloud accounts")).to_contain_text("orion-prod")
    first = results.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(first).to_contain_text("orion-api")  # shorter names first, then by name
    expect(field).to_have_attribute("aria-expanded", "true")

    page.keyboard.press("ArrowDown")
    screenshot(page, "palette")
    second = results.get_by_role("option").nth(1)
    expect(second).to_have_attribute("aria-selected", "true")
    expect(first).to_have_attribute("aria-selected", "false")
    expect(field).to_have_attribute("aria-activedescendant", "palette-resources-2")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/inventory/resources/{web.pk}/$"))
    expect(page.get_by_role("heading", name="orion-web")).to_be_visible()

    # Esc closes it; Ctrl-K opens it even from a text field, keeping what was typed.
    page.keyboard.press("/")
    expect(palette).to_be_visible()
    page.keyboard.press("Escape")
    expect(palette).to_be_hidden()
    page.goto(f"{live_server.url}/inventory/")
    search = page.get_by_placeholder("Name or id")
    search.focus()
    page.keyboard.press("/")  # a character typed into the field there, not a shortcut
    expect(palette).to_be_hidden()
    expect(search).to_have_value("/")
    page.keyboard.press("Control+k")
    expect(palette).to_be_visible()
    expect(field).to_be_focused()
    field.press_sequentially("orion", delay=30)
    expect(results.get_by_role("option")).to_have_count(4)
    expect(results.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")  # from the first, round to the last
    last = results.get_by_role("option").last
    expect(last).to_have_attribute("aria-selected", "true")
    expect(last).to_contain_text("orion-prod")


def test_the_palette_follows_the_dark_theme(live_server, page: Page, log_in, vera, org):
    vera.theme = "dark"
    vera.save()
    estate.fill(estate.account(org, "aws-prod"), 4)
    log_in(page, vera)
    page.keyboard.press("Control+k")
    palette = page.get_by_role("dialog", name="Search resources")
    expect(palette).to_be_visible()
    page.keyboard.type("res-")
    expect(palette.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    background = palette.evaluate("e => getComputedStyle(e).backgroundColor")
    red, green, blue = (int(x) for x in re.findall(r"\d+", background)[:3])
    assert red + green + blue < 150, background  # Bootstrap's dark body colour, not white
