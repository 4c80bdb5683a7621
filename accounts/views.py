"""Organization, membership, invitation and audit-log pages."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import services, tokens
from accounts.activity import activity_check
from accounts.audit import AUDIT_TARGETS, audit_value, client_ip
from accounts.flash import secret_flash_pop, secret_flash_put
from accounts.forms import (
    ApiTokenForm,
    AuditFilterForm,
    ConfirmNameForm,
    MemberAddForm,
    OrganizationForm,
    RoleForm,
    ThemeForm,
)
from accounts.models import ApiToken, AuditEvent, Invitation, Membership
from accounts.roles import Role
from accounts.selectors import (
    audit_actor_choices,
    audit_event_list,
    audit_target_links,
    member_list,
    pending_invitation_list,
)
from accounts.tenancy import (
    OrgRequest,
    SignedInRequest,
    current_membership,
    get_for_org,
    org_view,
    set_current_organization,
)
from mcloud.errors import ActionRefused
from mcloud.exports import csv_lines


@org_view(Role.VIEWER)
def home(request: OrgRequest) -> HttpResponse:
    """The organization's overview, the landing page after log-in."""
    return render(
        request,
        "accounts/home.html",
        {
            "member_count": Membership.objects.filter(organization=request.organization).count(),
            "recent_events": audit_event_list(organization=request.organization)[:8]
            if request.role.allows(Role.ADMIN)
            else [],
        },
    )


