"""Blueprints, deployments, their runs and their Terraform state.

A deployment's life, in runs:

    plan:  queued -> running -> planned --approve--> approved  (-> an apply run)
                        |           `-- discard, or a newer plan --> discarded
                        `-> no changes (nothing to apply, nothing to approve), failed, cancelled
    apply: queued -> running -> applied, failed, cancelled

Approving and discarding take an optional comment, kept on the plan (and copied to its apply)
for the run's history. An apply of a destroy plan is labelled a destroy ("Destroy #7 ·
Destroyed"). A destroyed deployment can be archived: hidden from the list unless asked for.

A destroy is a plan of kind `destroy` (Terraform's `plan -destroy`), approved like any plan after
the approver types the deployment's name; its apply removes everything the deployment made.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from inventory.models import CloudAccount, TimedRun
from mcloud.clouds.registry import provider_choices
from mcloud.fields import EncryptedJSONField
from mcloud.leases import lease_is_live
from provisioning.fields import EncryptedBytesField
from provisioning.variables import Variable

# The variable a blueprint declares to get the deployment's id (for the mcloud-deployment tag):
# the app fills it in, the form never shows it.
DEPLOYMENT_ID_VARIABLE = "deployment_id"


def cloud_choices() -> list[tuple[str, str]]:
    """The cloud a blueprint's provider talks to (the registered providers); none ("") for
    blueprints like hello."""
    return provider_choices(blank="No cloud")


class Blueprint(models.Model):
    """A Terraform module users deploy. Bundled ones (organization NULL) are shared by all."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    latest_version = models.ForeignKey(
        "BlueprintVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(organization__isnull=True),
                name="blueprint_unique_bundled_slug",
            ),
            models.UniqueConstraint(
                fields=["organization", "slug"],
                condition=Q(organization__isnull=False),
                name="blueprint_unique_slug",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_bundled(self) -> bool:
        return self.organization_id is None


class BlueprintVersion(models.Model):
    """The files of a blueprint at one point, immutable; a deployment pins one."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    files = models.JSONField(help_text="Relative path -> text.")
    variables = models.JSONField(help_text="The root module's variables, as hcl.parse_variables.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the files.")
    cloud = models.CharField(max_length=10, choices=cloud_choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["blueprint", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "number"], name="blueprintversion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.blueprint.name} v{self.number}"

    def variable_list(self) -> list[Variable]:
        return [Variable(**v) for v in self.variables]

    def user_variables(self) -> list[Variable]:
        """The variables a person fills in (the app fills `deployment_id`)."""
        return [v for v in self.variable_list() if v.name != DEPLOYMENT_ID_VARIABLE]

    @property
    def sensitive_names(self) -> set[str]:
        return {v["name"] for v in self.variables if v["sensitive"]}


# How often drift checks run (hours; 0: never): a refresh-only plan per applied deployment.
DRIFT_CHECK_INTERVALS = [
    (0, "Off"), (6, "Every 6 hours"), (12, "Every 12 hours"), (24, "Daily"), (168, "Weekly"),
]  # fmt: skip


class ProvisioningSettings(models.Model):
    """An organization's provisioning rules."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="provisioning_settings"
    )
    require_second_approver = models.BooleanField(
        default=False,
        help_text="The person who approves a plan must not be the one who made it.",
    )
    drift_check_hours = models.PositiveSmallIntegerField(
        default=0,
        choices=DRIFT_CHECK_INTERVALS,
        help_text="How often a refresh-only plan checks each applied deployment for drift.",
    )  # fmt: skip
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "provisioning settings"

    def __str__(self) -> str:
        return f"provisioning settings of {self.organization}"


deployment_name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
    "Use up to 63 letters, digits, dots, hyphens and underscores, starting with a letter or digit.",
)


