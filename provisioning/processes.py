"""The operating-system side of running Terraform: gated starts, process groups, memory files.

- **The gate**: each step starts as a shell that becomes the real command (exec: same process,
  same group) once it reads a line on stdin; the worker writes it after the lifeline's guard
  holds the group. Should the worker die first, the shell reads the end of the pipe and exits
  without running anything. So no Terraform ever runs unguarded.
- **Signals**: a plain step leads a process group of its own, signalled whole. A sandboxed
  step's Terraform lives in the sandbox's own session, which bwrap does not signal for us:
  interrupts go to that group (the sandbox's reaper ignores them, being its namespace's init),
  while SIGKILL goes to both, and bwrap's `--die-with-parent` takes the rest down.
- **Memory files**: the plan file and Terraform's JSON outputs hold secrets, so they live in
  anonymous memory files (memfd), never on a disk.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import threading
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from provisioning.isolation import COMMAND_PID
from provisioning.lifeline import Lifeline

GATE = 'read -r go && exec "$0" "$@" </dev/null'
STATUS_TIMEOUT = 30.0  # seconds for bwrap to say which process it started


@dataclass
class MemFile:
    """An anonymous in-memory file Terraform can open by path (Linux memfd).

    Unsandboxed, the path names our own descriptor through /proc/<our pid>: Terraform 1.0.3
    re-executes itself under panicwrap, so it must open a path, not use a descriptor. In a
    sandbox the descriptor is handed down and named through the sandbox's command, which
    Terraform is. Where memfd is missing (never with a sandbox), a private file stands in.
    """

    name: str
    fd: int
    host_path: str
    memfd: bool

    @classmethod
    def create(cls, name: str, fallback_dir: Path) -> MemFile:
        if hasattr(os, "memfd_create") and Path(f"/proc/{os.getpid()}/fd").is_dir():
            fd = os.memfd_create(name, os.MFD_CLOEXEC)
            return cls(name, fd, f"/proc/{os.getpid()}/fd/{fd}", True)
        path = fallback_dir / name
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        return cls(name, fd, str(path), False)

    def path(self, *, sandboxed: bool) -> str:
        return f"/proc/{COMMAND_PID}/fd/{self.fd}" if sandboxed else self.host_path

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        offset = 0
        while offset < len(view):
            offset += os.pwrite(self.fd, view[offset:], offset)

    def read(self) -> bytes:
        size = os.fstat(self.fd).st_size
        chunks, offset = [], 0
        while offset < size:
            chunk = os.pread(self.fd, size - offset, offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)


class Process:
    """A started step. Signals go out only until the leader is reaped, so a recycled process
    id is never signalled; the lifeline's guard lets go of the group then too."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        lifeline: Lifeline,
        sandbox_pid: int | None = None,
        status: IO[bytes] | None = None,
    ) -> None:
        self.popen = popen
        self.lifeline = lifeline
        self.sandbox_pid = sandbox_pid
        self._status = status  # kept open: bwrap writes its exit status there at the end
        self.reaped = threading.Event()
        self._mutex = threading.Lock()
        self._stopping = False

    def signal(self, sig: int) -> None:
        with self._mutex:
            if self.reaped.is_set():
                return
            if self.sandbox_pid is not None and not self.exited():
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.sandbox_pid, sig)
            if self.sandbox_pid is None or sig == signal.SIGKILL:
                with suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, sig)

    def exited(self) -> bool:
        info = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return info is not None

    def reap(self) -> int:
        # Wait without reaping, so the group id stays ours while leftovers are killed.
        os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOWAIT)
        self.signal(signal.SIGKILL)
        self.lifeline.release(self.popen.pid)
        with self._mutex:
            code = self.popen.wait()
            self.reaped.set()
        if self._status is not None:
            self._status.close()
        return code

    def stop(self, grace: float) -> None:
        """SIGINT, then SIGTERM, then SIGKILL, `grace` seconds apart, in a thread of its own."""
        with self._mutex:
            if self._stopping:
                return
            self._stopping = True

        def escalate() -> None:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                self.signal(sig)
                if self.reaped.wait(grace):
                    return

        threading.Thread(target=escalate, name="terraform-stop", daemon=True).start()


def start_gated(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    lifeline: Lifeline,
    stdout: int | None = None,
    pass_fds: Sequence[int] = (),
    user: int | None = None,
    status_fd: tuple[int, int] | None = None,
) -> Process:
    """Start `argv` at its gate, have the guard hold its group, then open the gate.

    Output goes to `stdout` (a descriptor; stderr then to a pipe) or to one merged pipe.
    `status_fd` is a pipe (read end, write end) on which bwrap reports the process it started.
    """
    gate, opener = os.pipe()
    fds = [*pass_fds, *([status_fd[1]] if status_fd else [])]
    try:
        popen = subprocess.Popen(  # noqa: S603 (user input never becomes an argument)
            ["/bin/sh", "-c", GATE, *argv],
            cwd=cwd,
            env=env,
            stdin=gate,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE if stdout is not None else subprocess.STDOUT,
            start_new_session=True,  # its own process group, for cancel and the guard
            pass_fds=fds,
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
        )
    except BaseException:
        os.close(opener)
        raise
    finally:
        os.close(gate)
        if status_fd:
            os.close(status_fd[1])
    try:
        lifeline.hold(popen.pid)
        os.write(opener, b"go\n")
    except BaseException:
        with popen:  # closes its pipes and waits for it
            popen.kill()  # still at the gate: nothing ran
        raise
    finally:
        os.close(opener)  # without "go", the shell exits: nothing runs unguarded
    if status_fd is None:
        return Process(popen, lifeline)
    status = os.fdopen(status_fd[0], "rb", buffering=0)
    return Process(popen, lifeline, _sandbox_pid(status), status)


def _sandbox_pid(status: IO[bytes]) -> int | None:
    """The host pid of the sandbox's first process, from bwrap's first status line (None when
    bwrap failed before starting it: its error is in the step's output)."""
    line = b""
    while b"\n" not in line:
        ready, _, _ = select.select([status], [], [], STATUS_TIMEOUT)
        chunk = status.read(4096) if ready else b""
        if not chunk:
            break
        line += chunk
    try:
        pid = json.loads(line.split(b"\n", 1)[0])["child-pid"]
    except (ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) else None


def pump(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    """Pass the lines of `stream` into `lines`, then None at its end."""
    try:
        for raw in stream:
            lines.put(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    except (OSError, ValueError):  # the pipe was closed under us
        pass
    finally:
        lines.put(None)


def write_private(work: Path, relative: str, text: str) -> None:
    """Create `work/relative` (it must not exist), readable by its owner alone."""
    target = work / relative
    if work.resolve() not in target.resolve().parents:
        raise ValueError(f"{relative}: outside the working directory")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o600), "w", encoding="utf-8") as handle:
        handle.write(text)
