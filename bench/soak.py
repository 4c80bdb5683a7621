"""Soak: the three sandbox accounts synced continuously through a real q2 cluster of two workers
(PostgreSQL, the Redis broker) for 10 minutes, while 20% of provider calls fail or time out and
a worker is killed with SIGKILL at random every minute; then one last sync of each account with
faults off, and the checks.

    python bench/soak.py [--minutes 10] [--fault-rate 0.2] [--kill-every 60]

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (as CI has them); uses its own
database (mcloud_soak) and Redis database (BENCH_REDIS_URL, default db 9, flushed first). Starts
the emulators (`python -m emulators`, their faults set through the control endpoint's
POST /faults) and `manage.py qcluster` itself, and kills both at the end.

Faults are the emulators' own: HTTP 429 and 500, connections dropped, and answers stalled past
the client's timeout (CLOUD_TIMEOUT=3 s here, stalls of 5 s). The SDKs retry; a sync whose
retries run out ends partial or failed, which is the point. A killed worker's run is found by
the recovery (its lease, LEASE_SECONDS=10 here, expires) when the next sync is asked for.

At the end: no run stuck (queued or running), no duplicate rows, and every resource the
emulators hold (listed by the adapters once faults are off) present and live. The last line is
JSON: {"syncs_finished", "syncs_failed", "recovered_runs", "stuck_runs", "duplicate_rows",
"missing_resources"}; the exit status is 1 when the soak was not clean.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, database_url, postgres_available, table

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
ENV = {
    "DJANGO_SETTINGS_MODULE": "mcloud.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
    "FIELD_ENCRYPTION_KEYS": "JoSLCvFRg3bVmLKdHV2TJhkkD8vD4V9E5ZQUWRTVZQY=",
    "Q_SYNC": "false",
    "Q_WORKERS": "2",
    "REDIS_URL": REDIS_URL,
    "STATIC_MANIFEST": "false",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SANDBOX_ENABLED": "true",
    "LEASE_SECONDS": "10",
    # A task a killed worker took before its sync started is given up after this long.
    "TASK_TIMEOUT": "150",
    "CLOUD_TIMEOUT": "3",
    "CLOUD_RETRIES": "4",
}
STALL_SECONDS = 5.0  # past CLOUD_TIMEOUT: the client times out


def free_base() -> int:
    """Four free ports in a row, below the ephemeral range."""
    import socket

    def free(port: int) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) != 0

    while True:
        base = random.randrange(20000, 32000)
        if all(free(p) for p in range(base, base + 4)):
            return base


def start_emulators(stack: ExitStack, log: Path) -> str:
    import requests

    base = free_base()
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulators", "--port", str(base), "--drift-seconds", "86400"],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    stack.callback(kill_group, proc)
    url = f"http://127.0.0.1:{base + 3}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        with suppress(requests.RequestException):
            if requests.get(f"{url}/sandbox.json", timeout=1).ok:
                return url
        time.sleep(0.5)
    raise SystemExit(f"the emulators did not start:\n{log.read_text(errors='replace')[-2000:]}")


def set_faults(url: str, rate: float, seed: int = 1) -> dict:
    import requests

    body = {"rate": rate, "kinds": ["429", "500", "slow", "drop"],
            "slow_seconds": STALL_SECONDS, "seed": seed}  # fmt: skip
    answer = requests.post(f"{url}/faults", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def kill_group(proc: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def setup(url: str, sandbox_url: str) -> None:
    os.environ.update({**ENV, "DATABASE_URL": url, "SANDBOX_URL": sandbox_url})
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def worker_pids() -> list[int]:
    """The cluster's worker processes, as its sentinel reports them to the broker."""
    from django_q.status import Stat

    return [pid for stat in Stat.get_all() for pid in stat.workers]


