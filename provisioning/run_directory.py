"""The private directory of one plan() or apply(), and the environment Terraform runs with.

root/{work,home,tmp}, all mode 0700: the blueprint's files and our backend block in work/,
non-sensitive variables as terraform.tfvars.json; sensitive ones only ever reach Terraform as
TF_VAR_<name> in its environment, which holds nothing else of the worker's. The plan file and
Terraform's JSON outputs live in memory files, never here.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from provisioning.isolation import PLUGINS, SAFE_PATH, STATE_PORT, Sandbox
from provisioning.lifeline import Lifeline
from provisioning.processes import MemFile, write_private
from provisioning.state_server import StateServer
from provisioning.terraform_types import RunSpec, TerraformError

BACKEND_FILE = "_mcloud_backend.tf"
TFVARS_FILE = "terraform.tfvars.json"
_RESERVED_ENV = re.compile(
    r"TF_\w*|HOME|PATH|TMPDIR|USER|CHECKPOINT_DISABLE|(HTTPS?|NO)_PROXY", re.IGNORECASE
)
_MIN_MASKED = 4  # shorter secrets would mask ordinary words


class RunDirectory:
    """The private directory of one plan() or apply(): root/{work,home,tmp}, all mode 0700,
    and the state server's (and egress proxy's) sockets when the steps run sandboxed."""

    def __init__(
        self,
        root: Path,
        plugin_dir: Path,
        server: StateServer,
        lifeline: Lifeline,
        sandbox: Sandbox | None,
        egress: bool,
    ) -> None:
        self.root = root
        self.work = root / "work"
        self.home = root / "home"
        self.tmp = root / "tmp"
        for path in (self.work, self.home, self.tmp):
            path.mkdir(mode=0o700)
        self.server = server
        self.lifeline = lifeline
        self.sandbox = sandbox
        self.egress = egress
        self.plugin_dir = str(plugin_dir)
        self.plugin_arg = f"-plugin-dir={PLUGINS if sandbox else plugin_dir}"
        self.env: dict[str, str] = {}
        self.secrets: list[str] = []
        self._memfiles: list[MemFile] = []

    def memfile(self, name: str, data: bytes | None = None) -> MemFile:
        memfile = MemFile.create(name, self.root)
        if self.sandbox and not memfile.memfd:
            os.close(memfile.fd)
            raise TerraformError("Sandboxed runs need memfd_create (Linux).")
        self._memfiles.append(memfile)
        if data is not None:
            memfile.write(data)
        return memfile

    def path(self, memfile: MemFile) -> str:
        """Where Terraform opens `memfile`."""
        return memfile.path(sandboxed=self.sandbox is not None)

    def memfds(self) -> list[int]:
        return [memfile.fd for memfile in self._memfiles]

    def display(self, arg: str) -> str:
        """Arguments as a person reads them in the log: memory files by their names, and no
        path of the worker's."""
        for memfile in self._memfiles:
            arg = arg.replace(self.path(memfile), memfile.name)
        return arg.replace(self.plugin_dir, PLUGINS)

    def close_memfiles(self) -> None:
        for memfile in self._memfiles:
            os.close(memfile.fd)

    def write_files(self, spec: RunSpec, *, with_variables: bool) -> None:
        files = dict(spec.files)
        # Our backend block, empty: its settings come from TF_HTTP_* so they stay out of plans.
        files[BACKEND_FILE] = 'terraform {\n  backend "http" {}\n}\n'
        if with_variables:
            plain = {
                name: value
                for name, value in spec.variables.items()
                if name not in spec.sensitive and value is not None
            }
            files[TFVARS_FILE] = json.dumps(plain, indent=2)
        for relative, text in files.items():
            try:
                write_private(self.work, relative, text)
            except ValueError as error:
                raise TerraformError(str(error)) from error


def run_environment(
    spec: RunSpec, session: RunDirectory, *, with_variables: bool
) -> dict[str, str]:
    """Terraform's whole environment: ours, the run's credentials, the sensitive variables."""
    reserved = sorted(name for name in spec.env if _RESERVED_ENV.fullmatch(name))
    if reserved:
        raise TerraformError(f"RunSpec.env may not set {', '.join(reserved)}")
    env = dict(spec.env)
    origin = f"http://127.0.0.1:{STATE_PORT}" if session.sandbox else None
    env.update(
        PATH=SAFE_PATH,
        HOME=str(session.home),
        TMPDIR=str(session.tmp),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        **session.server.backend_env(origin),
    )
    if with_variables:
        for name in sorted(spec.sensitive & spec.variables.keys()):
            value = spec.variables[name]
            if value is not None:
                env[f"TF_VAR_{name}"] = value if isinstance(value, str) else json.dumps(value)
    if session.sandbox:
        return session.sandbox.environment(env, egress=session.egress)
    return env


def run_secrets(spec: RunSpec, server: StateServer) -> list[str]:
    found = {server.password}
    for name in spec.sensitive & spec.variables.keys():
        value = spec.variables[name]
        if value is None:
            continue
        found.add(value if isinstance(value, str) else json.dumps(value))
        if isinstance(value, str):
            found.add(json.dumps(value)[1:-1])  # as it appears inside JSON or HCL strings
    # Longest first, so a secret containing another is masked whole.
    return sorted((s for s in found if len(s) >= _MIN_MASKED), key=len, reverse=True)
