"""Users, organizations, memberships with roles, invitations, API tokens, the audit log, and
notification channels, deliveries and e-mail choices (accounts/notifications/)."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.notifications.channels import CHANNEL_KINDS, ChannelKind, channel_kind_choices
from accounts.notifications.events import Event, event_label
from accounts.roles import Role
from mcloud.fields import EncryptedJSONField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class Theme(models.TextChoices):
    AUTO = "auto", "Follow the system"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class User(AbstractUser):
    """A person who signs in with an e-mail address (there is no username)."""

    # No username: people sign in with their e-mail address. Django's documented way to drop
    # a field of AbstractUser, which the stubs type as a str.
    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    theme = models.CharField(max_length=5, choices=Theme.choices, default=Theme.AUTO)
    THEME_CHOICES = Theme.choices

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # Creates users by e-mail; the stubs type `objects` as AbstractUser's username-based manager.
    objects = UserManager()  # type: ignore[assignment, misc]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Organization(models.Model):
    """The tenant: everything users create later belongs to an organization."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    is_personal = models.BooleanField(default=False, help_text="Created for a user at sign-up.")
    require_mfa = models.BooleanField(
        default=False,
        help_text="Every member must use two-factor authentication (set by an owner).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")
        ]
        ordering = ["organization__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


def hash_token(token: str) -> str:
    """Invitation links carry a random token; only its SHA-256 is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """An invitation for an address that has no account yet."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class AuditEvent(models.Model):
    """Who did what, to which object, when and from where.

    `data` holds display-safe details only: never a secret.
    """

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=254, help_text="The actor's e-mail, or the system job that acted."
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"


class ApiToken(models.Model):
    """A personal access token for the JSON API: one organization, a role no higher than the
    owner's, an optional expiry. Only the SHA-256 of the token is stored."""

    PREFIX = "mct_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to recognize it.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


# --- notifications (accounts/notifications/) ------------------------------------------------
class NotificationChannel(models.Model):
    """Where an organization's events are told: an e-mail list, a Slack or Microsoft Teams
    webhook, or a generic signed webhook (`accounts.notifications.channels.CHANNEL_KINDS`).

    `target` holds the address and, for signed webhooks, the signing secret, encrypted: a
    Slack or Teams URL is itself a credential. `target_hint` is what pages may show (the host
    and a masked tail, or the e-mail addresses), and only to admins.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notification_channels"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=channel_kind_choices)
    target = EncryptedJSONField()
    target_hint = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="The events it receives.")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="notificationchannel_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def channel_kind(self) -> ChannelKind | None:
        return CHANNEL_KINDS.get(self.kind)

    @property
    def event_labels(self) -> list[str]:
        return [label for value, label in Event.choices if value in self.events]


class Notification(models.Model):
    """One event of an organization, as told: display-safe words and a link into mcloud
    (`url`, a path: made absolute with SITE_URL when sent)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    facts = models.JSONField(default=list, blank=True, help_text="[label, value] pairs.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def event_label(self) -> str:
        return event_label(self.event)


class NotificationDelivery(models.Model):
    """One notification to one channel, or by e-mail to one person: its attempts, its last
    error (display-safe: never the URL) and when it is tried again."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    PENDING = (Status.QUEUED, Status.RETRYING)

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        NotificationChannel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="A personal e-mail (no channel).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["channel", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__isnull=True) ^ models.Q(recipient__isnull=True),
                name="notificationdelivery_channel_xor_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING


class NotificationPreference(models.Model):
    """Which events e-mail one person in one organization. Without a row, the defaults of
    their role apply (`accounts.notifications.selectors.email_events`)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    events = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="notificationpreference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"e-mail choices of {self.user} in {self.organization}"
