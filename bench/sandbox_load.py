"""What "Load a sandbox estate" costs: `sandbox_load` then `sandbox_start`, as the button runs
them under the tests (Q_SYNC: every task inline), against `python -m emulators`.

    python bench/sandbox_load.py [--profile] [--backend sqlite|postgresql]

The emulators run in a process of their own, once for every backend; each backend gets a
fresh database (SQLite, and PostgreSQL when one answers on 127.0.0.1:5432) and a fresh
process. Printed per backend: the wall time of a first load (a new organization: three syncs,
three cost imports, the hello deployment), the number of SQL queries, and the time spent in
the main steps. With --profile, the 40 heaviest functions by cumulative time and the most
repeated queries as well, and the profile in var/sandbox_load-<database>.prof.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, database_url, postgres_available, table

# (label, module, function): the steps whose wall time is reported (summed over their calls,
# nested steps counted in each step that holds them).
STEPS = [
    ("syncs", "inventory.services.sync", "cloud_account_sync"),
    ("  scopes written", "inventory.services.ingest", "ingest_scope"),
    ("health checks", "inventory.services.health", "connection_check"),
    ("cost imports", "billing.services.imports", "cost_import"),
    ("  costs written", "billing.services.imports", "cost_records_replace"),
    ("  rollups", "billing.services.imports", "_rollup"),
    ("  costs per resource", "billing.services.resource_costs", "resource_costs_replace"),
    ("  costs by tag", "billing.services.imports", "tag_costs_replace"),
    ("  cost / month", "billing.services.resource_costs", "resource_figures_refresh"),
    ("  anomalies", "billing.services.anomalies", "anomalies_detect"),
    ("  budgets", "billing.services.budgets", "budgets_evaluate"),
    ("findings refreshes", "billing.services.waste", "findings_refresh"),
    ("drift checks", "provisioning.services.drift", "drift_after_sync"),
    ("hello deployment", "provisioning.sandbox_hello", "sandbox_hello"),
]


def timed(steps: dict[str, list[float]]) -> None:
    """Wrap each step's function, wherever it was imported by name, to add up its wall time."""
    import functools
    import importlib

    for label, module, name in STEPS:
        original = getattr(importlib.import_module(module), name)
        calls = steps.setdefault(label, [0, 0.0])

        @functools.wraps(original)
        def wrapper(*args, _f=original, _calls=calls, **kwargs):
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                _calls[0] += 1
                _calls[1] += time.perf_counter() - started

        for loaded in list(sys.modules.values()):
            for attr, value in list(getattr(loaded, "__dict__", {}).items()):
                if value is original:
                    setattr(loaded, attr, wrapper)
                elif type(value) is dict:  # the registries (SANDBOX_STEPS, SYNC_COMPLETIONS)
                    for key, held in list(value.items()):
                        if held is original:
                            value[key] = wrapper


def start_emulators() -> tuple[subprocess.Popen, str]:
    """`python -m emulators` on four free ports below the ephemeral range (as the tests do)."""
    import requests

    def free(base: int) -> bool:
        for port in range(base, base + 4):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return False
        return True

    base = next(p for p in iter(lambda: random.randrange(20000, 32000), None) if free(p))
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators", "--port", str(base), "--drift-seconds", "3600"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{base + 3}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{url}/sandbox.json", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the emulators did not start")


def child(backend: str, sandbox_url: str, profile: bool) -> dict:
    """One first load into a fresh database, in this process."""
    import cProfile
    import pstats

    from bench._common import setup_django

    # Mail kept in memory, as under the tests (no SMTP server to wait for).
    env = {"SANDBOX_URL": sandbox_url, "SANDBOX_ENABLED": "true", "EMAIL_URL": "memorymail://"}
    os.environ.update(env)
    setup_django(database_url(backend, os.environ.get("BENCH_DB_NAME", "bench_sandbox_load")))
    from django.db import connection

    import billing.extensions  # noqa: F401 - the steps' modules, loaded before they are wrapped
    import provisioning.sandbox_hello  # noqa: F401
    from accounts.models import User
    from inventory.models import Resource
    from inventory.services.sandbox import sandbox_load, sandbox_start

    owner = User.objects.create_user(email="bench@example.test", password="x" * 20)
    steps: dict[str, list[float]] = {}
    timed(steps)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    counted: list[str] = []

    def count(execute, sql, params, many, context):  # cheap, unlike Django's query log
        counted.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        if profile:
            profiler.enable()
        organization = sandbox_load(owner=owner)
        sandbox_start(organization=organization, owner=owner)
        profiler.disable()
    seconds = time.perf_counter() - started
    top = ""
    if profile:
        profiler.dump_stats(str(ROOT / "var" / f"sandbox_load-{backend}.prof"))
        import io

        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        top = out.getvalue()
        by_sql: dict[str, int] = {}
        for sql in counted:
            key = sql[:90]
            by_sql[key] = by_sql.get(key, 0) + 1
        top += "\nmost repeated queries:\n" + "\n".join(
            f"{n:6} {sql}" for sql, n in sorted(by_sql.items(), key=lambda kv: -kv[1])[:25]
        )
    return {
        "backend": backend,
        "seconds": round(seconds, 1),
        "queries": len(counted),
        "resources": Resource.objects.filter(organization=organization).count(),
        "steps": {k: (n, round(t, 2)) for k, (n, t) in steps.items()},
        "top": top,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "SANDBOX_URL"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.profile)))
        return
    backends = [args.backend] if args.backend else ["sqlite"]
    if not args.backend and postgres_available():
        backends.append("postgresql")
    proc, url = start_emulators()
    results = []
    try:
        for backend in backends:
            command = [sys.executable, __file__, "--child", backend, url]
            out = subprocess.run(command + (["--profile"] if args.profile else []), cwd=ROOT,
                                 capture_output=True, text=True)  # fmt: skip
            sys.stderr.write(out.stderr[-5000:])
            out.check_returncode()
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    for result in results:
        if result["top"]:
            print(f"== {result['backend']}\n{result['top']}")
    load = os.getloadavg()[0]
    rows = [
        (r["backend"], f"{r['seconds']} s", r["queries"], r["resources"], f"{load:.2f}")
        for r in results
    ]
    print(table(rows, ("database", "first load", "queries", "resources", "load avg")))
    steps = [
        (label, *(f"{r['steps'][label][1]} s ({r['steps'][label][0]}x)" for r in results))
        for label, _, _ in STEPS
    ]
    print(table(steps, ("step", *(r["backend"] for r in results))))
    figures = {r["backend"]: {"seconds": r["seconds"], "queries": r["queries"]} for r in results}
    print(json.dumps({**figures, "load_average": round(load, 2)}))


if __name__ == "__main__":
    main()
