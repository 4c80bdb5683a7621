"""An organization's billing settings: its currency and rates, its webhook secret, and the
tag keys it allocates costs by."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from accounts.audit import audit_record
from accounts.models import Organization, User
from billing.models import BillingSettings
from billing.services.budgets import budgets_evaluate
from mcloud.egress.signing import signing_secret_new


@transaction.atomic
def billing_settings_save(
    *,
    organization: Organization,
    currency: str,
    rates: dict[str, Decimal | float],
    user: User,
    ip: str | None = None,
) -> BillingSettings:
    """New totals currency and rates; budgets are evaluated again, since totals change."""
    settings = BillingSettings.stored(organization)
    settings.currency, settings.rates = currency, rates
    settings.save(update_fields=["currency", "rates"])
    audit_record(
        organization=organization, action="billing.settings_updated", target=settings,
        actor=user, ip=ip, data={"currency": settings.currency, "rates": settings.rates},
    )  # fmt: skip
    budgets_evaluate(organization=organization)
    return settings


@transaction.atomic
def webhook_secret_reset(*, organization: Organization, user: User, ip: str | None = None) -> str:
    """A new secret for the organization's webhooks; the caller shows it once."""
    settings = BillingSettings.stored(organization)
    settings.webhook = {"secret": signing_secret_new()}
    settings.save(update_fields=["webhook"])
    audit_record(
        organization=organization, action="billing.webhook_secret_reset", target=settings,
        actor=user, ip=ip,
    )  # fmt: skip
    return settings.webhook["secret"]


@transaction.atomic
def allocation_keys_save(
    *, organization: Organization, keys: list[str], user: User, ip: str | None = None
) -> BillingSettings:
    """The tag keys costs are allocated by (validated by AllocationKeysForm). A new key's
    costs are back-filled by the next import of each account."""
    settings = BillingSettings.stored(organization)
    before = list(settings.allocation_keys)
    settings.allocation_keys = keys
    settings.save(update_fields=["allocation_keys"])
    audit_record(
        organization=organization, action="billing.allocation_keys_updated", target=settings,
        actor=user, ip=ip, data={"keys": keys, "before": before},
    )  # fmt: skip
    return settings
