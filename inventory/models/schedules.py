"""Off-hours power schedules: which VMs to stop and start again, and when (`PowerSchedule`);
each occurrence the scheduler claimed (`ScheduleOccurrence`), and what it did to each VM
(`ScheduleTarget`). See `inventory.services.power_schedules` for the rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from inventory.models.resources import Resource, SavedView

# A VM tagged mcloud-schedule=skip is never stopped or started by a schedule.
SKIP_TAG, SKIP_VALUE = "mcloud-schedule", "skip"


def empty_week() -> list[dict[str, str]]:
    return [{"stop": "", "start": ""} for _ in range(7)]


class PowerSchedule(models.Model):
    """Stop the VMs a selector matches at the week's stop times, and start the ones it stopped
    at its start times, in the schedule's time zone."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    time_zone = models.CharField(max_length=64, help_text="An IANA zone, e.g. Europe/Paris.")
    week = models.JSONField(
        default=empty_week,
        help_text='Monday first: seven {"stop": "HH:MM", "start": "HH:MM"} ("" for none).',
    )
    saved_view = models.ForeignKey(
        SavedView, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tag_filter = models.CharField(max_length=200, blank=True, help_text="key or key=value")
    enabled = models.BooleanField(default=True)
    active_since = models.DateTimeField(
        default=timezone.now,
        help_text="Occurrences due before this (its last enabling or change) never run.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="powerschedule_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def selector_label(self) -> str:
        if self.tag_filter:
            return f"tag {self.tag_filter}"
        if self.saved_view_id is not None:
            return f"saved view {self.saved_view}"
        return "nothing (its saved view was deleted)"


class ScheduleOccurrence(models.Model):
    """One stop or start of a schedule, claimed by the one worker that inserted this row (the
    unique constraint): it holds the row's lease while it works, and a worker that takes over
    an expired lease carries on with the VMs that have no target yet."""

    class Kind(models.TextChoices):
        STOP = "stop", "Stop"
        START = "start", "Start"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(
        PowerSchedule, on_delete=models.CASCADE, related_name="occurrences"
    )
    kind = models.CharField(max_length=5, choices=Kind.choices)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    claimed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "due_at", "kind"], name="occurrence_unique_time"
            )
        ]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"{self.kind} of schedule {self.schedule_id} due {self.due_at:%Y-%m-%d %H:%M}Z"


class ScheduleTarget(models.Model):
    """What an occurrence did to one VM: the action run it queued, or why it left it alone.
    One per (occurrence, VM): written with the run in one transaction, so a VM is acted on
    once per occurrence whoever carries it out."""

    occurrence = models.ForeignKey(
        ScheduleOccurrence, on_delete=models.CASCADE, related_name="targets"
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    action_run = models.ForeignKey(
        "inventory.ActionRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "resource"], name="scheduletarget_unique_resource"
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurrence} -> {self.resource_id}"
