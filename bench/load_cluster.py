"""Load as in production: PostgreSQL, the Redis broker, gunicorn with 4 workers and a django-q2
cluster syncing the sandbox every minute, while 100 concurrent logged-in clients use the
dashboard, inventory, billing and the API for 60 seconds (locust, headless).

    python bench/load_cluster.py [--users 100] [--seconds 60]

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (as CI has them). Builds an
inventory of 100,000 resources with a year of costs in one organization, loads the sandbox
organization from the emulators (`python -m emulators`, started here) with its accounts on a
one-minute schedule, then starts gunicorn, `manage.py qcluster` and locust. Target: zero
errors. Prints requests, throughput and p50 / p99 per kind of page, and the syncs the cluster
finished meanwhile.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, database_url, postgres_available, setup_django, table

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
WORKERS = 4
CLIENTS_PER_USER = 5  # sessions share people, as teams do


def free_port(span: int = 1) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + span < 65535 and all(_free(p) for p in range(base, base + span)):
            return base


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


def wait_for(url: str, seconds: float = 90) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit(f"{url} did not answer")


def start(stack: ExitStack, args: list[str], env: dict[str, str], log: Path) -> None:
    out = stack.enter_context(log.open("w"))
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    stack.callback(stop)


def identities(users: int, sandbox_url: str) -> dict:
    """The bench organization with 100,000 resources, people with sessions and API tokens,
    and the sandbox organization whose accounts sync every minute."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.test.client import RequestFactory

    from accounts.models import Membership, User
    from accounts.roles import Role
    from accounts.tenancy import SESSION_KEY
    from accounts.tokens import token_create
    from bench.pages import build
    from inventory.extensions import TILES
    from inventory.models import CloudAccount, Resource
    from inventory.schedules import account_schedule_update
    from inventory.services.sandbox import sandbox_load

    org, owner = build(100_000)
    sandbox = sandbox_load(owner=owner)
    for account in CloudAccount.objects.filter(organization=sandbox):
        account.sync_interval_minutes = 1
        account.save(update_fields=["sync_interval_minutes"])
        account_schedule_update(account)
    people = [owner]
    roles = (Role.ADMIN, Role.MEMBER, Role.VIEWER)
    for n in range(1, max(1, users // CLIENTS_PER_USER)):
        person = User.objects.create_user(email=f"person{n}@bench.test", password=None)
        Membership.objects.create(organization=org, user=person, role=roles[n % 3])
        people.append(person)
    clients = []
    for n in range(users):
        person = people[n % len(people)]
        session = SessionStore()
        session.update({
            "_auth_user_id": str(person.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": person.get_session_auth_hash(),
            SESSION_KEY: org.pk,
        })  # fmt: skip
        session.create()
        request = RequestFactory().post("/")
        request.user = person
        membership = Membership.objects.get(organization=org, user=person)
        _, token = token_create(
            user=person, organization=org, name=f"load {n}", role=membership.role_enum,
            expires_in_days=1, request=request,
        )  # fmt: skip
        clients.append({"session": session.session_key, "token": token})
    resources = list(
        Resource.objects.filter(account__organization=org).values_list("pk", flat=True)[:500]
    )
    return {"clients": clients, "resources": resources, "tiles": sorted(TILES), "sandbox": sandbox}


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with Path(f"{prefix}_stats.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    options = parser.parse_args()
    if not postgres_available():
        sys.exit("PostgreSQL does not answer on 127.0.0.1:5432 (this benchmark needs it).")
    if not redis_available():
        sys.exit(f"Redis does not answer at {REDIS_URL} (this benchmark needs it).")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    emulator_port, web_port = free_port(4), free_port()
    sandbox_url = f"http://127.0.0.1:{emulator_port + 3}"
    os.environ.update({"SANDBOX_URL": sandbox_url, "SANDBOX_ENABLED": "true"})
    work = Path(tempfile.mkdtemp(prefix="mcloud-load-"))
    with ExitStack() as stack:
        start(stack, [sys.executable, "-m", "emulators", "--port", str(emulator_port)],
              dict(os.environ), work / "emulators.log")  # fmt: skip
        wait_for(f"{sandbox_url}/sandbox.json")
        url = database_url("postgresql", "bench_cluster")
        setup_django(url)
        print("Building 100,000 resources and a year of costs, and the sandbox…")
        found = identities(options.users, sandbox_url)
        sandbox = found.pop("sandbox")
        (work / "identities.json").write_text(json.dumps(found))
        from django.db import connections

        connections.close_all()
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "Q_SYNC": "false",
               "GUNICORN_BIND": f"127.0.0.1:{web_port}", "WEB_CONCURRENCY": str(WORKERS),
               "GUNICORN_THREADS": "4", "Q_WORKERS": "2",
               "LOAD_IDENTITIES": str(work / "identities.json")}  # fmt: skip
        start(stack, [sys.executable, "manage.py", "qcluster"], env, work / "qcluster.log")
        start(stack, [sys.executable, "-m", "gunicorn", "mcloud.wsgi", "--config",
                      "gunicorn.conf.py", "--access-logfile", "/dev/null"],
              env, work / "gunicorn.log")  # fmt: skip
        base = f"http://127.0.0.1:{web_port}"
        wait_for(f"{base}/health")
        from django.utils import timezone

        from inventory.models import SyncRun

        began = timezone.now()
        print(f"{options.users} clients for {options.seconds} s against {base}…")
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
             "--headless", "-u", str(options.users), "-r", str(max(1, options.users // 10)),
             "-t", f"{options.seconds}s", "--host", base, "--csv", str(work / "locust"),
             "--only-summary", "--stop-timeout", "10"],
            cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL,
            stderr=stack.enter_context((work / "locust.log").open("w")),
        )  # fmt: skip
        syncs = SyncRun.objects.filter(account__organization=sandbox, queued_at__gte=began)
        synced = syncs.filter(status=SyncRun.State.SUCCEEDED).count()
        failed_syncs = syncs.filter(status=SyncRun.State.FAILED).count()
    stats = read_stats(work / "locust")
    rows = [
        (s["Name"], int(s["Request Count"]), int(s["Failure Count"]),
         f'{float(s["Requests/s"]):.1f}', s["50%"], s["99%"])
        for s in stats
    ]  # fmt: skip
    total = next(s for s in stats if s["Name"] == "Aggregated")
    print(table(rows, ("page", "requests", "errors", "req/s", "p50 ms", "p99 ms")))
    print(f"\nSandbox syncs finished by the q2 cluster meanwhile: {synced} "
          f"(failed: {failed_syncs}). Logs: {work}")  # fmt: skip
    print("Target: zero errors.")
    print(json.dumps({
        "users": options.users, "seconds": options.seconds,
        "requests": int(total["Request Count"]), "errors": int(total["Failure Count"]),
        "rps": round(float(total["Requests/s"]), 1), "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]), "syncs": synced, "failed_syncs": failed_syncs,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
