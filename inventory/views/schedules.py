"""Off-hours power schedules: the list, the form with its preview (the next runs, the VMs it
matches now, the monthly saving) shown before anything is saved, and deleting one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from inventory.forms.power_schedule import PowerScheduleForm, time_zone_names
from inventory.models import SKIP_TAG, SKIP_VALUE, PowerSchedule
from inventory.schedule_preview import Preview, schedule_preview
from inventory.schedule_times import next_occurrences, zone_get
from inventory.selectors import power_schedule_list, schedule_occurrence_list
from inventory.services.actions import ACTION_ROLE
from inventory.services.power_schedules import power_schedule_delete, power_schedule_save
from mcloud.errors import ActionRefused

FORM = "inventory/powerschedule_form.html"
PREVIEW = "inventory/htmx/schedule_preview.html"


@org_view(Role.VIEWER)
def schedule_list(request: OrgRequest) -> HttpResponse:
    schedules = power_schedule_list(organization=request.organization)
    now = timezone.now()
    for schedule in schedules:
        zone = zone_get(schedule.time_zone)
        upcoming = next_occurrences(schedule.week, zone, after=now, count=1) if zone else []
        schedule.next_run = upcoming[0] if upcoming and schedule.enabled else None  # type: ignore[attr-defined]
    return render(
        request,
        "inventory/powerschedule_list.html",
        {"schedules": schedules, "may_manage": request.role.allows(ACTION_ROLE),
         "skip_tag": f"{SKIP_TAG}={SKIP_VALUE}"},
    )  # fmt: skip


def _preview(request: OrgRequest, form: PowerScheduleForm) -> Preview | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    return schedule_preview(
        organization=request.organization, week=form.week(), time_zone=data["time_zone"],
        saved_view=data["saved_view"], tag_filter=data["tag_filter"], now=timezone.now(),
    )  # fmt: skip


def _form_page(
    request: OrgRequest, form: PowerScheduleForm, schedule: PowerSchedule | None, **extra: Any
) -> HttpResponse:
    context = {
        "form": form, "schedule": schedule, "time_zones": time_zone_names(),
        "skip_tag": f"{SKIP_TAG}={SKIP_VALUE}",
        "occurrences": schedule_occurrence_list(schedule=schedule) if schedule else [],
        **extra,
    }  # fmt: skip
    return render(request, FORM, context)


def _edit(request: OrgRequest, schedule: PowerSchedule | None) -> HttpResponse:
    form = PowerScheduleForm(
        request.POST if request.method == "POST" else None,
        organization=request.organization, user=request.user, schedule=schedule,
    )  # fmt: skip
    if request.method != "POST":
        return _form_page(request, form, schedule)
    if "preview" in request.POST or not form.is_valid():
        return _form_page(request, form, schedule, preview=_preview(request, form))
    data = form.cleaned_data
    try:
        saved = power_schedule_save(
            organization=request.organization, user=request.user, schedule=schedule,
            name=data["name"], time_zone=data["time_zone"], week=form.week(),
            saved_view=data["saved_view"], tag_filter=data["tag_filter"],
            enabled=data["enabled"], ip=client_ip(request),
        )  # fmt: skip
    except ActionRefused as refused:
        form.add_error(None, refused.message)
        return _form_page(request, form, schedule)
    messages.success(request, f"Saved the schedule {saved.name}.")
    return redirect("inventory:schedule_list")


@org_view(ACTION_ROLE)
def schedule_create(request: OrgRequest) -> HttpResponse:
    return _edit(request, None)


@org_view(ACTION_ROLE)
def schedule_edit(request: OrgRequest, pk: int) -> HttpResponse:
    return _edit(
        request, get_for_org(PowerSchedule.objects.select_related("saved_view"), request, pk=pk)
    )


@org_view(ACTION_ROLE)
@require_POST
@vary_on_headers("HX-Request")
def schedule_preview_panel(request: OrgRequest) -> HttpResponse:
    """The preview of the form as it stands (HTMX, as the form changes): nothing is saved."""
    schedule_pk = request.POST.get("schedule")
    schedule = None
    if schedule_pk and schedule_pk.isdigit():
        schedule = get_for_org(PowerSchedule, request, pk=int(schedule_pk))
    form = PowerScheduleForm(
        request.POST, organization=request.organization, user=request.user, schedule=schedule
    )
    return render(request, PREVIEW, {"form": form, "preview": _preview(request, form)})


@org_view(ACTION_ROLE)
@require_POST
def schedule_delete(request: OrgRequest, pk: int) -> HttpResponse:
    schedule = get_for_org(PowerSchedule.objects.select_related("organization"), request, pk=pk)
    power_schedule_delete(schedule=schedule, user=request.user, ip=client_ip(request))
    messages.success(request, f"Deleted the schedule {schedule.name}.")
    return redirect("inventory:schedule_list")
