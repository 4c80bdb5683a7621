"""Run Terraform for one provisioning run, as safely as a worker can.

Each `plan()` or `apply()` builds a private working directory from the blueprint's files, runs
`terraform init` and the step itself, and removes the directory afterwards whatever happens.
Terraform keeps no state on the worker: it reads and writes it through the http backend that
`state_server.StateServer` serves from this process, backed by the caller's `StateStore`.

What keeps user input and secrets where they belong:
- variables reach Terraform as a `terraform.tfvars.json` (non-sensitive ones) or as
  `TF_VAR_<name>` in its environment (sensitive ones), never as arguments or shell text;
- the process gets a minimal environment built here (plus the cloud credentials of
  `RunSpec.env`), never the worker's own;
- the plan file holds every variable value and a state snapshot, so it lives in an anonymous
  in-memory file (memfd) rather than in the working directory; so do `show -json` and
  `output -json`, whose output holds sensitive values;
- output lines have the values of sensitive variables and the state server's password masked,
  as a backstop to Terraform's own masking;
- Terraform dies with the worker: a guard process (`lifeline.Lifeline`) kills its process
  groups and removes the working directory when the worker dies, even by SIGKILL, and each
  step waits at a gate until the guard knows its group, so no Terraform runs unguarded.

Module boundaries: this engine imports neither Django settings nor models. The app layer builds
a `TerraformConfig` from its settings and implements a `StateStore` of its own.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

from mcloud.egress.policy import EgressPolicy
from mcloud.egress.proxy import EgressProxy
from provisioning.blueprint_files import check_files
from provisioning.isolation import (
    SAFE_PATH,
    IsolationUnavailable,
    Limits,
    Sandbox,
    real_terraform,
)
from provisioning.lifeline import Lifeline
from provisioning.processes import MemFile, Process, pump, start_gated
from provisioning.run_directory import RunDirectory, run_environment, run_secrets
from provisioning.state_server import (
    InMemoryStateStore,
    StateLock,
    StateServer,
    StateStore,
    state_serial,
)
from provisioning.terraform_types import (
    ApplyResult,
    PlanResult,
    PlanSummary,
    RunSpec,
    TerraformConfig,
    TerraformError,
    plan_state_serial,
)

__all__ = [
    "SAFE_PATH",
    "ApplyResult",
    "InMemoryStateStore",
    "Limits",
    "PlanResult",
    "PlanSummary",
    "RunSpec",
    "StateLock",
    "StateStore",
    "TerraformConfig",
    "TerraformError",
    "TerraformRun",
    "find_terraform",
    "plan_state_serial",
    "state_serial",
]

logger = logging.getLogger(__name__)

NOT_STARTED = -signal.SIGINT  # exit code of a step that a cancel or timeout kept from starting
# Terraform 1.0.3's http backend logs each request on stderr even without TF_LOG.
_BACKEND_NOISE = re.compile(r"\d{4}/\d\d/\d\d [\d:]{8} \[DEBUG\] [A-Z]+ http://127\.0\.0\.1:\d+/")
STALE_NO_STATE = (
    "[mcloud] Refused to apply a stale plan: it was made before the deployment had any state,"
    " and state has been saved since. Plan again."
)


def find_terraform(binary: str = "terraform") -> str:
    """The absolute path of the Terraform to run.

    A bare name is looked up first beside the running Python (the venv's `bin/terraform`,
    which bin/install-terraform puts there at the pinned version), then on PATH.
    """
    if os.sep in binary:
        candidates = [Path(binary).resolve()]
    else:
        found = shutil.which(binary)
        candidates = [Path(sys.prefix) / "bin" / binary, *([Path(found)] if found else [])]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.absolute())
    raise TerraformError(
        f"Terraform ({binary}) was not found beside {sys.executable} nor on PATH: "
        "run bin/install-terraform, or set TERRAFORM_BIN."
    )


class TerraformRun:
    """One provisioning run: plan, apply, or both, possibly in different worker processes.

    `on_output` gets every line Terraform prints (stdout and stderr merged, no colour), in the
    calling thread, plus a few lines of ours ("$ terraform plan ...", "[mcloud] ..."). `cancel()`
    may be called from any thread; a cancelled run stays cancelled. Cancelling and running out
    of time both interrupt Terraform like Ctrl-C (SIGINT to its process group, so it saves state
    and releases the lock), then SIGTERM, then SIGKILL, `cancel_grace` seconds apart; the result
    reports them as `cancelled` and `timed_out` rather than raising.
    """

    def __init__(
        self, config: TerraformConfig, store: StateStore, on_output: Callable[[str], None]
    ) -> None:
        self.config = config
        self.store = store
        self._on_output = on_output
        self._binary = find_terraform(config.binary)
        self._plugin_dir = Path(config.plugin_dir).absolute()
        if not self._plugin_dir.is_dir():
            raise TerraformError(
                f"The provider directory {self._plugin_dir} does not exist: "
                "run bin/install-terraform, or set TERRAFORM_PLUGIN_DIR."
            )
        self._sandbox: Sandbox | None = None
        if config.isolated:
            self._sandbox = Sandbox(real_terraform(self._binary), self._plugin_dir, config.limits)
            try:
                self._sandbox.check()
            except IsolationUnavailable as error:
                raise TerraformError(str(error)) from error
        self._mutex = threading.Lock()
        self._process: Process | None = None
        self._lines: queue.Queue[str | None] | None = None
        self._cancelled = False
        self._timed_out = False
        self._deadline = 0.0

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    # --- the two operations --------------------------------------------------------------------

    def plan(
        self, spec: RunSpec, *, destroy: bool = False, refresh_only: bool = False
    ) -> PlanResult:
        """`init`, `plan -out`, `show -json`: the plan file and a summary of its changes.

        `refresh_only` makes it a drift check (`plan -refresh-only -detailed-exitcode`): what
        changed outside Terraform is the JSON's `resource_drift`. Its exit code 2 ("changes")
        is a success; Terraform 1.0 answers 2 even when nothing drifted, so the JSON decides.

        Raises BlueprintError, before running anything, for files the runner must not write
        (see `hcl.check_files`); Terraform's own errors come back as a failed result.
        """
        check_files(spec.files)
        with self._session(spec, with_variables=True) as session:
            empty = PlanSummary()
            code = self._step(session, "init", "-input=false", "-no-color", session.plugin_arg)
            if code:
                return self._plan_result(code, None, empty)
            plan_file = session.memfile("tfplan")
            args = ["-input=false", "-no-color", f"-out={session.path(plan_file)}"]
            if destroy:
                args.append("-destroy")
            if refresh_only:
                args += ["-refresh-only", "-detailed-exitcode"]
            code = self._step(session, "plan", *args)
            if refresh_only and code == 2:  # -detailed-exitcode: succeeded, with changes
                code = 0
            if code:
                return self._plan_result(code, None, empty)
            plan = plan_file.read()
            shown = session.memfile("show.json")
            code = self._step(session, "show", "-json", session.path(plan_file), stdout=shown)
            if code:
                return self._plan_result(code, None, empty)
            document = json.loads(shown.read())
            return self._plan_result(0, plan, PlanSummary.from_plan_json(document), document)

    def apply(self, spec: RunSpec, plan: bytes) -> ApplyResult:
        """`init`, `apply <plan>`, `output -json`. The variables come from the plan file.

        Terraform refuses a plan whose state snapshot is older than the stored state ("Saved
        plan is stale"); the caller can spare itself the run by comparing `state_serial()` of
        the store with `PlanResult.state_serial` first.
        """
        check_files(spec.files)
        with self._session(spec, with_variables=False) as session:
            code = self._step(session, "init", "-input=false", "-no-color", session.plugin_arg)
            if code:
                return self._apply_result(code, {})
            plan_file = session.memfile("tfplan", plan)
            session.server.expect_empty_state(plan_state_serial(plan) is None)
            code = self._step(
                session, "apply", "-input=false", "-no-color", session.path(plan_file)
            )
            session.server.expect_empty_state(False)
            if session.server.refused_stale:
                self._emit(STALE_NO_STATE)
            unsaved = self._salvage_state(session)
            if code or unsaved is not None:
                return self._apply_result(code or 1, {}, unsaved)
            shown = session.memfile("outputs.json")
            code = self._step(session, "output", "-json", "-no-color", stdout=shown)
            if code:
                return self._apply_result(code, {})
            outputs = {
                name: {k: doc.get(k) for k in ("value", "sensitive", "type")}
                for name, doc in json.loads(shown.read() or b"{}").items()
            }
            return self._apply_result(0, outputs)

    def cancel(self) -> None:
        """Stop the run: interrupt the running step and start no other."""
        with self._mutex:
            if self._cancelled:
                return
            self._cancelled = True
            process = self._process
        self._note("Cancel requested: interrupting Terraform.")
        if process is not None:
            process.stop(self.config.cancel_grace)

    # --- plumbing ------------------------------------------------------------------------------

    def _plan_result(
        self,
        code: int,
        plan: bytes | None,
        summary: PlanSummary,
        document: dict[str, Any] | None = None,
    ) -> PlanResult:
        serial = plan_state_serial(plan) if plan is not None else None
        return PlanResult(
            code, plan, summary, serial, self._cancelled, self._timed_out, plan_json=document
        )

    def _apply_result(
        self, code: int, outputs: dict[str, dict[str, Any]], unsaved: bytes | None = None
    ) -> ApplyResult:
        return ApplyResult(code, outputs, self._cancelled, self._timed_out, unsaved)

    @contextmanager
    def _session(self, spec: RunSpec, *, with_variables: bool) -> Iterator[RunDirectory]:
        self._timed_out = False
        self._deadline = time.monotonic() + self.config.timeout
        sandbox = self._sandbox
        with ExitStack() as stack:
            lifeline = stack.enter_context(Lifeline())  # closed last, once the directory is gone
            root = Path(tempfile.mkdtemp(prefix="mcloud-tf-", dir=self.config.work_dir))  # 0700
            lifeline.watch_dir(root)
            stack.callback(shutil.rmtree, root, ignore_errors=True)
            unix = root / "state.sock" if sandbox else None
            server = stack.enter_context(StateServer(self.store, unix_path=unix))
            egress = bool(sandbox and spec.egress)
            if egress:
                policy = EgressPolicy(self.config.egress_allow)
                stack.enter_context(EgressProxy(policy, root / "egress.sock", self._refused))
            session = RunDirectory(root, self._plugin_dir, server, lifeline, sandbox, egress)
            stack.callback(session.close_memfiles)
            session.write_files(spec, with_variables=with_variables)
            session.env = run_environment(spec, session, with_variables=with_variables)
            session.secrets = run_secrets(spec, server)
            if sandbox:
                try:
                    sandbox.prepare(root)
                except IsolationUnavailable as error:
                    raise TerraformError(str(error)) from error
            yield session

    def _step(self, session: RunDirectory, *args: str, stdout: MemFile | None = None) -> int:
        """Run one Terraform command to its end; its exit code (negative: killed by a signal).

        With `stdout`, the command's output goes to that memory file and only stderr is shown.
        """
        lines: queue.Queue[str | None] = queue.Queue()
        with self._mutex:  # so that cancel() sees either no process, or this one
            remaining = self._deadline - time.monotonic()
            self._timed_out = self._timed_out or remaining <= 0
            cancelled, timed_out = self._cancelled, self._timed_out
            if not (cancelled or timed_out):
                process = self._process = self._start(session, args, stdout)
                self._lines = lines
        if cancelled or timed_out:
            why = "the run was cancelled" if cancelled else "the run is out of time"
            self._emit(f"[mcloud] Not running terraform {args[0]}: {why}.")
            return NOT_STARTED
        self._emit("$ terraform " + " ".join(session.display(a) for a in args), session)
        timer = threading.Timer(remaining, self._on_timeout, args=(process,))
        timer.daemon = True
        timer.start()
        stream = process.popen.stderr if stdout else process.popen.stdout
        assert stream is not None
        reader = threading.Thread(target=pump, args=(stream, lines), daemon=True)
        reader.start()
        try:
            self._relay(process, lines, session)
            return process.reap()
        finally:
            timer.cancel()
            with self._mutex:
                self._process = None
                self._lines = None
            if not process.reaped.is_set():  # on_output raised: leave nothing running
                process.signal(signal.SIGKILL)
                process.reap()
            reader.join(timeout=1)
            if not reader.is_alive():  # else a leftover holds the pipe: closing would block
                stream.close()

    def _start(
        self, session: RunDirectory, args: tuple[str, ...], stdout: MemFile | None
    ) -> Process:
        fd = stdout.fd if stdout else None
        if session.sandbox is None:
            return start_gated(
                [self._binary, *args], cwd=session.work, env=session.env,
                lifeline=session.lifeline, stdout=fd,
            )  # fmt: skip
        status = os.pipe()
        try:
            argv = session.sandbox.command(
                session.root, list(args), egress=session.egress, status_fd=status[1]
            )
            return start_gated(
                argv, cwd=session.work, env=session.env, lifeline=session.lifeline, stdout=fd,
                pass_fds=session.memfds(), user=session.sandbox.host_user, status_fd=status,
            )  # fmt: skip
        except BaseException:
            for end in status:
                with suppress(OSError):
                    os.close(end)
            raise

    def _relay(
        self, process: Process, lines: queue.Queue[str | None], session: RunDirectory
    ) -> None:
        """Pass lines on until Terraform closes its output.

        A process that Terraform left behind could hold the pipe open after Terraform exits;
        its group is killed then, rather than waiting for it.
        """
        exited_at: float | None = None
        while True:
            try:
                line = lines.get(timeout=0.25)
            except queue.Empty:
                if exited_at is None and process.exited():
                    exited_at = time.monotonic()
                elif exited_at is not None and time.monotonic() - exited_at > 2:
                    process.signal(signal.SIGKILL)
                continue
            if line is None:
                return
            self._emit(line, session)

    def _emit(self, line: str, session: RunDirectory | None = None) -> None:
        if _BACKEND_NOISE.match(line):
            return
        for secret in session.secrets if session else ():
            line = line.replace(secret, "(masked)")
        self._on_output(line)

    def _refused(self, target: str, reason: str) -> None:
        self._note(f"Refused a connection to {target}: {reason}")

    def _note(self, message: str) -> None:
        """A line of ours, from any thread: it goes through the running step's relay."""
        with self._mutex:
            lines = self._lines
        if lines is not None:
            lines.put(f"[mcloud] {message}")
        else:
            logger.info("terraform run: %s", message)

    def _on_timeout(self, process: Process) -> None:
        with self._mutex:
            self._timed_out = True
        self._note(f"The run exceeded {self.config.timeout:g} s: interrupting Terraform.")
        process.stop(self.config.cancel_grace)

    def _salvage_state(self, session: RunDirectory) -> bytes | None:
        """Terraform writes errored.tfstate when it cannot save the state; keep it off the disk.

        Returns the state only when it could not be saved here either.
        """
        errored = session.work / "errored.tfstate"
        if not errored.exists():
            return None
        data = errored.read_bytes()
        errored.unlink()
        if session.server.lock_is_free_or_ours():
            try:
                self.store.save(data)
            except Exception:  # any failure: the caller gets the bytes instead
                logger.exception("saving errored.tfstate to the store failed")
            else:
                self._emit("[mcloud] Terraform could not save the state; mcloud saved it.")
                return None
        self._emit("[mcloud] Terraform could not save the state; it is kept with the run.")
        return data
