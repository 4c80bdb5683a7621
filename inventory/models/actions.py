"""Actions on resources (start, stop, reboot a VM; delete or release a waste finding's
resource): one `ActionRun` per request, the lease that keeps one action per resource at a time
(`mcloud.leases`), a `BulkAction` that asks one action of many resources at once (a run each),
and the organization's approval rule for clean-ups."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Organization
from inventory.models.resources import Resource
from inventory.models.runs import TimedRun
from mcloud.clouds.base import VM_ACTIONS, Cleanup, VmAction


class ResourceActionLease(models.Model):
    """The lease an action on the resource holds while it works (`mcloud.leases`): one action
    per resource at a time on every host. A row of its own, so that taking it never writes the
    resources table that syncs write in bulk."""

    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, primary_key=True, related_name="action_lease"
    )
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"action lease of resource {self.resource_id}"


class BulkAction(TimedRun):
    """One action asked of many resources (a selection, or everything a filter matched): a
    run per resource (`ActionRun.bulk`), and once they are all final, one re-sync of each
    scope they changed. The figures come from its runs."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SETTLING = "settling", "Refreshing the inventory"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        MANUAL = "manual", "Inventory page"
        API = "api", "API"
        SCHEDULE = "schedule", "Schedule"

    FINAL = (State.FINISHED, State.CANCELLED)

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(
        max_length=10,
        choices=[(VmAction.START, "Start"), (VmAction.STOP, "Stop"), (VmAction.REBOOT, "Reboot")],
    )
    status = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    selection = models.CharField(
        max_length=300, blank=True, help_text='What was chosen, in words: "12 selected rows".'
    )
    total = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resync_notes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["organization", "-queued_at"])]

    def __str__(self) -> str:
        return f"bulk {self.action} of {self.total} resources ({self.status})"


class ActionRun(TimedRun):
    """One action asked of one resource: who asked, what, its progress and the provider's
    answer. `noop` is a success that changed nothing (starting a running VM)."""

    class Action(models.TextChoices):
        START = VmAction.START, "Start"
        STOP = VmAction.STOP, "Stop"
        REBOOT = VmAction.REBOOT, "Reboot"
        DELETE = Cleanup.DELETE, "Delete"
        RELEASE = Cleanup.RELEASE, "Release"

    # The actions a VM's page and the lists' bulk bar offer (clean-ups are offered on waste).
    VM_CHOICES = [(value, label) for value, label in Action.choices if value in VM_ACTIONS]

    class State(models.TextChoices):
        AWAITING = "awaiting", "Awaiting approval"  # a clean-up another admin must approve
        REJECTED = "rejected", "Rejected"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        NOOP = "noop", "Nothing to do"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"  # a bulk action's resource it did not act on
        CANCELLED = "cancelled", "Cancelled"  # its bulk action was cancelled before it ran

    FINAL = (
        State.SUCCEEDED,
        State.NOOP,
        State.FAILED,
        State.SKIPPED,
        State.CANCELLED,
        State.REJECTED,
    )

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="action_runs")
    action = models.CharField(max_length=10, choices=Action.choices)
    status = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(
        max_length=500, blank=True, help_text="The provider's answer, in words."
    )
    error = models.CharField(max_length=500, blank=True)
    code = models.CharField(max_length=64, blank=True, help_text="The provider's error code.")
    status_before = models.CharField(max_length=16, blank=True)
    status_after = models.CharField(
        max_length=16, blank=True, help_text="The resource's status after the re-sync."
    )
    resync_note = models.CharField(max_length=300, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    bulk = models.ForeignKey(
        BulkAction, null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )

    class Source(models.TextChoices):
        PERSON = "person", "A person"
        SCHEDULE = "schedule", "A power schedule"

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PERSON)
    schedule = models.ForeignKey(
        "inventory.PowerSchedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_runs",
        help_text="The off-hours schedule that asked for it (none: a person did).",
    )
    # A clean-up under the second-approver rule: who approved (or rejected) it, and when.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["resource", "-queued_at"]),
            models.Index(fields=["status"]),
            models.Index(fields=["bulk", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display().lower()} of {self.resource_id} ({self.status})"

    @property
    def outcome(self) -> str:
        """What the run ended with, as one sentence (or what it is doing)."""
        if self.status == self.State.FAILED:
            return self.error or "Failed."
        if self.status == self.State.CANCELLED:
            return self.message or "Cancelled before it started."
        if self.status == self.State.AWAITING:
            return "Waiting for another admin to approve it."
        if self.status == self.State.REJECTED:
            return self.message or "Rejected."
        if self.is_final:
            return self.message
        return "Waiting for a worker." if self.status == self.State.QUEUED else "Under way."


class ActionSettings(models.Model):
    """An organization's rules for actions on resources."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="action_settings"
    )
    require_second_approver = models.BooleanField(
        default=False,
        help_text="A clean-up (deleting a disk or snapshot, releasing an IP) that one admin "
        "asks for runs only once another admin approves it.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "action settings"

    def __str__(self) -> str:
        return f"action settings of organization {self.organization_id}"
