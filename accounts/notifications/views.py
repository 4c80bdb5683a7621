"""Notification pages: the channels (admins manage them; everyone sees that they exist, never
their addresses), a channel's delivery log, and each person's e-mail choices."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.audit import client_ip
from accounts.flash import secret_flash_pop, secret_flash_put
from accounts.models import NotificationChannel
from accounts.notifications import selectors, services
from accounts.notifications.channels import CHANNEL_KINDS, kind_get
from accounts.notifications.events import Event
from accounts.notifications.forms import ChannelForm, PreferencesForm
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from mcloud.errors import ActionRefused

SECRET_FLASH = "notification_secret"


@org_view(Role.VIEWER)
def channel_list(request: OrgRequest) -> HttpResponse:
    return render(
        request,
        "accounts/notifications/channel_list.html",
        {
            "channels": selectors.channel_list(organization=request.organization),
            "can_manage": request.role.allows(Role.ADMIN),
        },
    )


@org_view(Role.ADMIN)
def channel_create(request: OrgRequest) -> HttpResponse:
    kind = CHANNEL_KINDS.get(request.GET.get("kind", ""))
    if kind is None:
        return render(
            request, "accounts/notifications/channel_choose.html", {"kinds": CHANNEL_KINDS}
        )
    form = ChannelForm(request.POST or None, kind=kind, initial={"events": list(Event)})
    if request.method == "POST" and form.is_valid():
        try:
            channel, secret = services.channel_create(
                organization=request.organization, kind=kind.key, user=request.user,
                ip=client_ip(request), **form.cleaned_data,
            )  # fmt: skip
        except ActionRefused as refused:
            form.add_error(None, refused.message)
        else:
            if secret:
                secret_flash_put(request, SECRET_FLASH, secret)
            messages.success(request, f"Added the channel {channel.name}.")
            return redirect("accounts:channel_detail", channel.pk)
    return render(
        request,
        "accounts/notifications/channel_form.html",
        {"form": form, "kind": kind, "channel": None},
    )


@org_view(Role.VIEWER)
def channel_detail(request: OrgRequest, pk: int) -> HttpResponse:
    channel = get_for_org(NotificationChannel, request, pk=pk)
    page = Paginator(selectors.delivery_list(channel=channel), 25).get_page(request.GET.get("page"))
    can_manage = request.role.allows(Role.ADMIN)
    new_secret = (
        secret_flash_pop(request, SECRET_FLASH) if can_manage and request.method == "GET" else ""
    )
    template = "accounts/notifications/channel_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#log"
    return render(
        request,
        template,
        {
            "channel": channel,
            "kind": channel.channel_kind,
            "page": page,
            "can_manage": can_manage,
            "new_secret": new_secret,
        },
    )


@org_view(Role.ADMIN)
def channel_edit(request: OrgRequest, pk: int) -> HttpResponse:
    channel = get_for_org(NotificationChannel, request, pk=pk)
    kind = kind_get(channel.kind)
    initial = {"name": channel.name, "events": channel.events, "enabled": channel.enabled}
    form = ChannelForm(request.POST or None, kind=kind, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_update(
                channel=channel, user=request.user, ip=client_ip(request), **form.cleaned_data
            )
        except ActionRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, f"Saved the channel {channel.name}.")
            return redirect("accounts:channel_detail", channel.pk)
    return render(
        request,
        "accounts/notifications/channel_form.html",
        {"form": form, "kind": kind, "channel": channel},
    )


@org_view(Role.ADMIN)
@require_POST
def channel_delete(request: OrgRequest, pk: int) -> HttpResponse:
    channel = get_for_org(NotificationChannel, request, pk=pk)
    services.channel_delete(channel=channel, user=request.user, ip=client_ip(request))
    messages.success(request, f"Deleted the channel {channel.name}.")
    return redirect("accounts:channel_list")


@org_view(Role.ADMIN)
@require_POST
def channel_test(request: OrgRequest, pk: int) -> HttpResponse:
    channel = get_for_org(NotificationChannel, request, pk=pk)
    services.channel_test(channel=channel, user=request.user, ip=client_ip(request))
    messages.info(request, "A test message is on its way: its outcome shows in the log below.")
    return redirect("accounts:channel_detail", channel.pk)


@org_view(Role.ADMIN)
@require_POST
def channel_secret(request: OrgRequest, pk: int) -> HttpResponse:
    channel = get_for_org(NotificationChannel, request, pk=pk)
    try:
        secret = services.channel_secret_reset(
            channel=channel, user=request.user, ip=client_ip(request)
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        secret_flash_put(request, SECRET_FLASH, secret)
    return redirect("accounts:channel_detail", channel.pk)


@org_view(Role.VIEWER)
def notification_preferences(request: OrgRequest) -> HttpResponse:
    """The signed-in person's e-mail choices in the current organization."""
    current = selectors.email_events(
        organization=request.organization, user=request.user, role=request.role
    )
    # Bound on every POST: unticking every box sends no field at all, and is a choice too.
    data = request.POST if request.method == "POST" else None
    form = PreferencesForm(data, initial={"events": sorted(current)})
    if request.method == "POST" and form.is_valid():
        services.preferences_save(
            organization=request.organization, user=request.user,
            events=form.cleaned_data["events"], ip=client_ip(request),
        )  # fmt: skip
        messages.success(request, "Saved your e-mail choices.")
        return redirect("accounts:notification_preferences")
    return render(
        request,
        "accounts/notifications/preferences.html",
        {
            "form": form,
            "defaults": [
                Event(e).label
                for e in Event.values
                if e in selectors.default_email_events(request.role)
            ],
        },
    )
