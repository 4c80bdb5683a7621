"""Start real app processes (q2 clusters, servers) against the test database, and find the
processes they start in turn (Linux: from /proc)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def reachable_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder that Terraform's sandbox can reach, removed afterwards.

    A root worker's sandbox runs as nobody, who must be able to enter every parent of what it
    binds: pytest's own temporary folders are closed to others, so this one is not in them.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=tempfile.gettempdir()))
    folder.chmod(0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_database_url() -> str:
    """A DATABASE_URL naming the database this test run uses."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def app_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": test_database_url(), "Q_SYNC": "false", **extra}


@contextmanager
def running(*args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `manage.py <args>` in its own process group and always kill it afterwards.

    A q2 cluster asked to stop with SIGTERM was seen hanging, so SIGKILL follows.
    """
    proc = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=app_env(**env),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break


def processes_in(directory: Path) -> dict[int, tuple[str, str]]:
    """Processes working in `directory` or below: pid -> (name, start time).

    Compared by inode, not by path: a sandboxed process names its working directory by the
    path it has inside its own mount namespace.
    """
    inodes = set()
    for folder, _, _ in os.walk(directory):
        with contextlib.suppress(OSError):
            info = os.stat(folder)
            inodes.add((info.st_dev, info.st_ino))
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.stat(entry / "cwd")
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile, or not ours to see
            continue
        if (cwd.st_dev, cwd.st_ino) in inodes:
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            found[int(entry.name)] = (name, _start_time(stat))
    return found


def process_started(pid: int) -> str:
    """The start time of process `pid`, which tells it from a later one with a recycled pid."""
    return _start_time(Path(f"/proc/{pid}/stat").read_text())


def process_running(pid: int, started: str) -> bool:
    """Whether process `pid`, started at `started`, still runs: not gone, nor a zombie that
    nobody reaped (pid 1 of a container may not reap orphans), nor another with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z" and _start_time(stat) == started


def _start_time(stat: str) -> str:
    return stat[stat.rindex(")") + 2 :].split()[19]  # field 22 of proc(5)
