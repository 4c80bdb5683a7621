"""A power schedule made in the browser: the preview shows the next runs, the matching VMs and
the saving as the form is filled, before anything is saved; then it is saved and listed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from inventory.models import PowerSchedule
from tests.inventory import estate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_previews_a_schedule_then_saves_it(live_server, page: Page, log_in, bob, org):
    estate.fill(estate.account(org, "aws-dev"), 12, region="eu-west-1")  # env=dev and prod
    log_in(page, bob)
    page.goto(f"{live_server.url}/schedules/")
    page.get_by_role("link", name="New schedule").click()
    page.fill("#id_name", "Dev nights")
    page.fill("#id_time_zone", "Europe/Paris")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.fill(f"#id_stop_{day}", "19:00")
        page.fill(f"#id_start_{day}", "07:00")
    page.fill("#id_tag_filter", "env=dev")
    page.locator("#id_tag_filter").dispatch_event("change")

    preview = page.locator("#schedule-preview")
    expect(preview).to_contain_text("VMs it matches now: 2")
    expect(preview.get_by_test_id("next-runs").locator("li")).to_have_count(5)
    expect(preview.get_by_test_id("saving")).to_contain_text("USD a month")
    assert not PowerSchedule.objects.exists()  # previewed, not saved

    page.fill("#id_start_tue", "")  # Monday's stop would run into Tuesday's: refused
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("The off-hours overlap")
    assert not PowerSchedule.objects.exists()

    page.fill("#id_start_tue", "07:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Dev nights")).to_be_visible()
    expect(page.get_by_role("cell", name="tag env=dev")).to_be_visible()
    assert PowerSchedule.objects.get().week[1] == {"stop": "19:00", "start": "07:00"}
