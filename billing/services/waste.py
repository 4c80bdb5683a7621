"""Keeping the waste findings (`billing.waste`) in step with the inventory, and dismissing them.

- A refresh runs every rule over the organization and writes the result in one bulk pass:
  new findings created, changed ones updated, those no rule finds any more deleted.
- A dismissed finding stays dismissed while its fingerprint (what it rests on) is the same;
  when that changes, the dismissal is cleared and the finding shows again.
- Dismissing needs a reason and is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organization, User
from billing.models import Finding
from billing.waste import findings

UPDATED = (
    "saving",
    "currency",
    "basis",
    "details",
    "fingerprint",
    "updated_at",
    "dismissed_at",
    "dismissed_by",
    "dismiss_reason",
)


def findings_refresh(*, organization: Organization, now: datetime | None = None) -> int:
    """Store what the rules find now; returns how many findings there are."""
    now = now or timezone.now()
    found = findings(organization=organization, now=now)
    with transaction.atomic():
        stored = {
            (f.resource_id, f.rule): f
            for f in Finding.objects.select_for_update().filter(organization=organization)
        }
        create, update = [], []
        for item in found:
            fingerprint = item.fingerprint
            row = stored.pop((item.resource.pk, item.rule), None)
            if row is None:
                create.append(
                    Finding(
                        organization=organization,
                        account_id=item.resource.account_id,
                        resource=item.resource,
                        rule=item.rule,
                        saving=item.saving,
                        currency=item.currency,
                        basis=item.basis,
                        details=item.details,
                        fingerprint=fingerprint,
                        created_at=now,
                        updated_at=now,
                    )
                )
                continue
            if row.fingerprint != fingerprint:
                row.dismissed_at, row.dismissed_by, row.dismiss_reason = None, None, ""
            row.saving, row.currency, row.basis = item.saving, item.currency, item.basis
            row.details, row.fingerprint, row.updated_at = item.details, fingerprint, now
            update.append(row)
        Finding.objects.bulk_create(create, batch_size=500)
        Finding.objects.bulk_update(update, UPDATED, batch_size=500)
        if stored:
            Finding.objects.filter(pk__in=[f.pk for f in stored.values()]).delete()
    return len(found)


def finding_dismiss(*, finding: Finding, user: User, reason: str, ip: str | None = None) -> Finding:
    """Dismiss a finding with a reason, audited; one dismissed already stays as it was."""
    reason = reason.strip()[:500]
    if not reason:
        raise ValueError("Say why the finding is dismissed.")
    done = Finding.objects.filter(pk=finding.pk, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now(), dismissed_by=user, dismiss_reason=reason
    )
    finding.refresh_from_db()
    if done:
        audit_record(
            organization=finding.organization,
            action="costs.finding_dismissed",
            target=finding,
            actor=user,
            ip=ip,
            data={"rule": finding.rule, "resource": finding.resource_id, "reason": reason},
        )
    return finding


def refresh_after_sync(account: Any, run: Any) -> None:
    findings_refresh(organization=account.organization)
