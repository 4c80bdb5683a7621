"""An owner deploys "hello": creates it from the generated form, plans it, approves it and
watches the apply's log stream in, then sees the outputs. A real task-queue worker (a qcluster
process on the database broker) runs Terraform, as in production."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.processes import running

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bundled(db) -> None:
    from provisioning.services.blueprints import blueprint_sync_bundled

    blueprint_sync_bundled()  # idempotent


@pytest.fixture
def worker(monkeypatch):
    """Tasks go to the database broker (not inline) and a qcluster process runs them."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    with running("qcluster", Q_WORKERS="1") as process:
        yield process


def test_deploy_hello_and_watch_the_apply(
    live_server, page: Page, log_in, alice, bundled, worker, screenshot
):
    page.set_viewport_size({"width": 1400, "height": 1000})
    log_in(page, alice)
    page.get_by_role("link", name="Provisioning").click()
    page.locator("#new-deployment").click()
    page.locator("#choose-hello").click()
    page.fill("#id_name", "hello-web")
    page.fill("#id_var_name", "Browser")
    page.fill("#id_var_sleep_seconds", "5")
    page.fill("#id_var_secret_token", "browser-secret-123")
    page.get_by_role("button", name="Create deployment").click()
    expect(page.get_by_role("heading", name=re.compile("hello-web"))).to_be_visible()

    page.locator("#plan").click()
    expect(page).to_have_url(re.compile(r"/provisioning/runs/\d+/$"))
    run_status = page.locator("#run-status")
    expect(run_status).to_have_text("Awaiting approval", timeout=60_000)
    log = page.locator("#run-log")
    expect(log).to_contain_text("Plan: 2 to add, 0 to change, 0 to destroy.")
    expect(page.locator("#plan-counts")).to_contain_text("2 to create")

    page.locator("#approve").click()
    expect(page.get_by_role("heading", name=re.compile(r"Apply #\d+"))).to_be_visible()
    # The greeting streams in while the provisioner still sleeps: the run is not over yet.
    expect(log).to_contain_text("Hello, Browser!", timeout=60_000)
    expect(run_status).to_have_text(re.compile("Running"))
    expect(page.locator("#log-live")).to_be_visible()

    expect(run_status).to_have_text("Applied", timeout=60_000)
    expect(log).to_contain_text("[mcloud] Applied.")
    outputs = page.locator("#outputs")
    expect(outputs).to_contain_text("Hello, Browser!")
    expect(outputs).to_contain_text("sensitive")
    expect(page.locator("#log-live")).to_have_count(0)
    assert "browser-secret-123" not in page.content()
    screenshot(page, "deployment")
