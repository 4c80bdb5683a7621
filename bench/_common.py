"""Shared set-up of the benchmark scripts: a private database per backend, and the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def postgres_available() -> bool:
    try:
        import psycopg

        psycopg.connect(
            PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), connect_timeout=3
        ).close()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    return True


def database_url(backend: str, name: str) -> str:
    """A fresh database for one benchmark run."""
    if backend == "sqlite":
        path = ROOT / "var" / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(
        PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def setup_django(url: str) -> None:
    """Configure Django on `url` (as DEBUG is off in production) and migrate it."""
    os.environ.update({
        "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "mcloud.settings", "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
        "FIELD_ENCRYPTION_KEYS": "JoSLCvFRg3bVmLKdHV2TJhkkD8vD4V9E5ZQUWRTVZQY=",
        "Q_SYNC": "true", "REDIS_URL": "", "STATIC_MANIFEST": "false",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false",
    })  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def run_child(script: str, *args: str) -> dict:
    """Run this benchmark for one backend in a fresh process; return its JSON line."""
    out = subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True,
                         text=True)  # fmt: skip
    sys.stderr.write(out.stderr)
    out.check_returncode()
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [line.format(*header), line.format(*("-" * w for w in widths))]
        + [line.format(*map(str, row)) for row in rows]
    )