class Deployment(models.Model):
    """One instance of a blueprint version with its variable values, and its state."""

    class Status(models.TextChoices):
        NEW = "new", "Not applied yet"
        ACTIVE = "active", "Applied"
        FAILED = "failed", "Last apply failed"
        CANCELLED = "cancelled", "Last apply cancelled"
        DESTROYED = "destroyed", "Destroyed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="deployments"
    )
    name = models.CharField(max_length=63, validators=[deployment_name_validator])
    blueprint_version = models.ForeignKey(
        BlueprintVersion, on_delete=models.RESTRICT, related_name="deployments"
    )
    account = models.ForeignKey(
        CloudAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    variables = models.JSONField(default=dict, blank=True, help_text="Non-sensitive values.")
    sensitive_variables = EncryptedJSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    outputs = models.JSONField(
        default=dict, blank=True, help_text="name -> value, sensitive, type; sensitive values None."
    )
    last_run = models.ForeignKey(
        "DeploymentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Archived (destroyed ones only): not listed by default."
    )
    # The run lease (mcloud.leases): one run per deployment at a time, on every host.
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Terraform's state lock (the http backend's LOCK/UNLOCK), with Terraform's lock info.
    state_lock_id = models.CharField(max_length=64, blank=True, editable=False)
    state_lock_info = models.TextField(blank=True, editable=False)
    state_locked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The run whose Terraform took the lock: when its worker dies, recovery releases it.
    state_lock_run = models.ForeignKey(
        "DeploymentRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="deployment_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def blueprint(self) -> Blueprint:
        return self.blueprint_version.blueprint


class DeploymentRun(TimedRun):
    """One Terraform plan, destroy plan or apply of a deployment, with its log."""

    class Kind(models.TextChoices):
        PLAN = "plan", "Plan"
        DESTROY = "destroy", "Destroy plan"
        APPLY = "apply", "Apply"
        DRIFT = "drift", "Drift check"  # a refresh-only plan: never approved nor applied

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PLANNED = "planned", "Awaiting approval"  # a plan whose file is saved
        NO_CHANGES = "no_changes", "No changes"  # a plan with nothing to apply
        APPROVED = "approved", "Approved"  # a plan whose apply run was queued
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        DISCARDED = "discarded", "Discarded"  # a plan thrown away, or superseded by a newer one
        DRIFTED = "drifted", "Drift found"  # a drift check that found changes outside Terraform

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINAL = (
        Status.PLANNED,
        Status.NO_CHANGES,
        Status.APPROVED,
        Status.APPLIED,
        Status.FAILED,
        Status.CANCELLED,
        Status.DISCARDED,
        Status.DRIFTED,
    )
    PLAN_KINDS = (Kind.PLAN, Kind.DESTROY)

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    blueprint_version = models.ForeignKey(
        BlueprintVersion, on_delete=models.RESTRICT, related_name="+"
    )
    plan_run = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="apply_runs",
        help_text="For an apply: the plan whose saved file it applies.",
    )  # fmt: skip
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    discarded_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(
        max_length=500, blank=True, help_text="Left by who approved or discarded the plan."
    )
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, help_text="Why it failed; display-safe.")
    log = models.TextField(blank=True, default="", help_text="Terraform's output, appended live.")
    plan_summary = models.JSONField(default=dict, blank=True)
    # The plan file holds every variable value and a state snapshot: encrypted, and dropped once
    # the plan is applied or discarded.
    plan_file = EncryptedBytesField()
    state_serial = models.IntegerField(null=True, blank=True, help_text="Planned against it.")
    outputs = models.JSONField(default=dict, blank=True, help_text="Sensitive values are None.")
    cancel_requested = models.BooleanField(default=False)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    # `terraform show -json` of the plan, for policies: it holds variable values, so encrypted.
    plan_json = EncryptedJSONField()
    # The plan's monthly cost estimate from the price catalog (provisioning.plan_costs): no
    # variable values, only addresses, types and figures.
    cost_estimate = models.JSONField(null=True, blank=True, editable=False)
    # An owner's override of the mandatory policies this plan failed (see policy_models).
    policy_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy_override_at = models.DateTimeField(null=True, blank=True)
    policy_override_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["deployment", "-queued_at"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} of {self.deployment}"

    @property
    def is_plan(self) -> bool:
        return self.kind in self.PLAN_KINDS

    @property
    def worker_lost(self) -> bool:
        """Running, but the deployment's lease has expired or is another's: its worker is gone,
        and the next request for work (or the recovery schedule) fails it."""
        if self.status != self.Status.RUNNING:
            return False
        d = self.deployment
        return not lease_is_live(d.lease_until, d.lease_token, self.lease_token)

    @property
    def awaiting_approval(self) -> bool:
        return self.is_plan and self.status == self.Status.PLANNED

    @property
    def is_destroy(self) -> bool:
        """A destroy plan, or the apply of one (lists select `plan_run` for this)."""
        if self.kind == self.Kind.DESTROY:
            return True
        return (
            self.kind == self.Kind.APPLY
            and self.plan_run is not None  # no query when plan_run_id is None
            and self.plan_run.kind == self.Kind.DESTROY
        )

    @property
    def kind_label(self) -> str:
        """ "Plan", "Destroy plan", "Apply", or "Destroy" for the apply of a destroy plan."""
        if self.kind == self.Kind.APPLY and self.is_destroy:
            return "Destroy"
        return self.get_kind_display()

    @property
    def status_label(self) -> str:
        if self.status == self.Status.APPLIED and self.is_destroy:
            return "Destroyed"
        return self.get_status_display()

    @property
    def changes_label(self) -> str:
        """ "+2 ~0 ±1 -0", as the lists show a plan."""
        s = self.plan_summary or {}
        if not s:
            return ""
        if self.kind == self.Kind.DRIFT:
            return f"{s.get('drift', 0)} drifted" if s.get("drift") else ""
        return (
            f"+{s.get('create', 0)} ~{s.get('update', 0)} ±{s.get('replace', 0)} "
            f"-{s.get('destroy', 0)}"
        )


