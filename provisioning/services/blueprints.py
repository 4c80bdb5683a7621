"""Blueprints: the bundled ones kept in step with provisioning/blueprints/, and organizations'
own, uploaded as a zip or pasted. Each change of files is a new version; nothing is ever
rewritten in place, so a deployment's version stays exactly what it was."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.text import slugify

from accounts.audit import audit_record
from accounts.models import Membership, Organization, User
from accounts.roles import Role
from mcloud.clouds.registry import provider_for_terraform_source
from provisioning.blueprint_files import BlueprintError, bundled_blueprints, check_files
from provisioning.models import Blueprint, BlueprintVersion
from provisioning.variables import parse_variables

_SOURCE = re.compile(r'source\s*=\s*"(?:registry\.terraform\.io/)?([\w-]+/[\w-]+)"')


def blueprint_upload_refusal(*, user: User, role: Role | None) -> str:
    """Why `user`, with `role` in an organization, may not upload blueprints into it
    (BLUEPRINT_UPLOADS), or "".

    A blueprint is code that workers run: an instance decides who may bring it in.
    """
    policy = settings.BLUEPRINT_UPLOADS
    if policy == "off":
        return "Uploading blueprints is turned off on this instance: use the bundled ones."
    if role is None or not role.allows(Role.ADMIN):
        return "Only admins upload blueprints."
    if policy == "staff" and not user.is_staff:
        return "On this instance only staff upload blueprints: ask your mcloud operator."
    return ""


def _require_upload_right(organization: Organization, user: User) -> None:
    membership = Membership.objects.filter(organization=organization, user=user).first()
    role = membership.role_enum if membership else None
    if refusal := blueprint_upload_refusal(user=user, role=role):
        raise PermissionDenied(refusal)


def checksum(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def cloud_of(files: dict[str, str]) -> str:
    """The cloud whose Terraform provider the blueprint requires (the first one named, as the
    registry's entries know them), or ""."""
    for path in sorted(files):
        if path.endswith((".tf", ".tf.json")):
            for source in _SOURCE.findall(files[path]):
                if (provider := provider_for_terraform_source(source)) is not None:
                    return provider.key
    return ""


def version_fields(files: dict[str, str]) -> dict[str, Any]:
    """What a new version stores, or BlueprintError: refused before anything is written."""
    check_files(files)
    variables = parse_variables(files)
    return {
        "files": files,
        "variables": [dataclasses.asdict(v) for v in variables],
        "checksum": checksum(files),
        "cloud": cloud_of(files),
    }


def _add_version(
    blueprint: Blueprint, fields: dict[str, Any], user: User | None
) -> BlueprintVersion | None:
    """A new version, or None when the files are those of the latest one."""
    latest = blueprint.versions.order_by("-number").first()
    if latest is not None and latest.checksum == fields["checksum"]:
        return None
    version = BlueprintVersion.objects.create(
        blueprint=blueprint,
        number=(latest.number if latest else 0) + 1,
        created_by=user,
        **fields,
    )
    blueprint.latest_version = version
    blueprint.save(update_fields=["latest_version", "updated_at"])
    return version


def blueprint_sync_bundled(**kwargs: Any) -> list[BlueprintVersion]:
    """Bring the bundled blueprints into the database (post_migrate): a new version of each
    whose files changed. Running it again changes nothing."""
    added = []
    for bundled in bundled_blueprints():
        with transaction.atomic():
            blueprint, _ = Blueprint.objects.update_or_create(
                organization=None,
                slug=bundled.slug,
                defaults={"name": bundled.name, "description": bundled.description[:500]},
            )
            version = _add_version(blueprint, version_fields(bundled.files), None)
            if version is not None:
                added.append(version)
    return added


def blueprint_create(
    *,
    organization: Organization,
    name: str,
    description: str,
    files: dict[str, str],
    user: User,
    ip: str | None = None,
) -> Blueprint:
    """An organization's own blueprint with its first version. Raises BlueprintError, and
    PermissionDenied when the user may not upload (`blueprint_upload_refusal`)."""
    _require_upload_right(organization, user)
    fields = version_fields(files)
    slug = slugify(name)[:64] or "blueprint"
    with transaction.atomic():
        if Blueprint.objects.filter(organization=organization, slug=slug).exists():
            raise BlueprintError(f"This organization already has a blueprint named {name!r}.")
        blueprint = Blueprint.objects.create(
            organization=organization,
            slug=slug,
            name=name,
            description=description,
            created_by=user,
        )
        version = _add_version(blueprint, fields, user)
        audit_record(
            organization=organization, action="blueprint.created", actor=user, target=blueprint,
            data={"version": version.number if version else None, "files": sorted(files)},
            ip=ip,
        )  # fmt: skip
    return blueprint


def blueprint_version_add(
    *, blueprint: Blueprint, files: dict[str, str], user: User, ip: str | None = None
) -> BlueprintVersion | None:
    """A new version of an organization's blueprint; None when nothing changed."""
    if blueprint.is_bundled:
        raise BlueprintError("Bundled blueprints change only with mcloud itself.")
    assert blueprint.organization is not None
    _require_upload_right(blueprint.organization, user)
    fields = version_fields(files)
    with transaction.atomic():
        version = _add_version(blueprint, fields, user)
        if version is not None:
            audit_record(
                organization=blueprint.organization, action="blueprint.version_added",
                actor=user, target=blueprint,
                data={"version": version.number, "files": sorted(files)}, ip=ip,
            )  # fmt: skip
    return version
