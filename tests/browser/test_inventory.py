"""A newcomer loads the sandbox, watches the dashboard fill in, filters the inventory
(the URL follows, the back button restores), downloads the filtered CSV, and saves the view
it filtered to."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sandbox_dashboard_filters_and_csv(
    live_server, page: Page, log_in, sandbox, alice, screenshot, tmp_path
):
    page.set_viewport_size({"width": 1400, "height": 1000})
    log_in(page, alice)
    page.get_by_role("link", name="Cloud accounts").click()
    # Loading syncs three clouds, imports their costs and refreshes what follows in the
    # request: on PostgreSQL beside the other leg it outlasts a click's wait.
    page.get_by_role("button", name="Load a sandbox estate").click(no_wait_after=True)
    expect(page.get_by_text("Sandbox is ready")).to_be_visible(timeout=400_000)

    page.get_by_role("link", name="Dashboard").click()
    url = page.url
    # The tiles are empty placeholders in the page and fill in through HTMX, no reload.
    total = page.locator("#stat-total")
    expect(total).to_have_text(re.compile(r"^[1-9]\d{2,}$"), timeout=20_000)
    expect(page.locator("#tile-by_provider svg")).to_contain_text("Azure")
    expect(page.locator("#tile-health")).to_contain_text("aws-sandbox")
    expect(page.locator("#tile-activity")).to_contain_text("aws-sandbox: +")
    assert page.url == url
    screenshot(page, "dashboard")

    page.get_by_role("link", name="Inventory", exact=True).click()
    all_count = page.locator("#result-count").inner_text()
    page.locator("#id_provider").select_option("gcp")
    expect(page).to_have_url(re.compile(r"provider=gcp"))
    gcp_count = page.locator("#result-count").inner_text()
    assert gcp_count != all_count
    page.locator("#id_type").select_option("vm")
    expect(page).to_have_url(re.compile(r"provider=gcp.*type=vm|type=vm.*provider=gcp"))
    expect(page.locator("#result-count")).to_contain_text("60 resources match")
    screenshot(page, "inventory")

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"type=vm"))
    expect(page).to_have_url(re.compile(r"provider=gcp"))
    expect(page.locator("#result-count")).to_have_text(gcp_count)
    expect(page.locator("#id_provider")).to_have_value("gcp")

    page.locator("#id_type").select_option("storage")
    expect(page.locator("#result-count")).to_contain_text("8 resources match")
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 8
    assert {(r["provider"], r["type"]) for r in rows} == {("gcp", "storage")}

    # The filter and sort chosen through HTMX are what "Save view" stores, not the first load's.
    page.get_by_role("link", name=re.compile(r"^Region")).click()
    expect(page).to_have_url(re.compile(r"sort=region"))
    page.locator("#id_per_page").select_option("25")
    expect(page).to_have_url(re.compile(r"per_page=25"))
    expect(page).to_have_url(re.compile(r"sort=region"))  # the header's sort survives a filter
    page.get_by_role("button", name="Save view").click()
    page.locator("#view-name").fill("GCP buckets")
    page.locator("#save-view").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved the view 'GCP buckets'.")).to_be_visible()
    page.get_by_role("link", name="Inventory", exact=True).click()
    expect(page.locator("#result-count")).to_have_text(all_count)
    page.get_by_role("link", name="GCP buckets").click()
    for part in ("provider=gcp", "type=storage", "per_page=25", "sort=region"):
        expect(page).to_have_url(re.compile(part))
    expect(page.locator("#id_type")).to_have_value("storage")
