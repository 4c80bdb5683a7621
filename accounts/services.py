"""Writes for organizations, memberships and invitations. Views stay thin and call these."""

from __future__ import annotations

import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import audit_record
from accounts.models import Invitation, Membership, Organization, User, hash_token
from accounts.roles import Role
from mcloud.errors import ActionRefused

INVITATION_LIFETIME = timedelta(days=14)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "organization"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, personal: bool = False) -> Organization:
    """Create an organization with `owner` as its first owner."""
    name = name.strip()
    if not name:
        raise ActionRefused("An organization needs a name.")
    organization = Organization.objects.create(
        name=name, slug=_unique_slug(name), is_personal=personal
    )
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    audit_record(
        organization=organization, actor=owner, action="organization.created", target=organization
    )
    return organization


def organization_create_personal(*, user: User) -> Organization:
    """The organization every user gets at sign-up."""
    label = user.get_full_name() or user.email.split("@")[0]
    return organization_create(name=f"{label}'s organization", owner=user, personal=True)


@transaction.atomic
def organization_mfa_require(
    *, organization: Organization, required: bool, user: User, ip: str | None = None
) -> Organization:
    """Require (or stop requiring) two-factor authentication of every member. Owners only;
    an owner turning it on must use it already, so the rule never locks its author out."""
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None or membership.role_enum != Role.OWNER:
        raise ActionRefused("Only an owner decides whether members must use two-factor sign-in.")
    if required and not user_has_mfa(user):
        raise ActionRefused("Set up two-factor authentication for yourself first.")
    organization.require_mfa = required
    organization.save(update_fields=["require_mfa"])
    audit_record(
        organization=organization, action="organization.mfa_required" if required
        else "organization.mfa_optional", target=organization, actor=user, ip=ip,
    )  # fmt: skip
    return organization


def user_has_mfa(user: User) -> bool:
    """Whether `user` signs in with a second factor (recovery codes alone are not one)."""
    kinds = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
    return Authenticator.objects.filter(user=user, type__in=kinds).exists()


@transaction.atomic
def organization_rename(
    *, organization: Organization, name: str, user: User | None = None, ip: str | None = None
) -> Organization:
    name = name.strip()
    if not name:
        raise ActionRefused("An organization needs a name.")
    old = organization.name
    organization.name = name
    organization.save(update_fields=["name"])
    audit_record(
        organization=organization,
        action="organization.renamed",
        target=organization,
        data={"from": old, "to": name},
        actor=user,
        ip=ip,
    )
    return organization


@transaction.atomic
def organization_delete(
    *,
    organization: Organization,
    confirm_name: str,
    user: User | None = None,
    ip: str | None = None,
) -> None:
    """Delete the organization and everything it owns; the user types its name to confirm."""
    if confirm_name.strip() != organization.name:
        raise ActionRefused("Type the organization's name exactly to confirm the deletion.")
    # The organization's own audit rows go with it; keep one global row of the deletion.
    audit_record(
        organization=None,
        action="organization.deleted",
        data={"organization": organization.name, "slug": organization.slug},
        actor=user,
        ip=ip,
    )
    organization.delete()


def _owner_count(organization: Organization) -> int:
    # Lock the owners' rows so two concurrent demotions cannot both pass the check.
    return len(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Role.OWNER)
        .values_list("pk", flat=True)
    )


def _check_may_manage(actor: Membership, target: Membership | None, new_role: Role | None) -> None:
    if not actor.role_enum.allows(Role.ADMIN):
        raise ActionRefused("Only admins and owners manage members.")
    touches_owner = (target is not None and target.role == Role.OWNER) or new_role == Role.OWNER
    if touches_owner and actor.role != Role.OWNER:
        raise ActionRefused("Only an owner can grant or take away the owner role.")


@transaction.atomic
def member_add(*, actor: Membership, email: str, role: Role, ip: str | None = None) -> Invitation:
    """Invite an address to join. Whether it has an account or not, the answer, the e-mail
    and the audit entry are the same: an admin cannot tell which addresses have accounts,
    and nobody joins an organization without accepting."""
    organization = actor.organization
    role = Role(role)
    _check_may_manage(actor, None, role)
    email = User.objects.normalize_email(email.strip())
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ActionRefused(f"{email} is already a member of {organization.name}.")

    # One pending invitation per address: a new one replaces the old link.
    Invitation.objects.filter(
        organization=organization, email__iexact=email, accepted_at__isnull=True
    ).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by=actor.user,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit_record(
        organization=organization,
        action="member.invited",
        target=invitation,
        data={"email": email, "role": role.value},
        actor=actor.user,
        ip=ip,
    )
    url = settings.SITE_URL + reverse("accounts:invitation_detail", args=[token])
    _notify(
        email,
        "accounts/email/invitation",
        {
            "organization": organization,
            "role": role.label,
            "url": url,
            "inviter": actor.user,
            "expires_at": invitation.expires_at,
        },
    )
    return invitation


