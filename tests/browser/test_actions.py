"""An admin loads the sandbox and acts on what runs: removes a waste finding's disk from the
Savings page and sees its saving leave the total, then stops and starts a VM of each provider
from its resource page and sees its status change on the page, without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership
from billing.services.waste import findings_refresh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_remove_waste_then_stop_and_start_a_vm_of_each_provider(
    live_server, page: Page, log_in, sandbox, alice, settings
):
    settings.CLOUD_POLL_SECONDS = 0.05  # ARM's Retry-After: 0 leaves the interval to us
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    log_in(page, alice)
    page.get_by_role("link", name="Cloud accounts").click()
    # Loading syncs three clouds in the request: on a busy machine it outlasts a click's wait.
    page.get_by_role("button", name="Load a sandbox estate").click(no_wait_after=True)
    expect(page.get_by_text("Sandbox is ready")).to_be_visible(timeout=400_000)
    # The sandbox's own syncs are not "Sync now": the findings are refreshed as a manual sync
    # or the daily schedule would.
    for membership in Membership.objects.filter(user=alice).select_related("organization"):
        findings_refresh(organization=membership.organization)

    # Remove the unattached disk with the biggest saving.
    page.goto(f"{live_server.url}/billing/savings/?rule=unattached_disk")
    total = page.locator("#savings-total").inner_text()
    first = page.locator("#findings tbody tr").first
    row_id = first.get_attribute("id")
    name = first.locator("td").nth(1).locator("a").inner_text()
    confirm = first.locator("form[data-confirm]").get_attribute("data-confirm") or ""
    assert re.search(rf"Delete disk {re.escape(name)} at .+\? It saves about [\d.,]+ ", confirm)
    first.get_by_role("button", name="Remove").click()
    expect(page.get_by_text(re.compile(rf"Delete {re.escape(name)}: .* deleted"))).to_be_visible()
    expect(page.locator(f"#{row_id}")).to_have_count(0)
    expect(page.locator("#savings-total")).not_to_have_text(total)

    # Stop and start a running VM of each provider from its page.
    for provider in ("aws", "azure", "gcp"):
        page.goto(f"{live_server.url}/inventory/?type=vm&status=running&provider={provider}")
        page.locator("#results tbody a[href*='/inventory/resources/']").first.click()
        status = page.locator("#resource-status")
        expect(status).to_have_text("running")
        page.locator('button[data-action="stop"]').click()
        expect(status).to_have_text("stopped", timeout=60_000)
        expect(page.locator("#action-runs")).to_contain_text("Succeeded")
        page.locator('button[data-action="start"]').click()
        expect(status).to_have_text("running", timeout=60_000)
