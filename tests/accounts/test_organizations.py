"""Creating, switching, renaming, deleting organizations; who may do which."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Organization
from accounts.roles import Role
from accounts.tenancy import SESSION_KEY

pytestmark = pytest.mark.django_db


def test_it_creates_an_organization_owned_by_its_creator(login, bob):
    client = login(bob)
    response = client.post(reverse("accounts:organization_create"), {"name": "Side project"})
    assert response.status_code == 302
    created = Organization.objects.get(name="Side project")
    assert Membership.objects.get(user=bob, organization=created).role == Role.OWNER
    assert client.session[SESSION_KEY] == created.pk


def test_it_refuses_a_blank_name(login, bob):
    response = login(bob).post(reverse("accounts:organization_create"), {"name": "   "})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert Organization.objects.count() == 1


def test_it_switches_between_the_users_organizations(login, bob, charlie, other_org, org):
    Membership.objects.create(organization=other_org, user=bob, role=Role.VIEWER)
    client = login(bob)
    assert b"Umbrella" in client.get(reverse("home")).content  # offered in the switcher
    client.post(reverse("accounts:organization_switch"), {"organization": other_org.pk})
    assert client.session[SESSION_KEY] == other_org.pk
    page = client.get(reverse("accounts:member_list")).content
    assert b"charlie@umbrella.test" in page
    assert b"alice@acme.test" not in page


def test_it_refuses_to_switch_to_a_foreign_organization(login, bob, other_org, org):
    client = login(bob)
    response = client.post(
        reverse("accounts:organization_switch"), {"organization": other_org.pk}, follow=True
    )
    assert b"You are not a member of that organization" in response.content
    assert client.session[SESSION_KEY] == org.pk


def test_it_ignores_an_offsite_next_url_when_switching(login, bob, org):
    response = login(bob).post(
        reverse("accounts:organization_switch"),
        {"organization": org.pk, "next": "https://evil.example/"},
    )
    assert response.url == reverse("home")


@pytest.mark.parametrize(
    ("name", "status"), [("alice", 200), ("ada", 403), ("bob", 403), ("vera", 403)]
)
def test_only_owners_reach_the_settings(login, team, name, status):
    assert login(team[name]).get(reverse("accounts:organization_settings")).status_code == status


def test_an_owner_renames_the_organization(login, alice, org):
    login(alice).post(reverse("accounts:organization_settings"), {"name": "Acme Corp"})
    org.refresh_from_db()
    assert org.name == "Acme Corp"
    assert AuditEvent.objects.get(action="organization.renamed").data == {
        "from": "Acme",
        "to": "Acme Corp",
    }


def test_deleting_needs_the_exact_name(login, alice, org):
    client = login(alice)
    response = client.post(
        reverse("accounts:organization_delete"), {"confirm_name": "acme"}, follow=True
    )
    assert b"Type the organization&#x27;s name exactly" in response.content
    assert Organization.objects.filter(pk=org.pk).exists()
    client.post(reverse("accounts:organization_delete"), {"confirm_name": "Acme"})
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert AuditEvent.objects.filter(
        action="organization.deleted", data__organization="Acme"
    ).exists()


def test_an_admin_cannot_delete_or_transfer(login, ada, bob, org):
    client = login(ada)
    bob_m = Membership.objects.get(user=bob)
    assert (
        client.post(reverse("accounts:organization_delete"), {"confirm_name": "Acme"}).status_code
        == 403
    )
    assert (
        client.post(reverse("accounts:ownership_transfer"), {"membership": bob_m.pk}).status_code
        == 403
    )
    assert Organization.objects.filter(pk=org.pk).exists()


def test_a_user_without_organization_is_sent_to_create_one(login, bob, org):
    client = login(bob)
    Membership.objects.filter(user=bob).delete()
    response = client.get(reverse("home"))
    assert response.url == reverse("accounts:organization_create")
    htmx = client.get(reverse("accounts:member_list"), headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == reverse("accounts:organization_create")


def test_anonymous_users_are_sent_to_log_in(client, org):
    for name in (
        "home",
        "accounts:member_list",
        "accounts:audit_log",
        "accounts:organization_settings",
        "accounts:organization_list",
    ):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


def test_htmx_requests_carry_the_csrf_token(login, bob):
    page = login(bob).get(reverse("home")).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    # htmx is served from our own static files, never a CDN.
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in page
    assert 'src="http' not in page
