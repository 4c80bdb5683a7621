"""The audit log's details in words: no Python reprs."""

from __future__ import annotations

from django import template

from accounts.audit import audit_value

register = template.Library()
register.filter("audit_value", audit_value)
