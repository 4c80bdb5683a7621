from django.urls import path

from accounts import search_views, views
from accounts.notifications import views as notifications

app_name = "accounts"

urlpatterns = [
    path("organization/", views.home, name="organization_overview"),
    path("organizations/", views.organization_list, name="organization_list"),
    path("organizations/new/", views.organization_create, name="organization_create"),
    path("organizations/switch/", views.organization_switch, name="organization_switch"),
    path("organization/settings/", views.organization_settings, name="organization_settings"),
    path("organization/delete/", views.organization_delete, name="organization_delete"),
    path("organization/transfer/", views.ownership_transfer, name="ownership_transfer"),
    path("organization/leave/", views.organization_leave, name="organization_leave"),
    path("organization/members/", views.member_list_view, name="member_list"),
    path("organization/members/add/", views.member_add, name="member_add"),
    path("organization/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("organization/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path(
        "organization/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("theme/", views.theme_set, name="theme"),
    path("activity/", views.activity, name="activity"),
    path("search/", search_views.search, name="search"),
    path("organization/audit/", views.audit_log, name="audit_log"),
    path("organization/audit/export.csv", views.audit_export, name="audit_export"),
    path("organization/notifications/", notifications.channel_list, name="channel_list"),
    path("organization/notifications/new/", notifications.channel_create, name="channel_create"),
    path(
        "organization/notifications/<int:pk>/",
        notifications.channel_detail,
        name="channel_detail",
    ),
    path(
        "organization/notifications/<int:pk>/edit/",
        notifications.channel_edit,
        name="channel_edit",
    ),
    path(
        "organization/notifications/<int:pk>/delete/",
        notifications.channel_delete,
        name="channel_delete",
    ),
    path(
        "organization/notifications/<int:pk>/test/",
        notifications.channel_test,
        name="channel_test",
    ),
    path(
        "organization/notifications/<int:pk>/secret/",
        notifications.channel_secret,
        name="channel_secret",
    ),
    path(
        "organization/notifications/e-mail/",
        notifications.notification_preferences,
        name="notification_preferences",
    ),
    path("account/tokens/", views.token_list, name="token_list"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("invitations/<str:token>/", views.invitation_detail, name="invitation_detail"),
]
