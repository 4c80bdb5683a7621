"""Live pages where the bug lives in the browser: tile refreshes coalesced when several
syncs end together, an account's syncs table swapped in when its sync ends, and the toast
that tells it on the next page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.inventory import aws_estate, estate
from tests.inventory.factories import aws_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_several_syncs_ending_together_refresh_each_tile_once(
    live_server, page: Page, log_in, vera, org
):
    estate.fill(estate.account(org, "aws-prod"), 6)
    log_in(page, vera)
    page.wait_for_load_state("networkidle")
    tiles = page.locator("[id^=tile-][hx-get]").count()
    assert tiles >= 8
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/dashboard/tiles/" in r.url else None)
    for _ in range(3):  # three syncs ending within 0.4 s
        page.evaluate("htmx.trigger(document.body, 'syncFinished')")
        page.wait_for_timeout(150)
    page.wait_for_timeout(3500)
    assert len(requests) == tiles, requests
    assert len(set(requests)) == tiles  # one per tile


def test_the_account_pages_syncs_table_follows_the_sync_that_ends(
    live_server, page: Page, log_in, bob, org, aws
):
    aws_estate.instances(aws, "eu-west-1", 2)
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    log_in(page, bob)
    # The account page shows the sync's end itself: its toast is left for the next page.
    page.route("**/activity/", lambda route: route.abort())
    page.goto(f"{live_server.url}/cloud-accounts/{account.pk}/")
    runs = page.locator("#sync-runs")
    expect(runs).to_contain_text("No sync yet.")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator(f"#sync-progress-{account.pk}")).to_contain_text("Sync succeeded.")
    expect(runs).to_contain_text("Succeeded")
    expect(runs).to_contain_text("last synced")
    expect(runs).not_to_contain_text("No sync yet.")
    # Elsewhere, the sync that ended is told once, as a toast linking back to the account.
    page.unroute("**/activity/")
    page.get_by_role("link", name="Dashboard").click()
    toast = page.locator("#toasts .toast")
    expect(toast).to_contain_text(f"Sync of {account.name}: succeeded")
    toast.get_by_role("button", name="Close").click()
    expect(toast).to_be_hidden()
    page.reload()
    page.wait_for_timeout(1500)
    expect(page.locator("#toasts .toast")).to_have_count(0)
