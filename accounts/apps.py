from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from accounts.audit import register_audit_target
        from accounts.models import Invitation, Membership, Organization

        register_audit_target(Membership, "accounts:member_list", with_pk=False)
        register_audit_target(Invitation, "accounts:member_list", with_pk=False)
        register_audit_target(Organization, "accounts:organization_overview", with_pk=False)
