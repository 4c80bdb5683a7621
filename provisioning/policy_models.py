"""Policies (Rego an organization's admins write) and their results on each plan.

An organization groups its policies in named sets, each applying to every deployment or only to
those of chosen blueprints or cloud accounts; a plan is checked against the enabled policies of
the enabled sets that apply to its deployment. Each policy is advisory (its failures are shown) or
mandatory (a failure, or an error evaluating it, blocks approval: policies fail closed). A
blocked plan can be approved only after an owner overrides it with a reason, audited and
announced (`Event.POLICY_OVERRIDE`); the override is kept on the plan run.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from inventory.models import CloudAccount


class Enforcement(models.TextChoices):
    ADVISORY = "advisory", "Advisory (shown)"
    MANDATORY = "mandatory", "Mandatory (blocks approval)"


class PolicySet(models.Model):
    """A named group of policies and where it applies: every deployment of the organization,
    or only those of the chosen blueprints or cloud accounts (either matches)."""

    class Scope(models.TextChoices):
        ALL = "all", "Every deployment"
        SELECTED = "selected", "Deployments of the chosen blueprints or accounts"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.ALL)
    blueprints = models.ManyToManyField("provisioning.Blueprint", blank=True, related_name="+")
    accounts = models.ManyToManyField(CloudAccount, blank=True, related_name="+")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="policy_set_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """One Rego module: its `deny` set holds the messages of what it refuses."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    policy_set = models.ForeignKey(PolicySet, on_delete=models.PROTECT, related_name="policies")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    source = models.TextField(help_text="Rego (v1 syntax): a package with a `deny` set.")
    enforcement = models.CharField(
        max_length=10, choices=Enforcement.choices, default=Enforcement.ADVISORY
    )
    enabled = models.BooleanField(default=True)
    example = models.SlugField(
        max_length=64, blank=True, help_text="The bundled example it was loaded from, if any."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="policy_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class PolicyResult(models.Model):
    """What one policy said about one plan run (kept when the policy changes or goes)."""

    class Status(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(
        "provisioning.DeploymentRun", on_delete=models.CASCADE, related_name="policy_results"
    )
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    policy_name = models.CharField(max_length=100)
    policy_set_name = models.CharField(max_length=100, blank=True)
    enforcement = models.CharField(max_length=10, choices=Enforcement.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    messages = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "policy_name", "id"]

    def __str__(self) -> str:
        return f"{self.policy_name}: {self.status} on run {self.run_id}"

    @property
    def blocks(self) -> bool:
        """A mandatory policy that failed or could not be evaluated."""
        return self.enforcement == Enforcement.MANDATORY and self.status != self.Status.PASSED
