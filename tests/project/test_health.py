"""`/health` answers for the database and the task queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.processes import app_env, running

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_it_answers_200_without_login_when_the_database_answers(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True
    # No q2 cluster runs in this test: the app is up but degraded.
    assert body["queue"]["ok"] is False
    assert body["status"] == "degraded"


@pytest.mark.django_db(transaction=True)
def test_it_sees_a_live_cluster(client):
    """A real `manage.py qcluster` beside the app makes the queue healthy."""
    with running("qcluster"):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = client.get("/health").json()
            if body["queue"]["ok"]:
                break
            time.sleep(0.5)
    assert body["queue"]["ok"] is True, body
    assert body["queue"]["clusters"] == 1
    assert body["status"] == "ok"


def test_it_answers_503_when_the_database_is_unreachable():
    """A real unreachable PostgreSQL server (nothing listens on port 1)."""
    script = (
        "from django.test import Client; r = Client().get('/health', "
        "HTTP_HOST='127.0.0.1'); print(r.status_code); print(r.content.decode())"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "REDIS_URL": "",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status, body = out.stdout.strip().split("\n", 1)
    assert status == "503"
    assert json.loads(body)["database"] == {"ok": False, "error": "OperationalError"}


def test_a_page_answers_a_clean_503_when_the_database_is_unreachable():
    script = (
        "from django.test import Client; r = Client().get('/accounts/login/', "
        "HTTP_HOST='127.0.0.1', secure=True); print(r.status_code); print(r.content.decode())"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "REDIS_URL": "",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status, body = out.stdout.strip().split("\n", 1)
    assert status == "503"
    assert "temporarily unavailable" in body
    assert "Traceback" not in body


def _redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis does not answer at {url}, and CI requires it.")
        pytest.skip(f"Redis does not answer at {url}")
    return url


@pytest.mark.django_db(transaction=True)
def test_it_sees_a_live_cluster_on_the_redis_broker():
    url = _redis_url()
    script = (
        "import time; from django.test import Client\n"
        "for _ in range(60):\n"
        "    body = Client().get('/health', HTTP_HOST='127.0.0.1').json()\n"
        "    if body['queue']['ok']: break\n"
        "    time.sleep(0.5)\n"
        "print(json.dumps(body))"
    )
    with running("qcluster", REDIS_URL=url):
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", "import json\n" + script],
            cwd=ROOT,
            env=app_env(REDIS_URL=url, ALLOWED_HOSTS="127.0.0.1"),
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )
    body = json.loads(out.stdout.strip().splitlines()[-1])
    assert body["queue"]["broker"] == "redis"
    assert body["queue"]["ok"] is True, body
