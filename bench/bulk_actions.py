"""Bulk stop: 1,000 running VMs across three accounts (AWS in moto, Azure and GCP in our fakes),
one bulk action through a real q2 cluster, with each provider's rate limit; then the checks,
from the emulators' own logs of the calls they received.

    python bench/bulk_actions.py [--vms 1000] [--workers 4]

Uses PostgreSQL on 127.0.0.1:5432 when it answers (its own database, mcloud_bulk), SQLite
otherwise, and Redis on 127.0.0.1:6379 when it answers (BENCH_REDIS_URL, default db 10,
flushed first: the broker and the rate limiter's buckets), the database otherwise. The
emulators run in this process; `manage.py qcluster` in its own, killed at the end.

Seeding the VMs and the first sync of the three accounts are timed apart and not counted.
The time counted runs from the request (`start_bulk_action`) to the bulk action's end,
including the one re-sync of each account's scope after the stops.

Checked, per provider: every VM was stopped with exactly one stop call, and the stop calls
kept the provider's limit (rate r a second, bucket b): over every stretch of time T between
two calls, at most b + r * T calls (plus one for the network's jitter between a token being
taken and its call arriving). The last line is JSON: {"vms", "seconds", "vms_per_second",
"stops_sent", "failed", "rate_limits_respected", "providers": {...}}.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, database_url, postgres_available, table

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
REGION, SUBSCRIPTION, PROJECT = "eu-west-1", "00000000-0000-0000-0000-0000000000b1", "bulk-bench"
TENANT, CLIENT, SECRET = "11111111-1111-1111-1111-111111111111", "bench-app", "bench-secret"


def redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    return True


class Emulators:
    """moto behind a proxy that notes when each StopInstances came, and the two fakes."""

    def __init__(self, stack: ExitStack) -> None:
        from emulators.aws import AwsEmulator
        from emulators.azure import AzureFake
        from emulators.base import Request, Response
        from emulators.gcp import GcpFake
        from emulators.proxy import ForwardingProxy

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.aws = stack.enter_context(AwsEmulator())
        self.aws_stops: list[float] = []
        stops = self.aws_stops

        class StopLog(ForwardingProxy):
            def dispatch(self, request: Request) -> tuple[Response, bool]:
                if b"Action=StopInstances" in request.body:
                    stops.append(time.time())
                return super().dispatch(request)

        self.proxy = StopLog(self.aws.url).start()
        stack.callback(self.proxy.stop)
        self.azure = AzureFake().start()
        stack.callback(self.azure.stop)
        self.gcp = GcpFake().start()
        stack.callback(self.gcp.stop)

    def env(self) -> dict[str, str]:
        key_id, secret = self.aws.admin_key
        return {
            "AWS_ENDPOINT_URL": self.proxy.url, "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret, "AZURE_ARM_ENDPOINT": self.azure.base_url,
            "AZURE_AUTHORITY_HOST": self.azure.authority,
            "AZURE_CA_BUNDLE": self.azure.ca_bundle or "",
            **{f"GCP_{name}_ENDPOINT": self.gcp.url
               for name in ("COMPUTE", "ASSET", "RESOURCE_MANAGER", "STORAGE", "BIGQUERY")},
            "GCP_TOKEN_URI": f"{self.gcp.url}/token", "CLOUD_POLL_SECONDS": "0.01",
        }  # fmt: skip

    def seed(self, per_provider: int) -> dict[str, Any]:
        """`per_provider` running VMs in each cloud; the credentials of each account."""
        ec2 = self.aws.client("ec2", REGION)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        left = per_provider
        while left:
            batch = min(left, 250)
            ec2.run_instances(ImageId=image, MinCount=batch, MaxCount=batch,
                              InstanceType="t3.micro")  # fmt: skip
            left -= batch
        self.azure.add_subscription(SUBSCRIPTION, "Bench", TENANT)
        self.azure.add_app(TENANT, CLIENT, SECRET, [SUBSCRIPTION])
        for n in range(per_provider):
            self.azure.add_vm(SUBSCRIPTION, name=f"vm-{n:04d}", resource_group="rg-bench")
        key = self.gcp.add_service_account(PROJECT)
        for n in range(per_provider):
            self.gcp.add_instance(PROJECT, name=f"vm-{n:04d}")
        return {"aws": self.aws.create_user_key("operator"), "gcp": key}

    def stop_times(self) -> dict[str, list[float]]:
        azure = self.azure.call_times("POST", r"/subscriptions/.*/virtualMachines/[^/]+/deallocate")
        gcp = self.gcp.call_times("POST", r"/compute/v1/projects/.*/instances/[^/]+/stop")
        return {"aws": sorted(self.aws_stops), "azure": sorted(azure), "gcp": sorted(gcp)}


def excess(times: list[float], rate: float, burst: int) -> float:
    """The most calls over the limit in any stretch between two calls: for calls i..j,
    (j - i + 1) - burst - rate * (t_j - t_i); at most 0 keeps the limit exactly."""
    worst = float("-inf")
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - burst - rate * (times[j] - start))
    return worst if times else 0.0


def accounts(org: Any, keys: dict[str, Any]) -> list[Any]:
    import json as json_module

    from inventory.models import CloudAccount

    aws_key = keys["aws"]
    gcp_key = keys["gcp"]
    return [
        CloudAccount.objects.create(
            organization=org, provider="aws", name="aws-bench",
            config={"auth_method": "keys", "access_key_id": aws_key[0], "regions": [REGION]},
            secrets={"secret_access_key": aws_key[1]},
        ),
        CloudAccount.objects.create(
            organization=org, provider="azure", name="azure-bench",
            config={"tenant_id": TENANT, "client_id": CLIENT,
                    "subscription_ids": [SUBSCRIPTION]},
            secrets={"client_secret": SECRET},
        ),
        CloudAccount.objects.create(
            organization=org, provider="gcp", name="gcp-bench",
            config={"client_email": gcp_key["client_email"], "key_id": gcp_key["private_key_id"],
                    "project_ids": [PROJECT]},
            secrets={"service_account_key": json_module.dumps(gcp_key)},
        ),
    ]  # fmt: skip


def kill_group(proc: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def run(args: argparse.Namespace) -> dict[str, Any]:
    backend = "postgresql" if postgres_available() else "sqlite"
    use_redis = redis_available()
    print(f"database: {backend}; broker and buckets: {'redis' if use_redis else 'database'}")
    if use_redis:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        emulators = Emulators(stack)
        os.environ.update({
            "DATABASE_URL": database_url(backend, "mcloud_bulk"),
            "DJANGO_SETTINGS_MODULE": "mcloud.settings", "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
            "FIELD_ENCRYPTION_KEYS": "JoSLCvFRg3bVmLKdHV2TJhkkD8vD4V9E5ZQUWRTVZQY=",
            "Q_SYNC": "false", "Q_WORKERS": str(args.workers),
            "REDIS_URL": REDIS_URL if use_redis else "", "STATIC_MANIFEST": "false",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false",
            "ACTION_RATE_LIMITS": args.limits, **emulators.env(),
        })  # fmt: skip
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from accounts.models import Membership, Organization, User
        from inventory.models import ActionRun, BulkAction, Resource
        from inventory.rate_limit import action_limit
        from inventory.services.bulk_actions import bulk_action_figures, start_bulk_action
        from inventory.services.sync import cloud_account_sync

        per_provider = args.vms // 3
        started = time.monotonic()
        keys = emulators.seed(per_provider)
        org = Organization.objects.create(name="Bench", slug="bench")
        user = User.objects.create_user(email="ops@bench.test", password="x")  # type: ignore[attr-defined]
        Membership.objects.create(organization=org, user=user, role="member")
        for account in accounts(org, keys):
            run = cloud_account_sync(account=account)
            if run is None or run.status != "succeeded":
                raise SystemExit(f"the first sync of {account.name} did not succeed: {run}")
        vms = Resource.objects.filter(organization=org, type="vm", status="running")
        print(f"seeded and synced {vms.count()} running VMs in {time.monotonic() - started:.1f} s "
              "(not counted)")  # fmt: skip

        log = Path(tmp) / "qcluster.log"
        with log.open("wb") as output:
            cluster = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=dict(os.environ),
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        stack.callback(kill_group, cluster)
        time.sleep(3)  # the cluster's workers start
        began = time.monotonic()
        bulk = start_bulk_action(organization=org, user=user, action="stop", resources=vms,
                                 selection="every running VM")  # fmt: skip
        last = ""
        while True:
            bulk.refresh_from_db()
            figures = bulk_action_figures(bulk=bulk)
            line = (f"  {time.monotonic() - began:6.1f} s: {figures.done} done, "
                    f"{figures.failed} failed, {figures.queued + figures.running} to go "
                    f"({bulk.status})")  # fmt: skip
            if line != last:
                print(line, flush=True)
                last = line
            if bulk.is_final:
                break
            if cluster.poll() is not None:
                raise SystemExit(f"the cluster died:\n{log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() - began > args.timeout:
                raise SystemExit(f"not finished after {args.timeout} s")
            time.sleep(1)
        seconds = time.monotonic() - began

        times = emulators.stop_times()
        rows, providers, respected = [], {}, True
        for key, calls in times.items():
            limit = action_limit(key)
            worst = excess(calls, limit.rate, limit.burst)
            kept = worst <= 1.0
            respected &= kept and len(calls) == per_provider
            span = calls[-1] - calls[0] if len(calls) > 1 else 0.0
            providers[key] = {"stops": len(calls), "rate": limit.rate, "burst": limit.burst,
                              "achieved_per_s": round((len(calls) - 1) / span, 2) if span else None,
                              "max_over_limit": round(worst, 2), "kept": kept}  # fmt: skip
            rows.append((key, per_provider, len(calls), f"{limit.rate}/s, {limit.burst}",
                         providers[key]["achieved_per_s"], round(worst, 2),
                         "yes" if kept else "NO"))  # fmt: skip
        print(table(rows, ("provider", "vms", "stop calls", "limit (rate, burst)",
                           "stops/s", "max over limit", "kept")))  # fmt: skip
        stopped = Resource.objects.filter(organization=org, type="vm", status="stopped").count()
        failed = ActionRun.objects.filter(bulk=bulk, status="failed").count()
        print(
            f"bulk stop of {args.vms} VMs: {seconds:.1f} s; {stopped} stopped in the "
            f"inventory after its re-sync; {failed} failed; status {bulk.status}"
        )
        assert BulkAction.objects.filter(pk=bulk.pk, status="finished").exists()
        return {
            "vms": per_provider * 3, "seconds": round(seconds, 1),
            "vms_per_second": round(per_provider * 3 / seconds, 2),
            "stops_sent": sum(len(t) for t in times.values()), "failed": failed,
            "stopped_in_inventory": stopped, "rate_limits_respected": respected,
            "backend": backend, "workers": args.workers, "providers": providers,
        }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=1000, help="split evenly over the 3 clouds")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--limits", default="", help="ACTION_RATE_LIMITS, e.g. aws=5/20")
    parser.add_argument("--timeout", type=float, default=1800.0)
    result = run(parser.parse_args())
    print(json.dumps(result))
    if not result["rate_limits_respected"] or result["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
