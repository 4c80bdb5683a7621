"""The sites framework's Site, which allauth's e-mails read ("Hello from …"), kept in step
with SITE_NAME and SITE_URL after every migrate (and every flush of the test database)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


def site_sync(**kwargs: Any) -> None:
    from django.contrib.sites.models import Site

    Site.objects.update_or_create(
        pk=settings.SITE_ID,
        defaults={"domain": urlsplit(settings.SITE_URL).netloc, "name": settings.SITE_NAME},
    )
    Site.objects.clear_cache()
