"""An admin copies the external ID, connects an AWS account and tests it in place (HTMX),
against moto."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_connects_aws_and_tests_the_connection(
    live_server, page: Page, log_in, aws, ada, screenshot
):
    key_id, secret = aws.create_user_key("mcloud-reader")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, ada)
    page.get_by_role("link", name="Cloud accounts").click()
    page.get_by_role("link", name="Connect AWS").click()
    # The set-up's values copy with one click.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator("#aws-onboarding [data-copy='#external-id']")
    copy.click()
    expect(copy).to_contain_text("Copied")
    external_id = page.locator("#external-id").inner_text()
    assert page.evaluate("navigator.clipboard.readText()") == external_id
    page.fill("input[name=name]", "aws-prod")
    page.get_by_label("An access key").check()
    page.fill("input[name=access_key_id]", key_id)
    page.fill("input[name=secret_access_key]", secret)
    page.get_by_label("Only these regions").check()
    page.get_by_label("eu-west-1").check()
    page.get_by_role("button", name="Add account").click()
    expect(page.get_by_role("heading", name="aws-prod")).to_be_visible()

    url_before = page.url
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Connected as arn:aws:iam::123456789012:user/mcloud-reader")
    assert page.url == url_before  # answered in place, no reload
    expect(page.get_by_text(secret)).to_have_count(0)
    screenshot(page, "cloud-account")
