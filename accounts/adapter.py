"""allauth hooks: a personal organization at sign-up, invitations accepted at log-in."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from accounts.audit import client_ip
from accounts.models import User
from accounts.services import invitations_accept_for_user, organization_create_personal
from accounts.tenancy import set_current_organization


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        user = super().save_user(request, user, form, commit)
        if commit:
            organization_create_personal(user=user)
        return user

    def post_login(self, request: HttpRequest, user: User, **kwargs: Any) -> HttpResponse:
        joined = invitations_accept_for_user(user=user, ip=client_ip(request))
        for membership in joined:
            messages.success(
                request, f"You joined {membership.organization.name} as {membership.role}."
            )
        if joined:
            set_current_organization(request, joined[-1].organization)
        return super().post_login(request, user, **kwargs)
