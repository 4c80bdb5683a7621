"""Writing the audit log, and what the log page needs to link its objects. Callers pass
display-safe data only, never a secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from accounts.models import AuditEvent, Organization, User


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address, trusting X-Forwarded-For only for TRUSTED_PROXY_COUNT hops."""
    if request is None:
        return None
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    organization: Organization | None,
    action: str,
    actor: User | None = None,
    actor_label: str = "",
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Record that `actor` (or a system job named by `actor_label`) did `action` to `target`,
    from address `ip` (`client_ip` of the request, for people)."""
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_label=actor.email if actor is not None else (actor_label or "system"),
        action=action,
        target_type=_type_name(target) if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        data=data or {},
        ip_address=ip,
    )


def _type_name(model: type[models.Model] | models.Model) -> str:
    """The model's name as `target_type` holds it ("cloudaccount"); only an abstract model,
    which has no rows, lacks one."""
    return model._meta.model_name or ""


@dataclass(frozen=True)
class AuditTarget:
    """Where the log links an object of one type: a URL name, with the object's pk or not."""

    model: type[models.Model]
    url_name: str
    with_pk: bool = True

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name)


# target_type (a model name) -> where its objects are shown; each app registers its own
# types in AppConfig.ready(), so accounts imports none of them.
AUDIT_TARGETS: dict[str, AuditTarget] = {}


def register_audit_target(
    model: type[models.Model], url_name: str, *, with_pk: bool = True
) -> None:
    AUDIT_TARGETS[_type_name(model)] = AuditTarget(model, url_name, with_pk)


def audit_value(value: Any) -> str:
    """None -> "—", True -> "yes", ["a", "b"] -> "a, b", {"k": 1} -> "k 1"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set):
        return ", ".join(audit_value(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {audit_value(v)}" for k, v in value.items()) if value else "none"
    return str(value)