@login_required
def organization_list(request: SignedInRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    return render(request, "accounts/organization_list.html", {"memberships": memberships})


@login_required
def organization_create(request: SignedInRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(
                name=form.cleaned_data["name"], owner=request.user
            )
        except ActionRefused as refused:
            form.add_error("name", refused.message)
        else:
            set_current_organization(request, organization)
            messages.success(request, f"Created {organization.name}. You are its owner.")
            return redirect("home")
    return render(request, "accounts/organization_form.html", {"form": form})


@login_required
@require_POST
def organization_switch(request: SignedInRequest) -> HttpResponse:
    chosen = request.POST.get("organization")
    membership = (
        Membership.objects.filter(user=request.user, organization_id=chosen)
        .select_related("organization")
        .first()
        if chosen is not None
        else None
    )
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        set_current_organization(request, membership.organization)
        messages.info(request, f"Switched to {membership.organization.name}.")
    # Objects of the previous organization are 404s now, so go back only to plain pages.
    return redirect(_next_url(request) or "home")


def _next_url(request: HttpRequest, default: str = "") -> str:
    """The form's `next` (else `default`) when it is a page of this site, else ""."""
    next_url = request.POST.get("next") or default
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return ""
    return next_url


ACTIVITY_CURSOR = "activity_seen"
ACTIVITY_WINDOW = timedelta(minutes=10)  # work that finished longer ago is no news


@org_view(Role.VIEWER)
def activity(request: OrgRequest) -> HttpResponse:
    """Toasts for the person's syncs and runs that finished since they last saw one; it
    polls itself while any still runs, and stops when none does."""
    now = timezone.now()
    seen = parse_datetime(request.session.get(ACTIVITY_CURSOR, "")) or now - ACTIVITY_WINDOW
    since = max(seen, now - ACTIVITY_WINDOW)
    found = activity_check(user=request.user, organization=request.organization, since=since)
    if found.finished:
        request.session[ACTIVITY_CURSOR] = found.finished[-1].at.isoformat()
    return render(request, "accounts/htmx/activity.html", {"activity": found})


@login_required
@require_POST
def theme_set(request: SignedInRequest) -> HttpResponse:
    """Remember the user's colour theme (light, dark, or the system's), then go back."""
    form = ThemeForm(request.POST)
    if form.is_valid():
        request.user.theme = form.cleaned_data["theme"]
        request.user.save(update_fields=["theme"])
    else:
        messages.error(request, "Choose a theme: follow the system, light or dark.")
    # Back to the page as it is now: HTMX filters may have changed its address since it was
    # rendered, which the browser's Referer says.
    return redirect(_next_url(request, request.META.get("HTTP_REFERER", "")) or "home")


@org_view(Role.OWNER)
def organization_settings(request: OrgRequest) -> HttpResponse:
    if request.method == "POST" and "mfa" in request.POST:
        try:
            services.organization_mfa_require(
                organization=request.organization,
                required=request.POST.get("require_mfa") == "on",
                user=request.user,
                ip=client_ip(request),
            )
        except ActionRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, "Saved the two-factor rule.")
        return redirect("accounts:organization_settings")
    form = OrganizationForm(request.POST or None, initial={"name": request.organization.name})
    if request.method == "POST" and form.is_valid():
        services.organization_rename(
            organization=request.organization,
            name=form.cleaned_data["name"],
            user=request.user,
            ip=client_ip(request),
        )
        messages.success(request, "The organization was renamed.")
        return redirect("accounts:organization_settings")
    return render(
        request,
        "accounts/organization_settings.html",
        {
            "form": form,
            "delete_form": ConfirmNameForm(),
            "others": member_list(organization=request.organization).exclude(
                pk=request.membership.pk
            ),
        },
    )


@org_view(Role.OWNER)
@require_POST
def organization_delete(request: OrgRequest) -> HttpResponse:
    form = ConfirmNameForm(request.POST)
    name = request.organization.name
    try:
        if not form.is_valid():
            raise ActionRefused("Type the organization's name to confirm the deletion.")
        services.organization_delete(
            organization=request.organization,
            confirm_name=form.cleaned_data["confirm_name"],
            user=request.user,
            ip=client_ip(request),
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("accounts:organization_settings")
    messages.success(request, f"{name} and everything in it was deleted.")
    return redirect("home")


@org_view(Role.OWNER)
@require_POST
def ownership_transfer(request: OrgRequest) -> HttpResponse:
    target = get_for_org(Membership, request, pk=request.POST.get("membership"))
    try:
        services.ownership_transfer(
            actor=request.membership, membership=target, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{target.user.email} is now an owner; you are an admin.")
    return redirect("accounts:member_list")


@org_view(Role.VIEWER)
def member_list_view(request: OrgRequest) -> HttpResponse:
    can_manage = request.role.allows(Role.ADMIN)
    return render(
        request,
        "accounts/member_list.html",
        {
            "members": member_list(organization=request.organization),
            "invitations": pending_invitation_list(organization=request.organization)
            if can_manage
            else [],
            "add_form": MemberAddForm(),
            "can_manage": can_manage,
            "roles": Role.choices,
        },
    )


@org_view(Role.ADMIN)
@require_POST
def member_add(request: OrgRequest) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return redirect("accounts:member_list")
    try:
        invitation = services.member_add(
            actor=request.membership,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            ip=client_ip(request),
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"An invitation was sent to {invitation.email}.")
    return redirect("accounts:member_list")


@org_view(Role.ADMIN)
@require_POST
def member_role(request: OrgRequest, pk: int) -> HttpResponse:
    membership = get_for_org(Membership.objects.select_related("user"), request, pk=pk)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ActionRefused("Choose a valid role.")
        services.membership_change_role(
            actor=request.membership,
            membership=membership,
            role=form.cleaned_data["role"],
            ip=client_ip(request),
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.role}.")
    return redirect("accounts:member_list")


@org_view(Role.ADMIN)
@require_POST
def member_remove(request: OrgRequest, pk: int) -> HttpResponse:
    membership = get_for_org(Membership.objects.select_related("user"), request, pk=pk)
    try:
        services.membership_remove(
            actor=request.membership, membership=membership, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{membership.user.email} was removed.")
    return redirect("accounts:member_list")


@org_view(Role.VIEWER)
@require_POST
def organization_leave(request: OrgRequest) -> HttpResponse:
    try:
        services.membership_remove(
            actor=request.membership, membership=request.membership, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("accounts:member_list")
    messages.success(request, f"You left {request.organization.name}.")
    return redirect("accounts:organization_list")


@org_view(Role.ADMIN)
@require_POST
def invitation_revoke(request: OrgRequest, pk: int) -> HttpResponse:
    invitation = get_for_org(Invitation, request, pk=pk, accepted_at__isnull=True)
    services.invitation_revoke(invitation=invitation, user=request.user, ip=client_ip(request))
    messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return redirect("accounts:member_list")


def invitation_detail(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation link opens; anyone holding the link may see it."""
    invitation = services.invitation_for_token(token)
    if invitation is None or not invitation.is_pending:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.invitation_accept(
                invitation=invitation, user=request.user, ip=client_ip(request)
            )
        except ActionRefused as refused:
            messages.error(request, refused.message)
        else:
            set_current_organization(request, membership.organization)
            messages.success(request, f"You joined {membership.organization.name}.")
            return redirect("home")
    elif not request.user.is_authenticated:
        # Whoever holds the link reads that mailbox: sign-up with this address needs no
        # second verification e-mail, and the invitation is accepted at log-in.
        get_adapter(request).stash_verified_email(request, invitation.email)
    return render(
        request,
        "accounts/invitation_detail.html",
        {"invitation": invitation, "membership": current_membership(request)},
    )


@org_view(Role.ADMIN)
def audit_log(request: OrgRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    events = audit_event_list(organization=request.organization, **form.filters())
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    actions = (
        AuditEvent.objects.filter(organization=request.organization)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    links = audit_target_links(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {
            "page": page,
            "rows": [(event, links.get(event.pk, "")) for event in page.object_list],
            "actions": actions,
            "actors": audit_actor_choices(organization=request.organization),
            "types": sorted((kind, t.label) for kind, t in AUDIT_TARGETS.items()),
            "form": form,
            "chosen": {key: request.GET.get(key, "") for key in form.fields},
            "query": query.urlencode(),
        },
    )


@org_view(Role.ADMIN)
def audit_export(request: OrgRequest) -> StreamingHttpResponse:
    """The events the log's filters select, streamed as CSV, details in words."""
    form = AuditFilterForm(request.GET)
    events = audit_event_list(organization=request.organization, **form.filters())
    header = ("time", "who", "action", "object type", "object id", "object", "details", "ip")
    rows = (
        (
            event.created_at.isoformat(),
            event.actor_label,
            event.action,
            event.target_type,
            event.target_id,
            event.target_label,
            "; ".join(f"{key}: {audit_value(value)}" for key, value in event.data.items()),
            event.ip_address or "",
        )
        for event in events.iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="mcloud-audit-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


@login_required
def token_list(request: SignedInRequest) -> HttpResponse:
    """The user's API tokens; a new one is shown once, right after it is made."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("organization"))
    form = ApiTokenForm(request.POST or None, memberships=memberships)
    if request.method == "POST" and form.is_valid():
        organization = next(
            m.organization
            for m in memberships
            if m.organization_id == form.cleaned_data["organization"]
        )
        try:
            _, new_token = tokens.token_create(
                user=request.user,
                organization=organization,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                ip=client_ip(request),
            )
        except ActionRefused as refused:
            form.add_error("role", refused.message)
        else:
            secret_flash_put(request, "api_token", new_token)  # shown once, after the redirect
            return redirect("accounts:token_list")
    rows = ApiToken.objects.filter(user=request.user).select_related("organization")
    new_token = secret_flash_pop(request, "api_token") if request.method == "GET" else ""
    return render(
        request, "accounts/token_list.html", {"form": form, "tokens": rows, "new_token": new_token}
    )


@login_required
@require_POST
def token_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, revoked_at__isnull=True)
    tokens.token_revoke(token=token, user=request.user, ip=client_ip(request))
    messages.success(request, f"Revoked the token {token.name}.")
    return redirect("accounts:token_list")
