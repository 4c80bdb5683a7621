"""Adding members, invitations, roles, and the protection of the last owner."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent, Invitation, Membership, User
from accounts.roles import Role
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_it_lists_members_for_every_role(login, team, org):
    for name in ("alice", "ada", "bob", "vera"):
        response = login(team[name]).get(reverse("accounts:member_list"))
        assert response.status_code == 200
        assert b"bob@acme.test" in response.content
        assert b"charlie@umbrella.test" not in response.content


def test_it_shows_the_add_form_only_to_admins(login, team):
    assert b"Add a member" in login(team["ada"]).get(reverse("accounts:member_list")).content
    assert b"Add a member" not in login(team["bob"]).get(reverse("accounts:member_list")).content


def test_an_existing_user_is_invited_and_joins_only_on_accepting(login, client, alice, org):
    dora = make_user("dora@example.test")
    response = login(alice).post(
        reverse("accounts:member_add"), {"email": "DORA@example.test", "role": "viewer"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(organization=org, user=dora).exists()
    assert mail.outbox[-1].to == ["DORA@example.test"]  # as typed: nothing said of accounts
    event = AuditEvent.objects.get(action="member.invited")
    assert event.organization == org
    assert event.actor == alice
    assert event.data == {"email": "DORA@example.test", "role": "viewer"}
    assert event.ip_address == "127.0.0.1"
    link = re.search(r"https?://[^/\s]+(/invitations/\S+)", mail.outbox[-1].body).group(1)

    # Logging in is no consent: she joins when she accepts.
    client.post(reverse("account_login"), {"login": "dora@example.test", "password": PASSWORD})
    assert not Membership.objects.filter(organization=org, user=dora).exists()
    client.post(link)
    assert Membership.objects.get(organization=org, user=dora).role == Role.VIEWER


def test_inviting_an_existing_user_reads_the_same_as_a_new_address(login, alice, org):
    make_user("dora@example.test")
    client = login(alice)
    answers, mails = [], []
    for email in ("dora@example.test", "nobody@example.test"):
        response = client.post(
            reverse("accounts:member_add"), {"email": email, "role": "member"}, follow=True
        )
        notes = response.content.decode().split('<div id="messages">')[1].split("</main>")[0]
        answers.append(notes.split("<h1")[0].replace(email, "EMAIL"))
        message = mail.outbox[-1]
        mails.append((message.subject, re.sub(r"/invitations/\S+", "LINK", message.body)))
    assert "An invitation was sent to EMAIL." in answers[0]
    assert answers[0] == answers[1]
    assert mails[0] == mails[1]


def test_an_unknown_address_is_invited_and_joins_after_signup(login, client, ada, org):
    login(ada).post(
        reverse("accounts:member_add"), {"email": "erin@example.test", "role": "member"}
    )
    invitation = Invitation.objects.get(organization=org)
    assert invitation.email == "erin@example.test"
    link = re.search(r"https?://[^/\s]+(/invitations/\S+)", mail.outbox[-1].body).group(1)
    assert link.split("/")[2] not in invitation.token_hash  # only the hash is stored

    page = client.get(link)
    assert page.status_code == 200
    assert b"Join Acme" in page.content
    # The link proves the mailbox: sign-up with this address needs no second verification.
    response = client.post(
        reverse("account_signup"),
        {"email": "erin@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    erin = User.objects.get(email="erin@example.test")
    assert Membership.objects.get(organization=org, user=erin).role == Role.MEMBER
    assert Membership.objects.filter(user=erin).count() == 2  # plus the personal one
    invitation.refresh_from_db()
    assert invitation.accepted_by == erin
    # The invited organization is the current one after joining.
    assert b"Acme" in client.get(reverse("home")).content


def test_an_invitation_for_someone_else_is_refused(login, client, ada, bob, org):
    login(ada).post(
        reverse("accounts:member_add"), {"email": "frank@example.test", "role": "admin"}
    )
    link = re.search(r"(/invitations/\S+)", mail.outbox[-1].body).group(1)
    response = login(bob).post(link, follow=True)
    assert b"was sent to frank@example.test" in response.content
    assert not Invitation.objects.get().accepted_at


def test_a_used_or_revoked_invitation_link_is_not_valid(login, client, ada, org):
    login(ada).post(reverse("accounts:member_add"), {"email": "gil@example.test", "role": "member"})
    link = re.search(r"(/invitations/\S+)", mail.outbox[-1].body).group(1)
    invitation = Invitation.objects.get()
    login(ada).post(reverse("accounts:invitation_revoke", args=[invitation.pk]))
    assert client.get(link).status_code == 404
    assert AuditEvent.objects.filter(action="member.invitation_revoked").exists()


@pytest.mark.parametrize("actor", ["bob", "vera"])
def test_members_and_viewers_cannot_manage_members(login, team, org, actor):
    client = login(team[actor])
    target = Membership.objects.get(user=team["vera" if actor == "bob" else "bob"])
    assert (
        client.post(
            reverse("accounts:member_add"), {"email": "x@example.test", "role": "owner"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("accounts:member_role", args=[target.pk]), {"role": "owner"}
        ).status_code
        == 403
    )
    assert client.post(reverse("accounts:member_remove", args=[target.pk])).status_code == 403
    assert Membership.objects.filter(organization=org).count() == 4
    assert not Invitation.objects.exists()


def test_an_admin_cannot_grant_or_take_the_owner_role(login, ada, alice, bob, org):
    client = login(ada)
    bob_m = Membership.objects.get(user=bob)
    alice_m = Membership.objects.get(user=alice)
    response = client.post(
        reverse("accounts:member_role", args=[bob_m.pk]), {"role": "owner"}, follow=True
    )
    assert b"Only an owner can grant or take away the owner role" in response.content
    client.post(reverse("accounts:member_remove", args=[alice_m.pk]))
    assert Membership.objects.get(pk=bob_m.pk).role == Role.MEMBER
    assert Membership.objects.filter(pk=alice_m.pk).exists()
    # Roles below owner are fine.
    client.post(reverse("accounts:member_role", args=[bob_m.pk]), {"role": "viewer"})
    assert Membership.objects.get(pk=bob_m.pk).role == Role.VIEWER
    assert AuditEvent.objects.get(action="member.role_changed").data == {
        "email": "bob@acme.test",
        "from": "member",
        "to": "viewer",
    }


def test_the_last_owner_cannot_be_demoted_or_leave(login, alice, ada, org):
    client = login(alice)
    alice_m = Membership.objects.get(user=alice)
    response = client.post(
        reverse("accounts:member_role", args=[alice_m.pk]), {"role": "admin"}, follow=True
    )
    assert b"The last owner cannot be demoted" in response.content
    assert Membership.objects.get(pk=alice_m.pk).role == Role.OWNER
    response = client.post(reverse("accounts:organization_leave"), follow=True)
    assert b"The last owner cannot leave" in response.content
    assert Membership.objects.filter(pk=alice_m.pk).exists()


def test_an_owner_can_leave_once_there_is_another_owner(login, alice, ada, org):
    ada_m = Membership.objects.get(user=ada)
    login(alice).post(reverse("accounts:ownership_transfer"), {"membership": ada_m.pk})
    assert Membership.objects.get(user=ada).role == Role.OWNER
    assert Membership.objects.get(user=alice).role == Role.ADMIN
    response = login(alice).post(reverse("accounts:organization_leave"))
    assert response.status_code == 302
    assert not Membership.objects.filter(user=alice, organization=org).exists()
    assert AuditEvent.objects.filter(action="member.left", actor=alice).exists()


def test_it_checks_ownership(login, charlie, bob, org):
    """charlie, of another organization, gets a 404 for every object of Acme."""
    client = login(charlie)
    bob_m = Membership.objects.get(user=bob)
    invitation = Invitation.objects.create(
        organization=org,
        email="z@example.test",
        token_hash="x" * 64,
        expires_at="2999-01-01T00:00:00Z",
    )
    assert (
        client.post(
            reverse("accounts:member_role", args=[bob_m.pk]), {"role": "viewer"}
        ).status_code
        == 404
    )
    assert client.post(reverse("accounts:member_remove", args=[bob_m.pk])).status_code == 404
    assert (
        client.post(reverse("accounts:invitation_revoke", args=[invitation.pk])).status_code == 404
    )
    assert (
        client.post(reverse("accounts:ownership_transfer"), {"membership": bob_m.pk}).status_code
        == 404
    )
    assert Membership.objects.get(pk=bob_m.pk).role == Role.MEMBER
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_the_member_list_runs_a_fixed_number_of_queries(
    login, alice, org, django_assert_max_num_queries
):
    client = login(alice)
    for i in range(3):
        Membership.objects.create(organization=org, user=make_user(f"u{i}@x.test"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("accounts:member_list"))
    for i in range(3, 60):
        Membership.objects.create(organization=org, user=make_user(f"u{i}@x.test"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("accounts:member_list"))
    assert b"u59@x.test" in response.content
