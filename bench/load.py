"""Load: gunicorn with 2 workers, 50 concurrent logged-in clients for 30 seconds on the
dashboard (its page and tiles) and the inventory list.

    python bench/load.py

Builds an inventory of 100,000 resources (on PostgreSQL when one answers on 127.0.0.1:5432,
else SQLite), starts gunicorn on 127.0.0.1, and drives it with wrk (Debian's `wrk`, installed
by `make test`). Target: zero errors; requests per second and p99 are printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, database_url, postgres_available, setup_django, table

CLIENTS = 50
SECONDS = 30
WORKERS = 2
LUA = ROOT / "bench" / "load_paths.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_cookie(org: object, user: object) -> str:
    from django.test import Client

    from accounts.tenancy import SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = org.pk
    session.save()
    return session.session_key


def parse(output: str) -> dict[str, float]:
    def number(pattern: str, default: float = 0.0) -> float:
        found = re.search(pattern, output)
        return float(found.group(1)) if found else default

    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                                   output))  # fmt: skip
    return {
        "requests": number(r"(\d+) requests in"),
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "p50_ms": ms(*p50.groups()) if p50 else 0.0,
        "p99_ms": ms(*p99.groups()) if p99 else 0.0,
        "errors": number(r"Answers other than 200: (\d+)") + socket_errors,
    }


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make test` installs it (apt-get install wrk).")
    backend = "postgresql" if postgres_available() else "sqlite"
    if backend == "sqlite":
        print("PostgreSQL does not answer on 127.0.0.1:5432: the app runs on SQLite.")
    url = database_url(backend, "bench_load")
    setup_django(url)
    from bench.pages import build

    print("Building an inventory of 100,000 resources…")
    org, user = build(100_000)
    cookie = session_cookie(org, user)
    port = free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(WORKERS),
           "GUNICORN_THREADS": "4", "DJANGO_SETTINGS_MODULE": "mcloud.settings"}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "mcloud.wsgi", "--config",
                               "gunicorn.conf.py", "--access-logfile", "/dev/null"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        import requests

        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{base}/health", timeout=1).status_code in (200, 503):
                    break
            except requests.RequestException:
                time.sleep(0.2)
        check = requests.get(
            base + "/inventory/", cookies={"sessionid": cookie}, timeout=10, allow_redirects=False
        )
        assert check.status_code == 200, check.status_code
        assert "resources match" in check.text, "the session cookie did not log in"
        out = subprocess.run(
            ["wrk", "-t2", f"-c{CLIENTS}", f"-d{SECONDS}s", "--latency", "--timeout", "10s",
             "-s", str(LUA), "-H", f"Cookie: sessionid={cookie}", base],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=20)
    figures = parse(out)
    print(out)
    print(table([(f"{CLIENTS} clients, {SECONDS} s, gunicorn x{WORKERS}, {backend}",
                  int(figures["requests"]), f"{figures['rps']:.1f}", f"{figures['p50_ms']:.0f}",
                  f"{figures['p99_ms']:.0f}", int(figures["errors"]))],
                ("run", "requests", "req/s", "p50 ms", "p99 ms", "errors")))  # fmt: skip
    print("\nTarget: zero errors.")
    print(json.dumps({"errors": int(figures["errors"]), "rps": round(figures["rps"], 1),
                      "p99_ms": round(figures["p99_ms"], 1), "backend": backend}))  # fmt: skip


if __name__ == "__main__":
    main()
