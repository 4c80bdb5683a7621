from __future__ import annotations

import pytest
from django.test import Client
from django.test.client import RequestFactory

from accounts.models import Membership, User
from accounts.roles import Role
from accounts.tokens import token_create


@pytest.fixture
def token_for():
    """A bearer token for `user` in their first organization (or `organization`)."""

    def _make(user: User, role: Role | None = None, organization=None, **kwargs) -> str:
        membership = Membership.objects.filter(user=user).select_related("organization")
        membership = (
            membership.get(organization=organization)
            if organization
            else membership.order_by("id").first()
        )
        request = RequestFactory().post("/")
        request.user = user
        _, value = token_create(
            user=user,
            organization=membership.organization,
            name="test",
            role=role or membership.role_enum,
            expires_in_days=kwargs.get("days"),
            request=request,
        )
        return value

    return _make


@pytest.fixture
def api():
    """A client whose calls carry `Authorization: Bearer <token>`."""

    def _client(token: str) -> Client:
        return Client(headers={"Authorization": f"Bearer {token}"})

    return _client
