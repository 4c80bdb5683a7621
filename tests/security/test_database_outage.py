"""The database going away during requests gives a clean 503 page (and JSON for /health
and the API), and the app recovers by itself when the database returns. A real PostgreSQL
behind a TCP relay that the test cuts; the app runs as its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import psycopg
import pytest
import requests

from tests.processes import ROOT
from tests.tcp_proxy import TcpProxy

ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NAME = "mcloud_outage_test"


@pytest.fixture
def database():
    try:
        with psycopg.connect(ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {NAME}")
            conn.execute(f"CREATE DATABASE {NAME}")
    except psycopg.OperationalError:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL does not answer, and CI requires it.")
        pytest.skip("PostgreSQL does not answer")
    yield ADMIN.rsplit("/", 1)[0] + f"/{NAME}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_clean_503_while_the_database_is_away_then_recovery(database):
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": "",
        "Q_SYNC": "false",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "60",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    port = _free_port()
    env["DATABASE_URL"] = database.replace(":5432/", f":{proxy.port}/")
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mcloud.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--threads",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        assert requests.get(f"{base}/accounts/login/", timeout=5).status_code == 200

        proxy.cut()
        # A page that reads the database (the log-in page alone does not).
        page = requests.get(f"{base}/invitations/not-a-token/", timeout=30)
        assert page.status_code == 503
        assert "temporarily unavailable" in page.text
        assert "Traceback" not in page.text
        assert page.headers["Retry-After"] == "30"
        health = requests.get(f"{base}/health", timeout=30)
        assert health.status_code == 503
        assert health.json()["database"]["ok"] is False
        api = requests.get(
            f"{base}/api/me", timeout=30, headers={"Authorization": "Bearer mct_anything"}
        )
        assert api.status_code == 503
        assert api.json()["error"]["code"] == "unavailable"

        proxy = TcpProxy(("127.0.0.1", 5432), port=proxy.port).start()  # it comes back
        again = requests.get(f"{base}/invitations/not-a-token/", timeout=10)
        assert again.status_code == 404
        assert "This invitation link is not valid" in again.text
        assert requests.get(f"{base}/health", timeout=10).json()["database"]["ok"] is True
    finally:
        app.terminate()
        app.wait(timeout=20)
        proxy.cut()