def _notify(to: str, template: str, context: dict) -> None:
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    body = render_to_string(f"{template}_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


@transaction.atomic
def membership_change_role(
    *, actor: Membership, membership: Membership, role: Role, ip: str | None = None
) -> Membership:
    role = Role(role)
    _check_may_manage(actor, membership, role)
    demoting_owner = membership.role == Role.OWNER and role != Role.OWNER
    if demoting_owner and _owner_count(membership.organization) <= 1:
        raise ActionRefused("The last owner cannot be demoted; make someone else owner first.")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        organization=membership.organization,
        action="member.role_changed",
        target=membership,
        data={"email": membership.user.email, "from": old, "to": role.value},
        actor=actor.user,
        ip=ip,
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership, ip: str | None = None) -> None:
    """Remove a member; removing oneself is leaving."""
    if membership.pk != actor.pk:
        _check_may_manage(actor, membership, None)
    if membership.role == Role.OWNER and _owner_count(membership.organization) <= 1:
        raise ActionRefused("The last owner cannot leave; transfer ownership first.")
    action = "member.left" if membership.pk == actor.pk else "member.removed"
    audit_record(
        organization=membership.organization,
        action=action,
        target=membership,
        data={"email": membership.user.email, "role": membership.role},
        actor=actor.user,
        ip=ip,
    )
    membership.delete()


@transaction.atomic
def ownership_transfer(
    *, actor: Membership, membership: Membership, ip: str | None = None
) -> Membership:
    """Make `membership` an owner and step the acting owner down to admin."""
    if actor.role != Role.OWNER:
        raise ActionRefused("Only an owner can transfer ownership.")
    if membership.pk == actor.pk:
        raise ActionRefused("Choose another member to transfer ownership to.")
    membership.role = Role.OWNER
    membership.save(update_fields=["role"])
    actor.role = Role.ADMIN
    actor.save(update_fields=["role"])
    audit_record(
        organization=actor.organization,
        action="organization.ownership_transferred",
        target=membership,
        data={"from": actor.user.email, "to": membership.user.email},
        actor=actor.user,
        ip=ip,
    )
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, user: User, ip: str | None = None) -> None:
    audit_record(
        organization=invitation.organization,
        action="member.invitation_revoked",
        target=invitation,
        data={"email": invitation.email},
        actor=user,
        ip=ip,
    )
    invitation.delete()


def invitation_for_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User, ip: str | None = None) -> Membership:
    """Join the invitation's organization. The user must own the invited address."""
    if not invitation.is_pending:
        raise ActionRefused("This invitation has expired or was already used.")
    if (
        invitation.email.lower() != user.email.lower()
        and not EmailAddress.objects.filter(
            user=user, email__iexact=invitation.email, verified=True
        ).exists()
    ):
        raise ActionRefused(
            f"This invitation was sent to {invitation.email}. "
            "Log in with that address to accept it."
        )
    membership, created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if created:
        audit_record(
            organization=invitation.organization,
            actor=user,
            action="member.joined",
            target=membership,
            data={"email": user.email, "role": membership.role},
            ip=ip,
        )
    return membership


def invitations_accept_for_user(*, user: User, ip: str | None = None) -> list[Membership]:
    """Accept, at log-in, the pending invitations sent to one of the user's verified
    addresses before the account existed (the invitation link led to the sign-up). An
    invitation to an existing account waits for its owner to accept it on its page."""
    from allauth.account.models import EmailAddress

    verified = {
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    }
    pending = (
        Invitation.objects.select_related("organization")
        .annotate(email_lower=Lower("email"))
        .filter(accepted_at__isnull=True, expires_at__gt=timezone.now(), email_lower__in=verified)
        .filter(created_at__lte=user.date_joined)
    )
    return [invitation_accept(invitation=inv, user=user, ip=ip) for inv in pending]
