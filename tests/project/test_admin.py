"""Every model is in the admin, and its list and change pages render for staff."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from accounts.audit import audit_record
from accounts.models import Invitation, User

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "inventory", "billing", "provisioning"}


def test_every_model_of_our_apps_is_registered():
    missing = [
        m.__name__
        for m in apps.get_models()
        if m._meta.app_label in OUR_APPS and not admin.site.is_registered(m)
    ]
    assert missing == []


def test_the_admin_pages_render_for_staff(client, alice, org):
    staff = User.objects.create_superuser(email="root@example.test", password="x" * 20)
    audit_record(organization=org, actor=alice, action="member.added")
    Invitation.objects.create(
        organization=org, email="i@x.test", token_hash="h" * 64, expires_at="2999-01-01T00:00:00Z"
    )
    client.force_login(staff)
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(changelist, {"q": "a"})
        assert response.status_code == 200, changelist
        obj = model._default_manager.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change


def test_the_admin_never_shows_an_invitation_token_hash(client, org):
    staff = User.objects.create_superuser(email="root@example.test", password="x" * 20)
    invitation = Invitation.objects.create(
        organization=org, email="i@x.test", token_hash="f" * 64, expires_at="2999-01-01T00:00:00Z"
    )
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_invitation_change", args=[invitation.pk]))
    assert b"f" * 64 not in page.content


def test_the_admin_login_goes_through_allauth(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
