"""The database's token buckets (`inventory.rate_limit`), used when no Redis is configured."""

from __future__ import annotations

from django.db import models


class RateBucket(models.Model):
    """One token bucket shared by every worker and host: how many tokens it held at
    `updated` (seconds since the epoch, as the limiter's clock tells them)."""

    key = models.CharField(max_length=120, primary_key=True)
    tokens = models.FloatField()
    updated = models.FloatField()

    def __str__(self) -> str:
        return f"rate bucket {self.key} ({self.tokens:.2f} tokens)"
