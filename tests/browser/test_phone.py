"""Every main page on a phone (390 px wide), over the sandbox estate: nothing scrolls the page
sideways, a table wider than the screen scrolls inside its own box, and the menu opens. The
inventory shows cards, not its table, on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# What overflows on a page: the page itself, and each table wider than the screen that no
# box of its own scrolls (an ancestor with overflow-x auto or scroll, itself on the screen).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const problems = [];
  const page = document.scrollingElement.scrollWidth;
  if (page > width) {
    const wide = [...document.querySelectorAll("body *")].filter(e => {
      const box = e.getBoundingClientRect();
      return box.width > 0 && box.right > width + 1;
    }).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
      + "." + [...e.classList].join(".") + " right=" + Math.round(e.getBoundingClientRect().right));
    problems.push("the page scrolls sideways (" + page + " px): " + wide.join(", "));
  }
  for (const table of document.querySelectorAll("table")) {
    const box = table.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let e = table.parentElement, boxed = false;
    while (e && e !== document.body) {
      const x = getComputedStyle(e).overflowX;
      if ((x === "auto" || x === "scroll") && e.getBoundingClientRect().right <= width + 1) {
        boxed = true; break;
      }
      e = e.parentElement;
    }
    if (!boxed) problems.push("table " + (table.id || table.className) + " overflows unboxed");
  }
  return problems;
}"""


def _pages(organization) -> dict[str, str]:
    from inventory.models import CloudAccount, Resource
    from provisioning.models import Blueprint, Deployment

    account = CloudAccount.objects.filter(organization=organization).order_by("pk").first()
    resource = Resource.objects.filter(organization=organization, type="vm").first()
    deployment = Deployment.objects.filter(organization=organization).first()
    blueprint = Blueprint.objects.filter(slug="hello").first()
    assert account, "no account"
    assert resource, "no VM"
    assert deployment, "no deployment"
    assert deployment.last_run_id, "no run"
    assert blueprint, "no hello blueprint"
    return {
        "dashboard": "/",
        "inventory": "/inventory/",
        "virtual machines": "/inventory/vms/",
        "resource page": f"/inventory/resources/{resource.pk}/",
        "accounts": "/cloud-accounts/",
        "account page": f"/cloud-accounts/{account.pk}/",
        "account form": f"/cloud-accounts/{account.pk}/edit/",
        "billing": "/billing/?period=last_30",
        "anomalies": "/billing/anomalies/",
        "budgets": "/billing/budgets/",
        "savings": "/billing/savings/",
        "allocation": "/billing/allocation/",
        "billing settings": "/billing/settings/",
        "deployments": "/provisioning/",
        "deployment": f"/provisioning/deployments/{deployment.pk}/",
        "run": f"/provisioning/runs/{deployment.last_run_id}/",
        "blueprints": "/provisioning/blueprints/",
        "blueprint": f"/provisioning/blueprints/{blueprint.pk}/",
        "policies": "/provisioning/policies/",
        "organization": "/organization/",
        "members": "/organization/members/",
        "settings": "/organization/settings/",
        "audit log": "/organization/audit/",
        "notifications": "/organization/notifications/",
        "notification e-mails": "/organization/notifications/e-mail/",
        "API tokens": "/account/tokens/",
    }


def test_every_main_page_fits_a_phone(live_server, page: Page, log_in, sandbox, alice, screenshot):
    from accounts.models import Organization

    page.set_viewport_size(PHONE)
    log_in(page, alice)
    # The menu opens on a phone, and leads where it says.
    expect(page.get_by_role("link", name="Cloud accounts")).to_be_hidden()
    page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_role("link", name="Cloud accounts").click()
    # The sandbox syncs and plans inline in this request: minutes on a busy machine.
    page.get_by_role("button", name="Load a sandbox estate").click(timeout=300_000)
    expect(page.get_by_text("Sandbox is ready")).to_be_visible(timeout=300_000)

    problems: dict[str, list[str]] = {}
    for name, path in _pages(Organization.objects.get(name="Sandbox")).items():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None, (name, path)
        assert response.status == 200, (name, path)
        page.wait_for_load_state("networkidle")
        found = page.evaluate(OVERFLOW)
        if found:
            problems[name] = found
    assert not problems, problems

    # A wide table stacks its rows as small cards, each cell after its column's name; one
    # that refreshes itself (a deployment's runs) stays stacked after the swap.
    pages = _pages(Organization.objects.get(name="Sandbox"))
    page.goto(f"{live_server.url}{pages['deployment']}")
    runs = page.locator("#runs table")
    expect(runs.locator("thead")).to_be_hidden()
    expect(runs.locator("tbody tr").first.locator("td[data-label='Status']")).to_be_visible()
    page.evaluate("htmx.ajax('GET', location.pathname, {target: '#runs', swap: 'outerHTML'})")
    expect(runs.locator("tbody tr").first.locator("td[data-label='Status']")).to_be_visible()

    # The inventory shows cards on a phone, not the table, each with what a person looks
    # for first.
    page.goto(f"{live_server.url}/inventory/?type=vm")
    cards = page.locator("#resource-cards .resource-card")
    expect(cards.first).to_be_visible()
    expect(page.locator("#resource-table")).to_be_hidden()
    first = cards.first
    expect(first.locator(".resource-status")).to_be_visible()
    expect(first.locator(".provider-badge")).to_be_visible()
    expect(first.locator(".resource-region")).to_be_visible()
    expect(first.locator(".resource-cost")).to_contain_text("/month")
    screenshot(page, "inventory-phone", full_page=False)  # the first screen, as a phone shows it
