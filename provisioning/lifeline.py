"""A lifeline from a worker to the Terraform it runs: when the worker dies, so does Terraform.

Terraform runs in a process group of its own (in a session of its own, so that `cancel()` can
interrupt it, its providers and its provisioners at once). That same independence means a
worker killed with SIGKILL (the OOM killer, django-q2 reincarnating a worker that ran past its
timeout, a host being stopped) would leave Terraform running as an orphan: applying changes,
running provisioners, with nobody to record the state it saves.

`PR_SET_PDEATHSIG` is no cure: it reaches only the direct child, while Terraform 1.0 does its
work in a second process (panicwrap), which starts the providers and the provisioners' shells.
So each `TerraformRun` session has a guard: this module run as a small Python process of its
own, reading one end of a pipe whose other end only the worker holds. The worker tells it which
process groups and which working directory to look after; the kernel closes the pipe when the
worker dies, however it dies, and the guard then kills those groups with SIGKILL and removes the
directory. A session that ends normally says "done" first, and the guard just exits.

The guard ignores SIGINT, SIGTERM and SIGHUP and runs in a session of its own, so that what
stops the worker (a terminal's Ctrl-C, a service manager's SIGTERM) cannot stop it first; it
never outlives the worker by more than its clean-up. It imports only the standard library and
runs with `-I -S`, so it starts in a few tens of milliseconds.

POSIX only, as the rest of the engine (process groups): nothing here is Linux-specific.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO

_live: weakref.WeakSet[Lifeline] = weakref.WeakSet()


class Lifeline:
    """The worker's end: start a guard, tell it what to clean up should this process die."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._groups: set[int] = set()
        self._dirs: list[str] = []
        self._closed = False
        self._guard = self._start()
        _live.add(self)

    def __enter__(self) -> Lifeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def watch_dir(self, path: str | os.PathLike[str]) -> None:
        """Remove `path` (a private working directory) if this process dies."""
        self._send("dir", str(path), remember=lambda: self._dirs.append(str(path)))

    def hold(self, pgid: int) -> None:
        """Kill process group `pgid` if this process dies. Call before the group runs anything
        that matters, and `release()` it before its leader is reaped (then the id is free for
        the system to reuse)."""
        self._send("hold", pgid, remember=lambda: self._groups.add(pgid))

    def release(self, pgid: int) -> None:
        self._send("release", pgid, remember=lambda: self._groups.discard(pgid))

    def close(self) -> None:
        """The session ended normally: the guard exits without killing or removing anything."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            stdin = self._guard.stdin
            assert stdin is not None
            with suppress(OSError):
                stdin.write(b'["done", null]\n')
                stdin.flush()
            with suppress(OSError):
                stdin.close()
        try:
            self._guard.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._guard.kill()
            self._guard.wait()

    # --- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 (our interpreter, our module, no user input)
            [sys.executable, "-I", "-S", str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )

    def _send(self, op: str, arg: str | int, *, remember: Callable[[], object]) -> None:
        with self._mutex:
            if self._closed:
                raise RuntimeError("this lifeline is closed")
            remember()
            try:
                _write(self._guard.stdin, [op, arg])
            except OSError:
                # The guard died (someone killed it): start another and tell it everything.
                self._guard.wait()
                self._guard = self._start()
                for path in self._dirs:
                    _write(self._guard.stdin, ["dir", path])
                for pgid in sorted(self._groups):
                    _write(self._guard.stdin, ["hold", pgid])

    def _forget_in_child(self) -> None:
        """In a forked child: let go of the pipe without a word, so that the guard still
        watches the parent alone."""
        self._closed = True
        if self._guard.stdin is not None:
            with suppress(OSError):
                self._guard.stdin.close()  # this process's copy only; nothing buffered


def _write(stream: IO[bytes] | None, message: list[object]) -> None:
    assert stream is not None
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def _after_fork_in_child() -> None:
    for lifeline in list(_live):
        lifeline._forget_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)


# --- the guard's end -----------------------------------------------------------------------------


def guard(commands: IO[bytes]) -> None:
    """Follow the worker's commands until "done" (return) or the end of the pipe (clean up)."""
    groups: set[int] = set()
    dirs: list[str] = []
    for line in commands:
        op, arg = json.loads(line)
        if op == "done":
            return
        if op == "hold":
            groups.add(int(arg))
        elif op == "release":
            groups.discard(int(arg))
        elif op == "dir":
            dirs.append(str(arg))
    # The worker is gone without saying "done".
    for pgid in groups:
        with suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
    for path in dirs:
        _remove(Path(path))


def _remove(path: Path) -> None:
    # A process of a group just killed may still be finishing a write into the directory;
    # try again for a little while rather than leave half of it behind.
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.1)


if __name__ == "__main__":
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, signal.SIG_IGN)
    guard(sys.stdin.buffer)
