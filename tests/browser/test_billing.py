"""A newcomer loads the sandbox, whose costs are imported, opens Billing (its one cost anomaly
marked on the chart), and narrows it to one provider: the chart, the tables and the summary
cards all follow, without a reload. The page turns dark with the system, until a theme is picked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_billing_of_the_sandbox_follows_the_filters(
    live_server, page: Page, log_in, sandbox, alice, screenshot
):
    page.set_viewport_size({"width": 1400, "height": 1000})
    log_in(page, alice)
    page.get_by_role("link", name="Cloud accounts").click()
    # Loading syncs three clouds, imports their costs and refreshes what follows in the
    # request: on PostgreSQL beside the other leg it outlasts a click's wait.
    page.get_by_role("button", name="Load a sandbox estate").click(no_wait_after=True)
    expect(page.get_by_text("Sandbox is ready")).to_be_visible(timeout=400_000)

    page.goto(f"{live_server.url}/billing/?period=last_30")
    expect(page.locator("#by-provider")).to_contain_text("Azure")
    expect(page.locator(".cost-chart rect").first).to_be_attached()
    expect(page.locator("#billing-mtd")).to_have_text(re.compile(r"\d"))
    # The sandbox's one spike, marked on the chart with the range it was expected in.
    expect(page.locator(".cost-chart circle.anomaly")).to_have_count(1)
    expect(page.locator(".cost-chart g.expected")).to_have_count(1)
    expect(page.locator("#period-anomalies")).to_contain_text("EC2 - Other")
    screenshot(page, "billing")

    everything = page.locator("#billing-mtd").inner_text()
    page.locator("#id_provider").select_option("gcp")
    expect(page).to_have_url(re.compile(r"provider=gcp"))
    expect(page.locator("#results")).to_contain_text("provider: gcp")
    expect(page.locator("#by-provider")).not_to_contain_text("Azure")
    # The cards sit above the form, outside the swapped part: they come out of band.
    expect(page.locator("#billing-mtd")).not_to_have_text(everything)
    assert page.locator("#billing-summary").count() == 1

    # Dark mode follows the system until the user picks a theme, which is remembered.
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    screenshot(page, "billing-dark")
    page.locator("#user-menu").click()
    page.locator("#theme-form").get_by_role("button", name="Light").click()
    expect(page).to_have_url(re.compile(r"provider=gcp"))  # back where it was
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
