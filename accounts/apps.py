from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from accounts.api_identities import AccountIdentities
        from accounts.audit import register_audit_target
        from accounts.models import (
            Invitation,
            Membership,
            NotificationChannel,
            NotificationPreference,
            Organization,
        )
        from accounts.search import MEMBERS, register_search_kind
        from accounts.sites import site_sync
        from mcloud.api.security import identities_register

        # After the sites app made its example.com (it comes first in INSTALLED_APPS).
        post_migrate.connect(site_sync, sender=self)

        identities_register(AccountIdentities())
        register_audit_target(Membership, "accounts:member_list", with_pk=False)
        register_audit_target(Invitation, "accounts:member_list", with_pk=False)
        register_audit_target(Organization, "accounts:organization_overview", with_pk=False)
        register_audit_target(NotificationChannel, "accounts:channel_detail")
        register_audit_target(
            NotificationPreference, "accounts:notification_preferences", with_pk=False
        )
        register_search_kind(MEMBERS)
