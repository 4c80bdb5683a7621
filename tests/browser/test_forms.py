"""Forms whose bugs live in the browser: fields shown for the choice made, a reload that
does not post again."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_aws_form_shows_only_the_fields_of_the_chosen_options(
    live_server, page: Page, log_in, ada
):
    log_in(page, ada)
    page.goto(f"{live_server.url}/cloud-accounts/new/?provider=aws")
    role_arn, key_id = page.locator("#id_role_arn"), page.locator("#id_access_key_id")
    region_box = page.get_by_label("eu-west-1")
    expect(role_arn).to_be_visible()
    expect(key_id).to_be_hidden()
    expect(page.locator("#id_secret_access_key")).to_be_hidden()
    expect(region_box).to_be_hidden()

    page.get_by_label("An access key").check()
    expect(key_id).to_be_visible()
    expect(role_arn).to_be_hidden()
    page.get_by_label("Only these regions").check()
    expect(region_box).to_be_visible()
    page.get_by_label("Every region enabled for the account").check()
    expect(region_box).to_be_hidden()


def test_reloading_after_making_a_token_makes_no_second_one(live_server, page: Page, log_in, bob):
    from accounts.models import ApiToken

    log_in(page, bob)
    page.goto(f"{live_server.url}/account/tokens/")
    page.fill("input[name=name]", "ci")
    page.get_by_role("button", name="Make a token").click()
    expect(page.locator("#new-token")).to_be_visible()
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    assert ApiToken.objects.count() == 1
