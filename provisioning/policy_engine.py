"""Evaluate Rego policies over a plan, in the sandbox Terraform steps run in.

A policy is code an organization's admin supplies, evaluated on workers that many
organizations share, so it runs as Terraform does (`provisioning.isolation`): bubblewrap's
namespaces (no network, none of the project, `/var` or the worker's `/proc`), an unprivileged
uid (`nobody` on the host under a root worker), an empty environment, and `prlimit` limits on
address space (memory), CPU seconds and processes; the worker also kills the sandbox after a
wall-clock timeout. Inside, `policy_sandbox_main.py` runs under the worker's own Python
interpreter with `regopy` (the rego-cpp interpreter, OPA-compatible), both bound read-only
through descriptors the worker opened (a root worker's Python may live where `nobody` cannot
look, e.g. pyenv under /root).

Several policies go through one sandbox (one process start for a plan's whole policy set).
The evaluator announces each policy before evaluating it: when the limits stop the process,
the policy it was on is reported as an error and the rest go through a new sandbox.

Module boundary: no Django here; the app passes `PolicyLimits` from its settings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning.isolation import NOBODY, SAFE_PATH, sandbox_args, sandbox_check

EVALUATOR = Path(__file__).with_name("policy_sandbox_main.py")
_MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")
WATCH_SECONDS = 0.02
PASSED, FAILED, ERROR = "passed", "failed", "error"


class PolicyEngineUnavailable(Exception):
    """The evaluator cannot run here (no regopy, no sandbox); the message says why."""


@dataclass(frozen=True)
class PolicyLimits:
    memory_mb: int = 512  # resident memory of the sandbox's processes, watched by the worker
    cpu_seconds: int = 10  # RLIMIT_CPU: a policy that loops is killed by SIGXCPU
    wall_seconds: float = 30.0  # per sandbox start; the worker kills it after that
    isolated: bool = True  # off only where Terraform's isolation is off too


@dataclass(frozen=True)
class PolicySource:
    key: str  # the caller's id for the policy (its pk, as text)
    source: str


@dataclass
class PolicyOutcome:
    key: str
    status: str  # PASSED, FAILED or ERROR
    messages: list[str] = field(default_factory=list)


def _regopy_dirs() -> tuple[Path, Path]:
    try:
        import regopy
    except ImportError as error:  # pragma: no cover (a pinned requirement)
        raise PolicyEngineUnavailable("Policies need regopy: pip install regopy.") from error
    package = Path(regopy.__file__).resolve().parent
    return package, package.parent / "regopy.libs"


def _reachable(path: Path) -> bool:
    """Whether `nobody` can reach `path` (bwrap, started as nobody by a root worker, opens
    what it binds as nobody)."""
    parts = [path, *path.parents]
    return all(p.stat().st_mode & 0o001 for p in parts[1:]) and bool(path.stat().st_mode & 0o004)


def _python(host_user: int | None) -> tuple[str, list[str], list[str]]:
    """The interpreter inside the sandbox: its path there, the binds and the environment.

    The worker's own interpreter (outside any venv) is bound at /opt/python. A root worker's
    may live where `nobody` cannot reach it (pyenv under /root): then the system's Python 3
    under /usr serves (regopy loads its library with ctypes: any Python 3 will do).
    """
    binary = Path(os.path.realpath(sys.executable))
    prefix = Path(sys.base_prefix).resolve()
    if str(prefix).startswith("/usr/") or str(prefix) == "/usr":
        return str(binary), [], []
    if host_user is None or (_reachable(prefix) and _reachable(binary)):
        inner = "/opt/python/" + str(binary.relative_to(prefix))
        env = ["--setenv", "PYTHONHOME", "/opt/python", "--setenv", "LD_LIBRARY_PATH",
               "/opt/python/lib"]  # fmt: skip
        return inner, ["--ro-bind", str(prefix), "/opt/python"], env
    system = Path("/usr/bin/python3")
    if system.exists():
        return str(system), [], []
    raise PolicyEngineUnavailable(
        f"The worker runs as root, so the policy sandbox runs as nobody, who cannot reach "
        f"{prefix} (this Python): install python3 under /usr, or let others traverse it."
    )


def _command(limits: PolicyLimits, status_fd: int) -> tuple[list[str], int | None]:
    """bwrap's arguments and the host uid to start it as."""
    prlimit = [
        "prlimit", f"--cpu={limits.cpu_seconds}",
        "--nproc=64", "--nofile=64", f"--fsize={16 * _MB}", "--core=0", "--",
    ]  # fmt: skip
    code = ["-S", "-E", "-B", "-c", EVALUATOR.read_text()]
    if not limits.isolated:  # TERRAFORM_ISOLATION=off: as the worker, limits still apply
        package, _ = _regopy_dirs()
        python = str(Path(os.path.realpath(sys.executable)))
        return [*prlimit, python, *code, str(package.parent)], None
    host_user = NOBODY if os.geteuid() == 0 else None
    sandbox_check(host_user)
    package, libs = _regopy_dirs()
    if host_user is not None and not (_reachable(package) and _reachable(package.parent)):
        raise PolicyEngineUnavailable(
            f"The policy sandbox runs as nobody, who cannot reach regopy at {package}."
        )
    python, binds, env = _python(host_user)
    argv = sandbox_args(status_fd) + binds
    argv += ["--ro-bind", str(package), "/opt/rego/regopy"]
    if libs.is_dir():
        argv += ["--ro-bind", str(libs), "/opt/rego/regopy.libs"]
    argv += [
        "--size", str(16 * _MB), "--tmpfs", "/tmp",  # noqa: S108 (the sandbox's own)
        "--setenv", "PATH", SAFE_PATH, *env,
        "--chdir", "/", "--",
    ]  # fmt: skip
    return [*argv, *prlimit, python, *code, "/opt/rego"], host_user


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, resident bytes) of every process this host shows."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            table[int(entry.name)] = (int(fields[1]), int(fields[21]) * _PAGE)
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return table


