"""Blueprint pages: the list (bundled and the organization's own), a version's files and
variables, and the admins' uploads (a new blueprint, or a new version of one)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.audit import client_ip
from accounts.roles import Role
from accounts.tenancy import OrgRequest, get_for_org, org_view
from provisioning import selectors
from provisioning.blueprint_files import BlueprintError
from provisioning.forms import BlueprintCreateForm, BlueprintFilesForm
from provisioning.models import Blueprint
from provisioning.services import blueprints as services


@org_view(Role.VIEWER)
def blueprint_list(request: OrgRequest) -> HttpResponse:
    return render(request, "provisioning/blueprint_list.html", {
        "blueprints": selectors.blueprint_list(organization=request.organization),
        "can_manage": _may_upload(request),
        "can_plan": request.role.allows(Role.MEMBER),
    })  # fmt: skip


@org_view(Role.VIEWER)
def blueprint_detail(request: OrgRequest, pk: int) -> HttpResponse:
    # Bundled blueprints belong to no organization, so this looks in the organization's list
    # (its own and the bundled ones) rather than with get_for_org: another's is still a 404.
    blueprint = get_object_or_404(
        selectors.blueprint_list(organization=request.organization), pk=pk
    )
    versions = list(blueprint.versions.only("id", "number", "checksum", "created_at", "cloud"))
    wanted = request.GET.get("version", "")
    version = next((v for v in versions if str(v.number) == wanted), None)
    version = blueprint.versions.get(pk=(version or versions[0]).pk) if versions else None
    return render(request, "provisioning/blueprint_detail.html", {
        "blueprint": blueprint,
        "version": version,
        "versions": versions,
        "files": sorted(version.files.items()) if version else [],
        "variables": version.variable_list() if version else [],
        "can_manage": not blueprint.is_bundled and _may_upload(request),
        "can_plan": request.role.allows(Role.MEMBER),
    })  # fmt: skip


def _upload_refusal(request: OrgRequest) -> str:
    return services.blueprint_upload_refusal(user=request.user, role=request.role)


def _may_upload(request: OrgRequest) -> bool:
    return not _upload_refusal(request)


def _require_upload_right(request: OrgRequest) -> None:
    if refusal := _upload_refusal(request):
        raise PermissionDenied(refusal)


@org_view(Role.ADMIN)
def blueprint_create(request: OrgRequest) -> HttpResponse:
    _require_upload_right(request)
    form = BlueprintCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            blueprint = services.blueprint_create(
                organization=request.organization,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                files=form.files_found,
                user=request.user,
                ip=client_ip(request),
            )
        except BlueprintError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Added the blueprint {blueprint.name}.")
            return redirect("provisioning:blueprint_detail", pk=blueprint.pk)
    return render(request, "provisioning/blueprint_form.html", {"form": form})


@org_view(Role.ADMIN)
def blueprint_upload(request: OrgRequest, pk: int) -> HttpResponse:
    """A new version of one of the organization's own blueprints."""
    blueprint = get_for_org(Blueprint, request, pk=pk)
    _require_upload_right(request)
    form = BlueprintFilesForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.blueprint_version_add(
                blueprint=blueprint,
                files=form.files_found,
                user=request.user,
                ip=client_ip(request),
            )
        except BlueprintError as error:
            form.add_error(None, str(error))
        else:
            if version is None:
                messages.info(request, "These files are those of the latest version already.")
            else:
                messages.success(request, f"Added version {version.number} of {blueprint.name}.")
            return redirect("provisioning:blueprint_detail", pk=blueprint.pk)
    return render(
        request, "provisioning/blueprint_form.html", {"form": form, "blueprint": blueprint}
    )
