"""`manage.py demo`: the sandbox organization, synced from the local emulators.

Run it as often as you like: it completes what is missing and syncs again, never duplicates.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization, User
from inventory.extensions import SANDBOX_STEPS
from inventory.services.sandbox import sandbox_load, sandbox_sync
from mcloud.errors import ActionRefused

SLUG = "sandbox"


class Command(BaseCommand):
    help = "Load the sandbox estate (the emulators must run: `python -m emulators`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", help="E-mail of the owner (default: the first superuser).")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = (
            User.objects.filter(email__iexact=options["owner"]).first()
            if options["owner"]
            else User.objects.filter(is_superuser=True).order_by("pk").first()
        )
        if owner is None:
            raise CommandError("No such owner: create a superuser first, or pass --owner.")
        existing = Organization.objects.filter(slug=SLUG).first()
        try:
            organization = sandbox_load(owner=owner, organization=existing)
        except ActionRefused as refused:
            raise CommandError(refused.message) from None
        if existing is None and organization.slug != SLUG:
            organization.slug = SLUG
            organization.save(update_fields=["slug"])
        self.stdout.write(
            f"Organization {organization.name} ({organization.slug}), owned by {owner.email}."
        )
        for run in sandbox_sync(organization=organization):
            self.stdout.write(f"  {run.summary} [{run.get_status_display()}]")
        for step in SANDBOX_STEPS.values():
            self.stdout.write(f"  {step(organization, owner)}")
        self.stdout.write(
            self.style.SUCCESS(f"Done. Log in as {owner.email} and switch to {organization.name}.")
        )