def _descendants(root: int, table: dict[int, tuple[int, int]]) -> list[int]:
    """`root` and the processes below it, the deepest first."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.append(pid)
            pending.extend(children.get(pid, ()))
    return found[::-1]


def _sandboxed_run(request: bytes, limits: PolicyLimits) -> tuple[int, str, str, str]:
    """Run the evaluator once: (exit code, stdout, stderr, the limit that stopped it or "").

    Memory is watched from here: rego-cpp's allocator (snmalloc) reserves 256 GiB of address
    space at start, so RLIMIT_AS and RLIMIT_DATA cannot bound it; the worker sums the resident
    memory of the sandbox's processes every few milliseconds and kills them past the limit.
    """
    with ExitStack() as stack:
        status_read, status_write = os.pipe()
        stack.callback(os.close, status_read)
        stack.callback(os.close, status_write)
        argv, user = _command(limits, status_write)
        popen = subprocess.Popen(  # noqa: S603 (fixed arguments; policies come on stdin)
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": SAFE_PATH},
            pass_fds=(status_write,),
            start_new_session=True,
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
        )
        stopped: list[str] = []
        done = threading.Event()

        def kill(why: str) -> None:
            stopped.append(why)
            for pid in _descendants(popen.pid, _process_table()):
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

        def watch() -> None:
            deadline = time.monotonic() + limits.wall_seconds
            while not done.wait(WATCH_SECONDS):
                table = _process_table()
                rss = sum(table[pid][1] for pid in _descendants(popen.pid, table) if pid in table)
                if rss > limits.memory_mb * _MB:
                    return kill("memory")
                if time.monotonic() > deadline:
                    return kill("time")

        watcher = threading.Thread(target=watch, name="policy-watch", daemon=True)
        watcher.start()
        try:
            out, err = popen.communicate(request)
        finally:
            done.set()
            watcher.join()
            if popen.poll() is None:
                kill("worker")
                popen.wait()
    why = stopped[0] if stopped else ""
    return popen.returncode, out.decode(errors="replace"), err.decode(errors="replace"), why


def _stopped_message(code: int, why: str, limits: PolicyLimits, stderr: str) -> str:
    if why == "memory":
        return f"Stopped by its limits: more than {limits.memory_mb} MB of memory."
    if why == "time":
        return f"Stopped by its limits: it ran longer than {limits.wall_seconds:g} s."
    if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGKILL):
        return f"Stopped by its limits: more than {limits.cpu_seconds} s of CPU time."
    last = [line for line in stderr.splitlines() if line.strip()][-1:] or [f"exit code {code}"]
    return f"Stopped: the evaluator failed ({last[0][:300]})."


def policies_evaluate(
    policies: list[PolicySource], document: dict[str, Any], limits: PolicyLimits
) -> list[PolicyOutcome]:
    """Each policy's outcome over `document` (the plan JSON and its context), in order."""
    outcomes: dict[str, PolicyOutcome] = {}
    pending = list(policies)
    payload_input = json.dumps(document)
    while pending:
        request = json.dumps(
            {"policies": [{"key": p.key, "source": p.source} for p in pending]}
        ).encode()
        # The input is spliced in as text: it was serialized once for every batch.
        request = request[:-1] + b', "input": ' + payload_input.encode() + b"}"
        code, out, err, why = _sandboxed_run(request, limits)
        running: str | None = None
        for line in out.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if "start" in doc:
                running = str(doc["start"])
            elif doc.get("key") is not None:
                key = str(doc["key"])
                outcomes[key] = PolicyOutcome(key, doc["status"], list(doc.get("messages", [])))
                running = None
        if running is None and code == 0 and not why:
            break
        stopped = running or next((p.key for p in pending if p.key not in outcomes), None)
        if stopped is None:
            break
        outcomes[stopped] = PolicyOutcome(
            stopped, ERROR, [_stopped_message(code, why, limits, err)]
        )
        pending = [p for p in pending if p.key not in outcomes]
    return [outcomes[p.key] for p in policies if p.key in outcomes]


def policy_check(source: str, limits: PolicyLimits) -> str | None:
    """The compile error of `source` (None when it compiles), from an evaluation over an
    empty document in the sandbox."""
    [outcome] = policies_evaluate([PolicySource("check", source)], {}, limits)
    if outcome.status == ERROR:
        return "\n".join(outcome.messages)
    return None
