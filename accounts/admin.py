from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from accounts.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Organization,
    User,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_personal", "member_count", "created_at"]
    list_filter = ["is_personal", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, obj: Organization) -> int:
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "organization",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
    ]
    list_filter = ["role", "accepted_at"]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization", "invited_by"]
    # The token hash is never shown: only the e-mailed link can accept.
    exclude = ["token_hash"]
    readonly_fields = ["accepted_at", "accepted_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "organization",
        "actor_label",
        "action",
        "target_label",
        "ip_address",
    ]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_label", "action", "target_label", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "organization",
        "role",
        "hint",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["role", "revoked_at"]
    search_fields = ["name", "user__email", "organization__name", "hint"]
    list_select_related = ["user", "organization"]
    # Only the hash is stored, and even that is not shown.
    exclude = ["token_hash"]
    readonly_fields = ["hint", "last_used_at"]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    """The address is encrypted and not editable here (the target field is never shown)."""

    list_display = ["name", "kind", "organization", "target_hint", "enabled", "created_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization", "created_by"]
    readonly_fields = ["kind", "target_hint"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "title", "organization"]
    list_filter = ["event", "created_at"]
    search_fields = ["title", "organization__name"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization"]
    date_hierarchy = "created_at"


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "notification", "channel", "recipient", "status", "attempts"]
    list_filter = ["status", "created_at"]
    search_fields = ["notification__title", "channel__name", "recipient__email", "last_error"]
    list_select_related = ["notification", "channel", "recipient"]
    raw_id_fields = ["organization", "notification", "channel", "recipient"]
    date_hierarchy = "created_at"


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "updated_at"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["user", "organization"]
    raw_id_fields = ["user", "organization"]