def soak(args: argparse.Namespace) -> dict[str, int]:
    import redis
    from django.db.models import Count

    from accounts.models import User
    from inventory.account_adapters import adapter_for
    from inventory.models import CloudAccount, Resource, SyncRun
    from inventory.services.sandbox import sandbox_load
    from inventory.services.sync import ACTIVE, NEVER_STARTED, SYNC_ABANDONED, sync_run_request
    from mcloud.clouds.records import listing_checked
    from mcloud.leases import runs_recover_all

    redis.Redis.from_url(REDIS_URL).flushdb()
    owner = User.objects.create_user(email="soak@example.com", password="soak-password-123456")
    organization = sandbox_load(owner=owner)
    accounts = list(CloudAccount.objects.filter(organization=organization).order_by("name"))
    rng = random.Random(args.seed)
    kills: list[int] = []

    def ask_for_syncs() -> None:
        for account in accounts:  # a request recovers dead runs first, then queues if idle
            sync_run_request(account=account, trigger=SyncRun.Trigger.MANUAL)

    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        cluster_log = Path(tmp) / "qcluster.log"
        output = stack.enter_context(cluster_log.open("wb"))
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=dict(os.environ),
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        stack.callback(kill_group, cluster)

        print(f"faults at {args.fault_rate:.0%}: {set_faults(args.sandbox, args.fault_rate)}")
        started = time.monotonic()
        end = started + args.minutes * 60
        next_kill = started + args.kill_every
        while time.monotonic() < end:
            ask_for_syncs()
            if time.monotonic() >= next_kill:
                pids = worker_pids()
                if pids:
                    victim = rng.choice(pids)
                    with suppress(ProcessLookupError):
                        os.kill(victim, signal.SIGKILL)
                        kills.append(victim)
                        print(f"{time.monotonic() - started:6.0f} s  SIGKILL worker {victim}")
                next_kill += args.kill_every
            time.sleep(1)
            if cluster.poll() is not None:
                raise SystemExit(f"the cluster died:\n{cluster_log.read_text()[-2000:]}")

        counts = set_faults(args.sandbox, 0.0)
        print(f"faults off; injected: {counts}")
        # One last sync of each account, faults off: a run asked for now (or the one under
        # way, if it started after the faults stopped), followed to its end.
        calm = time.monotonic()
        from django.utils import timezone

        quiet_since = timezone.now()
        last: dict[int, SyncRun] = {}
        asked: dict[int, SyncRun] = {}
        deadline = time.monotonic() + 15 * 60
        while len(last) < len(accounts) and time.monotonic() < deadline:
            for account in accounts:
                if account.pk in last:
                    continue
                run = asked.get(account.pk)
                if run is not None:
                    run.refresh_from_db()
                    if not run.is_final:
                        continue
                    if run.ran and run.queued_at > quiet_since:
                        last[account.pk] = run
                        continue
                # None asked yet, or it came before the calm or could not run: ask (again).
                asked[account.pk], _ = sync_run_request(
                    account=account, trigger=SyncRun.Trigger.MANUAL
                )
            time.sleep(1)
        print(f"last syncs done in {time.monotonic() - calm:.0f} s")
        # Whatever else is under way (a scheduled sync) ends, or its worker's death is found
        # by the recovery schedule's routine, before the cluster stops: a run still active
        # after that is stuck.
        deadline = time.monotonic() + 5 * 60
        while SyncRun.objects.filter(status__in=ACTIVE).exists() and time.monotonic() < deadline:
            runs_recover_all()
            time.sleep(1)
        stuck = SyncRun.objects.filter(status__in=ACTIVE).count()
        kill_group(cluster)

    # --- the checks ---------------------------------------------------------------------
    duplicates = (
        Resource.objects.values("account_id", "resource_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    missing = 0
    rows = []
    for account in accounts:
        adapter = adapter_for(account)
        held = {
            r.resource_id
            for scope in adapter.scopes()
            for r in listing_checked(adapter.list_scope(scope)).records
            if r.status not in ("terminated", "deleting")
        }
        live = set(
            Resource.objects.filter(account=account, deleted_at__isnull=True).values_list(
                "resource_id", flat=True
            )
        )
        missing += len(held - live)
        final = last.get(account.pk)
        rows.append([account.name, len(held), len(live), len(held - live), len(live - held),
                     final.status if final else "none"])  # fmt: skip
    print(table(rows, ("account", "emulators hold", "live rows", "missing", "extra", "last sync")))
    runs = SyncRun.objects.filter(organization=organization)
    by_status = dict(runs.values_list("status").annotate(n=Count("id")))
    print(f"runs by status: {by_status}; workers killed: {len(kills)}")
    return {
        "syncs_finished": runs.filter(
            status__in=[SyncRun.State.SUCCEEDED, SyncRun.State.PARTIAL]
        ).count(),
        "syncs_failed": runs.filter(status=SyncRun.State.FAILED).count(),
        "recovered_runs": runs.filter(error__in=[SYNC_ABANDONED, NEVER_STARTED]).count(),
        "stuck_runs": stuck,
        "duplicate_rows": duplicates,
        "missing_resources": missing + sum(1 for a in accounts if a.pk not in last),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    # Stopped from outside: unwind, so the cluster and the emulators are killed too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not postgres_available():
        raise SystemExit("bench/soak.py needs PostgreSQL on 127.0.0.1:5432")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        args.sandbox = start_emulators(stack, Path(tmp) / "emulators.log")
        setup(database_url("postgresql", "mcloud_soak"), args.sandbox)
        figures = soak(args)
    clean = not (figures["stuck_runs"] or figures["duplicate_rows"] or figures["missing_resources"])
    print(json.dumps(figures))
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
