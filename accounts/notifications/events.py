"""The events mcloud tells people about: one vocabulary, for channels and personal e-mail."""

from __future__ import annotations

from django.db import models


class Event(models.TextChoices):
    PLAN_AWAITING_APPROVAL = "plan.awaiting_approval", "Plan awaiting approval"
    RUN_APPLIED = "run.applied", "Run applied"
    RUN_FAILED = "run.failed", "Run failed"
    DRIFT_FOUND = "drift.found", "Drift found"
    POLICY_OVERRIDE = "policy.override", "Policy overridden"
    BUDGET_THRESHOLD = "budget.threshold", "Budget threshold crossed"
    COST_ANOMALY = "cost.anomaly", "Cost anomaly"
    ACCOUNT_PAUSED = "account.paused", "Cloud account paused"
    SYNC_FAILING = "sync.failing", "Sync failing repeatedly"


# A test message from a channel's page: not an event anyone subscribes to.
TEST = "test"
TEST_LABEL = "Test message"

# What admins and owners are e-mailed about until they choose otherwise: failures and what
# waits for them (approvals, overrides), not the news that things went well.
ADMIN_DEFAULTS = frozenset(Event) - {Event.RUN_APPLIED}


def event_label(value: str) -> str:
    return TEST_LABEL if value == TEST else Event(value).label
