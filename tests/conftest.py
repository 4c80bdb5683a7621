"""Shared fixtures: one organization, Acme, with alice (owner), ada (admin), bob (member)
and vera (viewer); and charlie, the outsider, who owns another organization."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import Membership, Organization, User
from accounts.roles import Role
from accounts.tenancy import SESSION_KEY

PASSWORD = "correct horse battery staple 42"


def make_user(email: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="Acme", slug="acme")


@pytest.fixture
def other_org(db) -> Organization:
    return Organization.objects.create(name="Umbrella", slug="umbrella")


def _member(org: Organization, email: str, role: Role) -> User:
    user = make_user(email)
    Membership.objects.create(organization=org, user=user, role=role)
    return user


@pytest.fixture
def alice(org) -> User:
    return _member(org, "alice@acme.test", Role.OWNER)


@pytest.fixture
def ada(org) -> User:
    return _member(org, "ada@acme.test", Role.ADMIN)


@pytest.fixture
def bob(org) -> User:
    return _member(org, "bob@acme.test", Role.MEMBER)


@pytest.fixture
def vera(org) -> User:
    return _member(org, "vera@acme.test", Role.VIEWER)


@pytest.fixture
def charlie(other_org) -> User:
    return _member(other_org, "charlie@umbrella.test", Role.OWNER)


@pytest.fixture
def team(alice, ada, bob, vera, charlie) -> dict[str, User]:
    return {"alice": alice, "ada": ada, "bob": bob, "vera": vera, "charlie": charlie}


@pytest.fixture
def login() -> Callable[[User], Client]:
    """A client signed in as `user`, with the user's first organization current."""

    def _login(user: User, organization: Organization | None = None) -> Client:
        client = Client()
        client.force_login(user)
        if organization is None:
            organization = user.memberships.order_by("id").first().organization
        session = client.session
        session[SESSION_KEY] = organization.pk
        session.save()
        return client

    return _login