class DeploymentState(models.Model):
    """One version of a deployment's Terraform state, encrypted. The newest is the current."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="states")
    version = models.PositiveIntegerField()
    serial = models.IntegerField(null=True, blank=True)
    lineage = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    state = EncryptedBytesField()
    run = models.ForeignKey(
        DeploymentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["deployment", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "version"], name="deploymentstate_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"state v{self.version} of {self.deployment_id} (serial {self.serial})"


class DeploymentResource(models.Model):
    """A provider id in a deployment's current Terraform state: what makes a resource of the
    inventory managed (`inventory.managed`). Rewritten with every state saved, so a destroy
    (an empty state) clears them."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="state_resources"
    )
    address = models.CharField(max_length=255, help_text="Terraform's address of the resource.")
    provider_id = models.CharField(max_length=500)
    key = models.CharField(max_length=500, help_text="provider_id in lower case")
    expected = models.JSONField(
        default=dict, blank=True,
        help_text="What the state says of it (type, region, size, status, tags): drift checks.",
    )  # fmt: skip

    class Meta:
        indexes = [models.Index(fields=["organization", "key"])]

    def __str__(self) -> str:
        return f"{self.address} = {self.provider_id}"


# Policies and drift live in modules of their own; imported here so that Django finds them.
from provisioning.drift_models import DeploymentDrift  # noqa: E402
from provisioning.policy_models import Enforcement, Policy, PolicyResult, PolicySet  # noqa: E402

__all__ = [
    "Blueprint",
    "BlueprintVersion",
    "Deployment",
    "DeploymentDrift",
    "DeploymentResource",
    "DeploymentRun",
    "DeploymentState",
    "Enforcement",
    "Policy",
    "PolicyResult",
    "PolicySet",
    "ProvisioningSettings",
]
