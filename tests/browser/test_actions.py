"""An admin loads the sandbox and acts on what runs: removes a waste finding's disk from the
Savings page and sees its saving leave the total, stops and starts a VM of each provider from
its resource page and sees its status change on the page, without a reload, then bulk-stops
the VMs of a saved view and follows the bulk action to its end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership
from inventory.models import Resource, SavedView

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

    # Bulk-stop the running GCP VMs through a saved view: the count, then the run to its end.
    sandbox_org = Membership.objects.filter(user=alice).order_by("-pk").first().organization
    SavedView.objects.create(organization=sandbox_org, owner=alice, name="GCP running VMs",
                             query="type=vm&status=running&provider=gcp")  # fmt: skip
    running = Resource.objects.filter(organization=sandbox_org, provider="gcp", type="vm",
                                      status="running", deleted_at__isnull=True)  # fmt: skip
    count = running.count()
    page.goto(f"{live_server.url}/inventory/")
    page.get_by_role("link", name="GCP running VMs").click()
    page.locator("#bulk-action").select_option("stop")
    page.locator("#bulk-all").click()
    expect(page.locator("#bulk-summary")).to_contain_text(f"{count} resource")
    page.locator("#bulk-confirm button[type=submit]").click()
    expect(page.locator("#bulk-status")).to_have_attribute("data-status", "finished",
                                                           timeout=120_000)  # fmt: skip
    figures = page.locator("#bulk-figures").inner_text()
    done, failed, skipped = (
        int(re.search(rf"(\d+) {word}", figures).group(1))  # type: ignore[union-attr]
        for word in ("done", "failed", "skipped")
    )
    assert (done, failed, done + skipped) == (count - skipped, 0, count), figures
    assert done > 0
    assert running.count() == skipped  # re-synced: the stopped ones show stopped
