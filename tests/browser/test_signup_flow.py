"""A newcomer signs up, verifies the address, turns on TOTP and logs in with a code."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long passphrase for tests 2026"


def _totp(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_signup_verify_enable_mfa_and_log_in_with_a_code(live_server, page: Page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/accounts/signup/")
    screenshot(page, "signup")
    page.fill("input[name=email]", "newcomer@example.test")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="newcomer's organization")).to_be_visible()
    screenshot(page, "overview")

    page.goto(f"{live_server.url}/accounts/2fa/totp/activate/")
    # Logged in by the e-mail link, not a password: allauth asks for it before MFA changes.
    expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", _totp(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Authenticator app activated")).to_be_visible()

    page.click("#user-menu")
    page.click("#logout-button")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.fill("input[name=login]", "newcomer@example.test")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    page.fill("input[name=code]", _totp(secret))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="newcomer's organization")).to_be_visible()


def test_a_wrong_code_does_not_log_in(live_server, page: Page):
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.conftest import make_user

    user = make_user("mfa@example.test")
    user.set_password(PASSWORD)
    user.save()
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "mfa@example.test")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.fill("input[name=code]", "000000" if _totp("JBSWY3DPEHPK3PXP") != "000000" else "111111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    assert "/accounts/2fa/authenticate/" in page.url
