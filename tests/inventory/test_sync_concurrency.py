"""One sync per account at a time, whatever runs it; ten "Sync now" at once make one run; a
killed worker is recovered.

These tests commit for real (transaction=True) and start real processes: `manage.py
sync_accounts` killed with SIGKILL mid-sync, and two `qcluster`s sharing a Redis broker.
(A whole q2 cluster killed mid-sync: tests/security/test_killed_workers.py.)
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import redis
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf

from accounts.models import AuditEvent
from emulators.proxy import ForwardingProxy
from inventory.models import Resource, SyncRun
from inventory.services.sync import SYNC_ABANDONED, cloud_account_sync
from inventory.tasks import sync_run
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account
from tests.processes import ROOT, app_env, running

pytestmark = pytest.mark.django_db(transaction=True)

REGIONS = ["eu-west-1", "us-east-1", "eu-central-1"]


@pytest.fixture
def account(aws, org):
    for region in REGIONS:
        aws_estate.instances(aws, region, 3)
    return aws_account(org, aws.create_user_key("reader"), regions=REGIONS)


@pytest.fixture
def slow_aws(aws, settings):
    """moto behind a proxy that makes every call take 0.2 s, so syncs overlap."""
    with ForwardingProxy(aws.url) as proxy:
        proxy.faults.set(latency=0.2)
        settings.AWS_ENDPOINT_URL = proxy.url
        yield proxy


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def test_two_concurrent_syncs_of_one_account_run_once(account, slow_aws):
    results: list[SyncRun | None] = []
    barrier = threading.Barrier(2)

    def sync() -> None:
        barrier.wait()
        try:
            results.append(cloud_account_sync(account=account))
        finally:
            connection.close()

    threads = [threading.Thread(target=sync) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ran = [r for r in results if r is not None]
    assert len(results) == 2
    assert len(ran) == 1, results
    assert ran[0].status == SyncRun.State.SUCCEEDED
    assert SyncRun.objects.count() == 1
    assert Resource.objects.filter(type="vm").count() == 9


def test_ten_concurrent_sync_now_make_one_run_and_ten_answers_naming_it(
    account, login, bob, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # queued for a cluster, as in production
    broker = get_broker()
    broker.purge_queue()
    clients = [login(bob) for _ in range(10)]
    url = reverse("inventory:sync_now", args=[account.pk])
    barrier = threading.Barrier(len(clients))
    answers: list[str] = []

    def press(client) -> None:
        try:
            barrier.wait()
            answers.append(client.post(url, headers={"HX-Request": "true"}).content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    [run] = SyncRun.objects.all()
    assert run.status == SyncRun.State.QUEUED
    progress = reverse("inventory:sync_run_progress", args=[run.pk])
    assert len(answers) == 10
    assert all(f'hx-get="{progress}"' in answer for answer in answers)
    assert broker.queue_size() == 1  # queued once, not once per answer
    assert sync_run(run.pk) == SyncRun.State.SUCCEEDED


def test_a_killed_worker_is_recovered_and_the_inventory_stays(account, slow_aws, settings):
    first = cloud_account_sync(account=account)
    assert first.status == SyncRun.State.SUCCEEDED
    before = set(Resource.objects.values_list("resource_id", "deleted_at", "status"))
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "sync_accounts", "--account", str(account.pk)],
        cwd=ROOT,
        # One region at a time, so that the sync is seen with some regions written and
        # others not (progress counts regions, and three in parallel end together).
        env=app_env(AWS_ENDPOINT_URL=slow_aws.url, LEASE_SECONDS="3", SYNC_CONCURRENCY="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(
        lambda: SyncRun.objects.filter(status=SyncRun.State.RUNNING, scopes_done__gte=1).exists()
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    dead = SyncRun.objects.get(status=SyncRun.State.RUNNING)
    assert dead.finished_at is None
    # Nothing the dead worker had not finished is lost, and nothing was half-written.
    assert set(Resource.objects.values_list("resource_id", "deleted_at", "status")) == before

    settings.LEASE_SECONDS = 3
    account.refresh_from_db()
    assert account.lease_until is not None  # the dead worker's lease is still there...
    _wait_for(lambda: timezone.now() > account.lease_until, timeout=10)  # ...until it expires
    after = cloud_account_sync(account=account)
    assert after.status == SyncRun.State.SUCCEEDED
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (SyncRun.State.FAILED, SYNC_ABANDONED)
    assert AuditEvent.objects.filter(action="sync.failed", data__run=dead.pk).exists()
    assert set(Resource.objects.values_list("resource_id", "deleted_at", "status")) == before


def _redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis does not answer at {url}, and CI requires it.")
        pytest.skip(f"Redis does not answer at {url}")
    return url


def test_two_qclusters_on_the_redis_broker_never_double_run(account, slow_aws):
    """Six sync tasks of one account, two clusters of two workers: no overlap, no duplicate."""
    url = _redis_url()
    env = {"REDIS_URL": url, "AWS_ENDPOINT_URL": slow_aws.url, "Q_WORKERS": "2"}
    enqueue = (
        "from django_q.tasks import async_task\n"
        f"for _ in range(6): async_task('inventory.tasks.sync_account', {account.pk}, 'command')"
    )
    with running("qcluster", **env), running("qcluster", **env):
        subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", enqueue],
            cwd=ROOT,
            env=app_env(**env),
            check=True,
            timeout=60,
            capture_output=True,
        )
        from django_q.models import Task

        _wait_for(
            lambda: Task.objects.filter(func="inventory.tasks.sync_account").count() == 6,
            timeout=120,
        )
    tasks = Task.objects.filter(func="inventory.tasks.sync_account")
    assert all(task.success for task in tasks), [t.result for t in tasks]
    runs = list(SyncRun.objects.order_by("started_at"))
    assert runs
    assert all(run.status == SyncRun.State.SUCCEEDED for run in runs)
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at <= later.started_at  # one at a time
    skipped = [t for t in tasks if str(t.result).startswith("skipped")]
    assert len(runs) + len(skipped) == 6
    assert Resource.objects.filter(type="vm").count() == 9
    assert Resource.objects.values("account", "resource_id").distinct().count() == (
        Resource.objects.count()
    )
