from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def api():
    """A client whose calls carry `Authorization: Bearer <token>`."""

    def _client(token: str) -> Client:
        return Client(headers={"Authorization": f"Bearer {token}"})

    return _client
