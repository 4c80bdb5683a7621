"""Playwright with Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

# The README's pictures; bin/run-tests points its second, concurrent leg elsewhere.
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or README_SCREENSHOTS)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# bin/run-tests runs two legs at once on two cores: a click whose request syncs the sandbox,
# or a check of what a poll brings, may wait well past Playwright's defaults (30 s, 5 s).
expect.set_options(timeout=20_000)


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(90_000)
    return page


@pytest.fixture
def screenshot():
    """Save a screenshot for the README: `screenshot(page, "dashboard")`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _take(page, name: str, *, full_page: bool = True) -> None:
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)

    return _take


@pytest.fixture
def log_in(live_server):
    """Sign `user` in through the real log-in form."""
    from tests.conftest import PASSWORD

    def _log_in(page, user) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")

    return _log_in
