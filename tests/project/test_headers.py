"""Security headers on every page: a Content Security Policy without inline script."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_carry_a_csp_without_inline_script(client, login, alice):
    for response in (client.get(reverse("account_login")), login(alice).get(reverse("home"))):
        policy = response["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]*)", policy).group(1)
        assert script_src == "'self'"
        assert "frame-ancestors 'none'" in policy
        assert "object-src 'none'" in policy
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        # Every script of the page is a file of ours: no inline code the CSP would block.
        for tag in re.findall(r"<script\b[^>]*>", response.content.decode()):
            assert 'src="/static/' in tag, tag
