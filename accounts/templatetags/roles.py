from __future__ import annotations

from django import template

from accounts.roles import Role

register = template.Library()


@register.filter
def allows(role: Role | str | None, required: str) -> bool:
    """`{% if current_role|allows:"admin" %}`: may this role do what `required` may?"""
    return role is not None and Role(role).allows(Role(required))
