"""A Terraform run that a person started is told as a toast when it ends."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.models import DeploymentRun
from provisioning.services.runs import run_plan_queue

pytestmark = pytest.mark.django_db

URL = reverse("accounts:activity")


def test_a_plan_polls_while_queued_then_says_it_awaits_approval(login, alice, bob, deployment):
    run = run_plan_queue(deployment=deployment, user=bob, enqueue=False)
    client = login(bob)
    assert 'hx-trigger="every 4s"' in client.get(URL).content.decode()
    assert 'hx-trigger="every 4s"' not in login(alice).get(URL).content.decode()  # not hers

    DeploymentRun.objects.filter(pk=run.pk).update(
        status=DeploymentRun.Status.PLANNED, finished_at=timezone.now()
    )
    body = client.get(URL).content.decode()
    assert "Plan of hello-1: awaiting approval" in body
    assert reverse("provisioning:run_detail", args=[run.pk]) in body
    assert "text-bg-success" in body
    assert "hx-trigger" not in body
