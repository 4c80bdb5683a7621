"""Re-encrypt every stored secret with the newest key of FIELD_ENCRYPTION_KEYS.

Rotate by putting a new key first in FIELD_ENCRYPTION_KEYS (keeping the old ones after it),
deploying, running this command, and then removing the old keys.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from mcloud import crypto
from mcloud.fields import EncryptedJSONField

# allauth keeps authenticator secrets inside its JSON `data`, encrypted by our MFA adapter.
_AUTHENTICATOR_KEYS = ("secret", "seed")


class Command(BaseCommand):
    help = "Re-encrypt every secret at rest with the first key of FIELD_ENCRYPTION_KEYS."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedJSONField)]
            if not fields:
                continue
            rows = model._default_manager.select_for_update().only("pk", *fields)
            for row in rows.iterator(chunk_size=500):
                row.save(update_fields=fields)  # decrypted with any key, saved with the first
                total += 1
            self.stdout.write(f"{model._meta.label}: re-encrypted {rows.count()} rows")
        authenticators = 0
        for authenticator in Authenticator.objects.select_for_update().iterator(chunk_size=500):
            keys = [k for k in _AUTHENTICATOR_KEYS if k in authenticator.data]
            for key in keys:
                authenticator.data[key] = crypto.rotate(authenticator.data[key])
            if keys:
                authenticator.save(update_fields=["data"])
                authenticators += 1
        self.stdout.write(f"MFA authenticators: re-encrypted {authenticators}")
        self.stdout.write(self.style.SUCCESS(f"Done: {total + authenticators} rows."))
