"""Create the first superuser when there is none (used by the run command and the image)."""

from __future__ import annotations

import secrets
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services import organization_create_personal


class Command(BaseCommand):
    help = "Create a superuser from SUPERUSER_EMAIL / SUPERUSER_PASSWORD when none exists."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists already.")
            return
        email = settings.SUPERUSER_EMAIL
        password = settings.SUPERUSER_PASSWORD
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(email=email, password=password)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        organization_create_personal(user=user)
        self.stdout.write(self.style.SUCCESS(f"Created the superuser {email}."))
        if generated:
            # Printed once, on the operator's terminal, and stored nowhere else.
            self.stdout.write(self.style.WARNING(f"Its password is: {password}"))
