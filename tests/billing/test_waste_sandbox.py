"""The sandbox estate (`python -m emulators`, loaded by `manage.py demo` through the real
sync) holds examples of the waste rules on each provider: what a newcomer's Savings page
shows. The examples are built in emulators/estate_*.py (`idle_load_balancer`,
`orphan_snapshot`, `long_stopped_vm`, the spare disks and addresses)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.core.management import call_command

from accounts.models import Organization, User
from billing.models import Finding
from billing.services.waste import findings_refresh

pytestmark = pytest.mark.django_db

PROVIDERS = ("aws", "azure", "gcp")


def test_the_sandbox_holds_examples_of_the_waste_rules(sandbox):
    User.objects.create_superuser(email="admin@localhost", password="x" * 20)
    call_command("demo")
    org = Organization.objects.get(slug="sandbox")
    findings_refresh(organization=org)
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for finding in Finding.objects.filter(organization=org).select_related("resource"):
        found[(finding.resource.provider, finding.rule)].append(finding.resource.name)
        assert finding.saving > 0, (finding.rule, finding.resource.name)

    # One of each on each provider; the balancers in front of VMs, scale sets and instance
    # groups are not idle, and the snapshots of live disks are no orphans.
    idle = {p: sorted(found[(p, Finding.Rule.IDLE_LOAD_BALANCER)]) for p in PROVIDERS}
    assert idle == {
        "aws": ["web-canary"],
        "azure": ["lb-staging-legacy-api"],
        "gcp": ["prod-legacy-tcp"],
    }
    orphans = {p: sorted(found[(p, Finding.Rule.ORPHAN_SNAPSHOT)]) for p in PROVIDERS}
    assert orphans == {
        "aws": ["reports-final"],
        "azure": ["reports-staging-vm-data-final"],
        "gcp": ["prod-reports-data-final"],
    }
    # AWS and GCP say when a VM stopped: one stopped two months ago shows at once. Azure
    # does not, and the sandbox's stopped VMs were first seen stopped just now.
    stopped = {p: sorted(found[(p, Finding.Rule.STOPPED_VM)]) for p in PROVIDERS}
    assert stopped == {"aws": ["data-dev-5"], "azure": [], "gcp": ["payments-prod-11"]}
    for provider in PROVIDERS:
        assert found[(provider, Finding.Rule.UNATTACHED_DISK)], provider
        assert found[(provider, Finding.Rule.UNUSED_IP)], provider
