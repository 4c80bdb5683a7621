"""The connection forms' set-up instructions (inventory.onboarding) in templates."""

from __future__ import annotations

from django import template

from inventory import onboarding

register = template.Library()
register.simple_tag(onboarding.aws_principal, name="aws_principal")
register.filter("aws_trust_policy", onboarding.aws_trust_policy)
