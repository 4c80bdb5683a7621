"""A newcomer's first day, as a person sees it: sign up and confirm the address, load the
sandbox, watch the accounts list follow a sync without a reload, filter the inventory with
chips and by clicking a status, find a resource with the palette by keyboard, read the toast
of the sync that ended, turn the page dark, and open the inventory on a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Membership
from inventory.models import CloudAccount, Resource, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long passphrase for tests 2026"


def test_a_newcomers_first_day(live_server, page: Page, sandbox, screenshot):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("input[name=email]", "first-day@example.test")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="first-day's organization")).to_be_visible()

    # The sandbox: three clouds, synced in the request.
    page.get_by_role("link", name="Cloud accounts").click()
    page.get_by_role("button", name="Load a sandbox estate").click(no_wait_after=True)
    expect(page.get_by_text("Sandbox is ready")).to_be_visible(timeout=400_000)
    membership = Membership.objects.filter(user__email="first-day@example.test").latest("pk")
    org, user = membership.organization, membership.user

    # The accounts list follows a sync under way, then its end, without a reload.
    account = CloudAccount.objects.filter(organization=org, provider="aws").first()
    run = SyncRun.objects.create(
        organization=org, account=account, status=SyncRun.State.RUNNING, requested_by=user,
        scopes_total=2, scopes_done=1, started_at=timezone.now(), lease_token="journey",
    )  # fmt: skip
    CloudAccount.objects.filter(pk=account.pk).update(  # its worker holds the account's lease
        lease_token="journey", lease_until=timezone.now() + timedelta(minutes=10)
    )
    page.goto(f"{live_server.url}/cloud-accounts/")
    table = page.locator("#account-table")
    expect(table).to_contain_text("Syncing: 1 of 2")
    page.route("**/activity/", lambda route: route.abort())  # its toast waits for the next page
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.State.SUCCEEDED, scopes_done=2, finished_at=timezone.now()
    )
    CloudAccount.objects.filter(pk=account.pk).update(
        last_synced_at=timezone.now(), lease_token="", lease_until=None
    )
    expect(table).not_to_contain_text("Syncing", timeout=30_000)
    expect(table).not_to_have_attribute("hx-trigger", "every 3s")  # it stopped polling

    # Elsewhere, the sync that ended is told once, as a toast.
    page.unroute("**/activity/")
    page.get_by_role("link", name="Dashboard").click()
    told = page.locator("#toasts .toast").filter(has_text=f"Sync of {account.name}: succeeded")
    expect(told.first).to_be_visible()

    # Chips for the active filters; one removed; a status clicked to filter by it.
    page.goto(f"{live_server.url}/inventory/?provider=aws&type=vm")
    chips = page.locator("#filter-chips")
    expect(chips).to_contain_text("Provider: AWS")
    expect(chips).to_contain_text("Type: Virtual machine")
    chips.get_by_role("link", name=re.compile("Remove the filter Provider")).click()
    expect(page).not_to_have_url(re.compile("provider=aws"))
    expect(page.locator("#filter-chips")).not_to_contain_text("Provider")
    page.locator("#resource-table a[title='Only this status']", has_text="stopped").first.click()
    expect(page).to_have_url(re.compile("status=stopped"))
    expect(page.locator("#filter-chips")).to_contain_text("stopped")

    # The palette, by keyboard, to a resource of the sandbox.
    resource = Resource.objects.filter(organization=org, type="vm").order_by("name").first()
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+k")
    field = page.get_by_role("combobox", name="Search resources")
    expect(field).to_be_focused()
    field.press_sequentially(resource.name, delay=20)
    option = page.get_by_role("listbox", name="Results").get_by_role("option").first
    expect(option).to_contain_text(resource.name)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/inventory/resources/{resource.pk}/$"))

    # Dark with the system, until a theme is picked.
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")

    # On a phone: the inventory as cards, the table hidden, nothing sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/inventory/")
    expect(page.locator("#resource-cards")).to_be_visible()
    expect(page.locator("#resource-table")).to_be_hidden()
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    screenshot(page, "inventory-phone-dark", full_page=False)
