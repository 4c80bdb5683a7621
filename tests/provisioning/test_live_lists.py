"""The deployments list and a deployment's runs keep up by themselves: each asks again while a
run is queued or running, stops once none is (nor when the only one lost its worker), and
its answers to HTMX are fragments whose queries do not grow with the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.models import Deployment, DeploymentRun
from provisioning.services.runs import run_plan_queue
from tests.provisioning.conftest import make_deployment

pytestmark = pytest.mark.django_db
Status = DeploymentRun.Status
HTMX = {"HX-Request": "true"}
POLL = 'hx-trigger="every 3s"'


def url(name: str, *args: object) -> str:
    return reverse(f"provisioning:{name}", args=args)


def test_the_deployments_list_polls_while_a_run_is_queued_or_running(login, vera, deployment):
    client = login(vera)
    assert POLL not in client.get(url("deployment_list")).content.decode()  # never planned

    run = run_plan_queue(deployment=deployment, user=None, enqueue=False)
    page = client.get(url("deployment_list")).content.decode()
    assert 'id="deployment-table"' in page
    assert POLL in page
    fragment = client.get(url("deployment_list"), headers=HTMX).content.decode()
    assert "<html" not in fragment
    assert "Approval rules" not in fragment  # the table only
    assert 'data-run-status="queued"' in fragment
    assert POLL in fragment

    # Running under a live lease: still polling.
    token = "t" * 32
    Deployment.objects.filter(pk=deployment.pk).update(
        lease_until=timezone.now() + timedelta(minutes=5), lease_token=token
    )
    DeploymentRun.objects.filter(pk=run.pk).update(status=Status.RUNNING, lease_token=token)
    fragment = client.get(url("deployment_list"), headers=HTMX).content.decode()
    assert 'data-run-status="running"' in fragment
    assert POLL in fragment

    # Its worker gone (the lease expired): nothing will change until the recovery, so no poll.
    Deployment.objects.filter(pk=deployment.pk).update(
        lease_until=timezone.now() - timedelta(minutes=1)
    )
    fragment = client.get(url("deployment_list"), headers=HTMX).content.decode()
    assert "Worker lost" in fragment
    assert "hx-trigger" not in fragment

    DeploymentRun.objects.filter(pk=run.pk).update(status=Status.PLANNED)
    done = client.get(url("deployment_list"), headers=HTMX).content.decode()
    assert "hx-trigger" not in done  # nothing runs: the polling stops
    assert "Awaiting approval" in done


def test_the_polled_list_keeps_showing_the_archived_ones_when_asked(login, vera, deployment):
    run_plan_queue(deployment=deployment, user=None, enqueue=False)
    page = login(vera).get(url("deployment_list"), {"archived": "1"}).content.decode()
    assert f'hx-get="{url("deployment_list")}?archived=1"' in page


def test_the_runs_table_stops_polling_when_the_run_ends(login, vera, deployment):
    run = run_plan_queue(deployment=deployment, user=None, enqueue=False)
    client = login(vera)
    assert (
        'hx-trigger="every 2s"'
        in client.get(url("deployment_detail", deployment.pk)).content.decode()
    )
    DeploymentRun.objects.filter(pk=run.pk).update(status=Status.FAILED, error="boom")
    fragment = client.get(url("deployment_detail", deployment.pk), headers=HTMX).content.decode()
    assert "<html" not in fragment
    assert "Failed" in fragment
    assert "hx-trigger" not in fragment


def _deployments(org, user, version, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        d = make_deployment(org, user, version, f"d-{n}")
        runs = DeploymentRun.objects.bulk_create(
            DeploymentRun(organization=org, deployment=d, kind="plan", status=status,
                          blueprint_version=version, started_by=user, log="x" * 100)
            for status in (Status.FAILED, Status.QUEUED)
        )  # fmt: skip
        Deployment.objects.filter(pk=d.pk).update(last_run=runs[-1])


def test_the_polled_fragments_queries_do_not_grow_with_the_rows(
    login, alice, org, hello_version, django_assert_max_num_queries
):
    _deployments(org, alice, hello_version, 2)
    client = login(alice)
    first = Deployment.objects.get(name="d-0")
    # session, user, membership, the rows (and the organization switcher's list)
    with django_assert_max_num_queries(5) as few:
        fragment = client.get(url("deployment_list"), headers=HTMX).content.decode()
    assert fragment.count("<tr>") == 2 + 1
    assert POLL in fragment
    with django_assert_max_num_queries(7) as few_runs:
        client.get(url("deployment_detail", first.pk), headers=HTMX)

    _deployments(org, alice, hello_version, 28, start=2)
    DeploymentRun.objects.bulk_create(
        DeploymentRun(organization=org, deployment=first, kind="plan", status=Status.FAILED,
                      blueprint_version=hello_version, started_by=alice, log="x")
        for _ in range(30)
    )  # fmt: skip
    with django_assert_max_num_queries(len(few.captured_queries)):
        fragment = client.get(url("deployment_list"), headers=HTMX).content.decode()
    assert fragment.count("<tr>") == 30 + 1
    with django_assert_max_num_queries(len(few_runs.captured_queries)):
        fragment = client.get(url("deployment_detail", first.pk), headers=HTMX).content.decode()
    assert fragment.count("<tr>") == 32 + 1
