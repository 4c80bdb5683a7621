"""The Terraform runner and its state server, with the real Terraform 1.0.3 and null provider.

Run `bin/install-terraform` first: these tests find Terraform and the provider directory the
way the app does (TERRAFORM_BIN, TERRAFORM_PLUGIN_DIR) and fail, rather than skip, without them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from provisioning.blueprint_files import BlueprintError, bundled_blueprints
from provisioning.state_server import StateServer
from provisioning.terraform import (
    SAFE_PATH,
    InMemoryStateStore,
    PlanResult,
    RunSpec,
    TerraformConfig,
    TerraformError,
    TerraformRun,
    find_terraform,
    plan_state_serial,
    state_serial,
)
from tests.processes import reachable_dir

HELLO = next(b for b in bundled_blueprints() if b.slug == "hello").files
HOSTILE = '$(touch /tmp/pwned); rm -rf ~ && echo "x"'
SECRET = "tok-3f9a-SECRET-7c21"
PRINT_ENV = """
resource "null_resource" "env" {
  provisioner "local-exec" {
    command = "env"
  }
}
"""


class Log:
    """An on_output callback that keeps the lines and can call hooks on each."""

    def __init__(self, *hooks: Callable[[str], None]) -> None:
        self.lines: list[str] = []
        self.hooks = list(hooks)

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        for hook in self.hooks:
            hook(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="session")
def config() -> TerraformConfig:
    try:
        binary = find_terraform(settings.TERRAFORM_BIN)
    except TerraformError as exc:
        pytest.fail(f"{exc}", pytrace=False)
    plugins = Path(settings.TERRAFORM_PLUGIN_DIR)
    if not (plugins / "registry.terraform.io/hashicorp/null").is_dir():
        pytest.fail(f"No null provider under {plugins}: run bin/install-terraform.", pytrace=False)
    return TerraformConfig(binary=binary, plugin_dir=plugins, timeout=120, cancel_grace=5)


@pytest.fixture(scope="module", autouse=True)
def workdir_parent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Working directories go to a short folder of our own, so the tests can see them go.

    Short, because Terraform's plugins talk over Unix sockets in TMPDIR (108 bytes at most).
    """
    tmp_path_factory.getbasetemp()  # settle pytest's own temp folder outside ours first
    with reachable_dir("tft-") as parent, pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(parent))
        yield parent


@pytest.fixture(autouse=True)
def _workdirs_are_removed(workdir_parent: Path) -> Iterator[None]:
    yield
    assert list(workdir_parent.iterdir()) == []


def run(config: TerraformConfig, store: InMemoryStateStore, log: Log | None = None) -> TerraformRun:
    return TerraformRun(config, store, log if log is not None else Log())


def hello(**variables: object) -> RunSpec:
    return RunSpec(files=dict(HELLO), variables=variables, sensitive={"secret_token"})


def applied(config: TerraformConfig, store: InMemoryStateStore, spec: RunSpec) -> None:
    plan = run(config, store).plan(spec)
    assert plan.ok
    assert run(config, store).apply(spec, planned(plan)).ok


def planned(result: PlanResult) -> bytes:
    assert result.plan is not None, "the plan failed"
    return result.plan


def state_doc(store: InMemoryStateStore) -> dict:
    state = store.load()
    assert state is not None
    return json.loads(state)


# --- the whole life of a deployment -------------------------------------------------------------


def test_it_plans_applies_and_destroys_with_state_only_in_the_store(config) -> None:
    store = InMemoryStateStore()
    spec = hello(name="Ada", labels={"team": "infra"}, secret_token=SECRET)

    plan_log = Log()
    plan = run(config, store, plan_log).plan(spec)
    assert plan.ok, plan_log.text
    assert (plan.summary.create, plan.summary.update, plan.summary.destroy) == (2, 0, 0)
    assert {c["address"] for c in plan.summary.changes} == {
        "null_resource.greeting",
        "null_resource.token",
    }
    assert plan.summary.outputs == ["connection_string", "greeting_id", "labels", "message"]
    assert plan.state_serial is None
    assert store.load() is None  # planning writes no state

    # Another TerraformRun, another working directory: all it shares is the store.
    apply_log = Log()
    result = run(config, store, apply_log).apply(spec, planned(plan))
    assert result.ok, apply_log.text
    assert "null_resource.greeting (local-exec): Hello, Ada!" in apply_log.lines
    assert result.outputs["message"] == {
        "value": "Hello, Ada!",
        "sensitive": False,
        "type": "string",
    }
    assert result.outputs["labels"]["value"] == {"team": "infra"}
    secret_output = result.outputs["connection_string"]
    assert secret_output["sensitive"] is True
    assert SECRET in secret_output["value"]
    assert state_serial(store.load()) == 0
    assert len(state_doc(store)["resources"]) == 2
    assert store.current_lock() is None

    destroy = run(config, store).plan(spec, destroy=True)
    assert destroy.ok
    assert (destroy.summary.create, destroy.summary.destroy) == (0, 2)
    assert destroy.state_serial == 0

    result = run(config, store).apply(spec, planned(destroy))
    assert result.ok
    assert state_doc(store)["resources"] == []
    assert [json.loads(v)["serial"] for v in store.versions] == [0, 1]
    assert store.current_lock() is None


def test_it_fails_the_plan_with_terraforms_error_on_invalid_hcl(config) -> None:
    log = Log()
    files = {"main.tf": 'resource "null_resource" "x" {\n  triggers = {\n}\n'}
    plan = run(config, InMemoryStateStore(), log).plan(RunSpec(files=files))
    assert plan.exit_code != 0
    assert plan.plan is None
    assert not plan.ok
    assert "Error: Argument or block definition required" in log.text
    assert 'on main.tf line 4, in resource "null_resource" "x":' in log.text


def test_it_refuses_a_blueprint_with_its_own_backend_before_running(config) -> None:
    files = {**HELLO, "state.tf": 'terraform {\n  backend "local" {}\n}\n'}
    log = Log()
    with pytest.raises(BlueprintError, match="declares a backend"):
        run(config, InMemoryStateStore(), log).plan(RunSpec(files=files))
    assert log.lines == []


def test_it_keeps_credentials_from_overriding_terraforms_own_settings(config) -> None:
    spec = RunSpec(files=HELLO, env={"TF_HTTP_ADDRESS": "http://elsewhere/", "HOME": "/root"})
    with pytest.raises(TerraformError, match="HOME, TF_HTTP_ADDRESS"):
        run(config, InMemoryStateStore()).plan(spec)


# --- stale plans --------------------------------------------------------------------------------


def test_it_refuses_a_plan_made_before_another_apply(config) -> None:
    store = InMemoryStateStore()
    applied(config, store, hello(name="first"))
    old = run(config, store).plan(hello(name="old"))
    newer = run(config, store).plan(hello(name="newer"))
    assert old.state_serial == newer.state_serial == 0
    assert plan_state_serial(planned(old)) == 0
    assert run(config, store).apply(hello(), planned(newer)).ok

    # What the app checks before it starts anything:
    assert state_serial(store.load()) == 1 != old.state_serial

    # And what Terraform says when asked anyway:
    log = Log()
    result = run(config, store, log).apply(hello(), planned(old))
    assert not result.ok
    assert "Error: Saved plan is stale" in log.text
    assert state_serial(store.load()) == 1
    assert state_doc(store)["outputs"]["message"]["value"] == "Hello, newer!"
    assert store.current_lock() is None


def test_it_refuses_a_plan_made_before_there_was_any_state(config) -> None:
    # Terraform 1.0.3 would apply this one over the new state and lose track of resources.
    store = InMemoryStateStore()
    old = run(config, store).plan(hello(name="old"))
    assert old.state_serial is None
    applied(config, store, hello(name="newer"))

    log = Log()
    result = run(config, store, log).apply(hello(), planned(old))
    assert not result.ok
    assert "Refused to apply a stale plan" in log.text
    assert [json.loads(v)["serial"] for v in store.versions] == [0]
    assert store.current_lock() is None


# --- cancelling and timing out ------------------------------------------------------------------


def cancel_when(seen: str, target: TerraformRun) -> Callable[[str], None]:
    """A hook that cancels `target` from another thread once a line containing `seen` shows."""
    event = threading.Event()
    threading.Thread(target=lambda: event.wait(60) and target.cancel(), daemon=True).start()

    def hook(line: str) -> None:
        if seen in line:
            event.set()

    return hook


def test_it_cancels_an_apply_in_seconds_and_leaves_consistent_state(config) -> None:
    store = InMemoryStateStore()
    spec = hello(name="sleeper", sleep_seconds=30)
    plan = run(config, store).plan(spec)
    log = Log()
    apply_run = run(config, store, log)
    log.hooks.append(cancel_when("Hello, sleeper!", apply_run))

    started = time.monotonic()
    result = apply_run.apply(spec, planned(plan))
    assert time.monotonic() - started < 10, log.text
    assert result.cancelled
    assert not result.ok
    assert "Interrupt received" in log.text
    assert store.current_lock() is None
    greeting = next(r for r in state_doc(store)["resources"] if r["name"] == "greeting")
    assert greeting["instances"][0]["status"] == "tainted"

    # A cancelled run stays cancelled...
    assert apply_run.plan(spec).exit_code != 0
    # ...and the deployment goes on from the state the interrupted apply saved.
    spec = hello(name="sleeper", sleep_seconds=0)
    plan = run(config, store).plan(spec)
    assert plan.ok
    assert plan.summary.replace == 1
    log = Log()
    assert run(config, store, log).apply(spec, planned(plan)).ok
    assert "Hello, sleeper!" in log.text


@pytest.fixture
def stubborn_terraform(workdir_parent: Path) -> Iterator[str]:
    """A stand-in for Terraform that shrugs off SIGINT and SIGTERM, saying so."""
    with reachable_dir("tfs-") as folder:
        script = folder / "terraform"
        script.write_text(
            "#!/bin/sh\n"
            "trap 'echo got INT' INT\n"
            "trap 'echo got TERM' TERM\n"
            "echo started\n"
            "while :; do sleep 0.1; done\n"
        )
        script.chmod(0o755)
        yield str(script)


def test_it_escalates_to_sigterm_and_sigkill_when_terraform_ignores_sigint(
    config, stubborn_terraform: str
) -> None:
    stubborn = TerraformConfig(stubborn_terraform, config.plugin_dir, timeout=60, cancel_grace=0.5)
    log = Log()
    target = TerraformRun(stubborn, InMemoryStateStore(), log)
    log.hooks.append(cancel_when("started", target))
    started = time.monotonic()
    result = target.plan(RunSpec(files=HELLO))
    assert time.monotonic() - started < 5
    assert result.cancelled
    assert result.exit_code == -9  # SIGKILL
    said = [line for line in log.lines if line.startswith("got ")]
    assert said[:2] == ["got INT", "got TERM"]


def test_it_stops_a_run_that_exceeds_its_timeout(config, stubborn_terraform: str) -> None:
    slow = TerraformConfig(stubborn_terraform, config.plugin_dir, timeout=1, cancel_grace=0.3)
    log = Log()
    started = time.monotonic()
    result = TerraformRun(slow, InMemoryStateStore(), log).plan(RunSpec(files=HELLO))
    assert 1 <= time.monotonic() - started < 4
    assert result.timed_out
    assert not result.cancelled
    assert not result.ok
    assert "[mcloud] The run exceeded 1 s: interrupting Terraform." in log.lines


# --- hostile values and secrets -----------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_run(config, workdir_parent: Path) -> dict:
    """One plan and apply of hello (plus a resource printing its environment) with a hostile
    name, a secret token and a marker in the test's own environment; the working directory is
    searched for the secret at the start of every step and during the apply's provisioner."""
    if os.path.exists("/tmp/pwned"):
        os.remove("/tmp/pwned")
    scans: list[list[str]] = []

    def scan(line: str) -> None:
        if not (line.startswith("$ terraform") or line.endswith(f"Hello, {HOSTILE}!")):
            return
        found = []
        for path in workdir_parent.rglob("*"):
            if path.is_file() and "providers" not in path.parts:
                found.append(str(path.relative_to(workdir_parent)))
                assert SECRET.encode() not in path.read_bytes(), path
        scans.append(found)

    spec = RunSpec(
        files={**HELLO, "env.tf": PRINT_ENV},
        variables={"name": HOSTILE, "secret_token": SECRET},
        sensitive={"secret_token"},
        env={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"},
    )
    store = InMemoryStateStore()
    plan_log, apply_log = Log(scan), Log(scan)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MCLOUD_TEST_MARKER", "from-the-test-process")
        plan = run(config, store, plan_log).plan(spec)
        assert plan.ok, plan_log.text
        result = run(config, store, apply_log).apply(spec, planned(plan))
        assert result.ok, apply_log.text
    return {
        "plan": plan,
        "result": result,
        "store": store,
        "lines": plan_log.lines + apply_log.lines,
        "scans": scans,
    }


def test_it_passes_shell_metacharacters_literally(hostile_run) -> None:
    assert f"null_resource.greeting (local-exec): Hello, {HOSTILE}!" in hostile_run["lines"]
    assert hostile_run["result"].outputs["message"]["value"] == f"Hello, {HOSTILE}!"
    assert not os.path.exists("/tmp/pwned")
    assert Path.home().is_dir()


def test_it_never_prints_a_sensitive_value(hostile_run) -> None:
    text = "\n".join(hostile_run["lines"])
    assert SECRET not in text
    assert "(sensitive)" in text  # Terraform's own masking in the plan
    assert "connection_string = <sensitive>" in text
    # The value is real all the same: in the state, the plan and the sensitive output.
    assert SECRET.encode() in hostile_run["store"].load()
    with zipfile.ZipFile(io.BytesIO(hostile_run["plan"].plan)) as plan_file:
        assert SECRET.encode() in plan_file.read("tfplan")  # hence kept in memory, not on disk
    assert SECRET in hostile_run["result"].outputs["connection_string"]["value"]


def test_it_keeps_sensitive_values_out_of_every_file_of_the_working_directory(
    hostile_run,
) -> None:
    scans = hostile_run["scans"]
    assert len(scans) == 7  # six steps, and once during the provisioner
    assert any("terraform.tfvars.json" in path for scan in scans for path in scan)
    assert not any(path.endswith("tfplan") for scan in scans for path in scan)


def test_it_gives_terraform_a_minimal_environment(hostile_run) -> None:
    prefix = "null_resource.env (local-exec): "
    env = dict(
        line[len(prefix) :].split("=", 1)
        for line in hostile_run["lines"]
        if line.startswith(prefix) and "=" in line
    )
    assert "MCLOUD_TEST_MARKER" not in env
    assert "DJANGO_SETTINGS_MODULE" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE"
    assert env["PATH"] == SAFE_PATH
    assert env["HOME"] == "/home/terraform"  # the sandbox's; no path of the worker's
    assert env["TMPDIR"] == "/tmp"
    assert env["TF_IN_AUTOMATION"] == env["CHECKPOINT_DISABLE"] == "1"
    # An apply takes the variables from the plan: no TF_VAR_ for a provisioner to inherit.
    assert not [name for name in env if name.startswith("TF_VAR_")]
    # The state server's password is there (Terraform needs it), masked in the output.
    assert env["TF_HTTP_PASSWORD"] == "(masked)"
    # Not even Terraform settings of the machine's (this one sets TF_CLI_CONFIG_FILE).
    terraform_own = {"TF_IN_AUTOMATION", "TF_INPUT", "TF_TEMP_LOG_PATH", "TF_PANICWRAP_STDERR"}
    tf_names = {n for n in env if n.startswith("TF_") and not n.startswith("TF_HTTP_")}
    assert tf_names <= terraform_own
    ours = {"AWS_ACCESS_KEY_ID", "PATH", "HOME", "TMPDIR", "USER", "CHECKPOINT_DISABLE"}
    shells = {"PWD", "SHLVL", "_", "LC_CTYPE"}  # LC_CTYPE: Python's C-locale coercion (the shim)
    assert {n for n in env if not n.startswith("TF_")} <= ours | shells


# --- locking ------------------------------------------------------------------------------------


def test_it_refuses_a_second_apply_while_the_first_holds_the_lock(config) -> None:
    store = InMemoryStateStore()
    spec = hello(name="first", sleep_seconds=30)
    plan = run(config, store).plan(spec)
    first_log = Log()
    first = run(config, store, first_log)
    greeted = threading.Event()
    first_log.hooks.append(lambda line: "Hello, first!" in line and greeted.set())
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(r=first.apply(spec, planned(plan))))
    worker.start()
    try:
        assert greeted.wait(30), first_log.text
        second_log = Log()
        second = run(config, store, second_log).apply(spec, planned(plan))
        assert not second.ok
        assert "Error acquiring the state lock" in second_log.text
        assert "HTTP remote state already locked" in second_log.text
        assert store.current_lock() is not None  # still the first apply's
    finally:
        first.cancel()
        worker.join(30)
    assert outcome["r"].cancelled
    assert store.current_lock() is None


def test_it_keeps_the_state_that_the_store_failed_to_save(config) -> None:
    class FlakyStore(InMemoryStateStore):
        failures = 2  # Terraform's request, and its one retry

        def save(self, state: bytes) -> None:
            if self.failures:
                self.failures -= 1
                raise OSError("database went away")
            super().save(state)

    store = FlakyStore()
    spec = hello(name="flaky")
    plan = run(config, store).plan(spec)
    log = Log()
    result = run(config, store, log).apply(spec, planned(plan))
    assert not result.ok  # Terraform reports that it could not save the state...
    assert "Failed to save state" in log.text
    assert "[mcloud] Terraform could not save the state; mcloud saved it." in log.lines
    assert result.unsaved_state is None  # ...and the runner saved it in its stead
    assert len(state_doc(store)["resources"]) == 2


# --- the state server on its own ----------------------------------------------------------------


def call(
    server: StateServer,
    method: str,
    body: bytes | None = None,
    *,
    password: str | None = None,
    query: str = "",
) -> tuple[int, bytes]:
    token = base64.b64encode(f"{server.username}:{password or server.password}".encode())
    request = urllib.request.Request(
        server.address + query,
        data=body,
        method=method,
        headers={"Authorization": f"Basic {token.decode()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def lock_body(lock_id: str) -> bytes:
    return json.dumps({"ID": lock_id, "Operation": "OperationTypeApply", "Who": "test"}).encode()


def test_the_state_server_wants_its_run_credentials() -> None:
    with StateServer(InMemoryStateStore(b'{"serial": 1, "lineage": "l"}')) as server:
        assert server.address.startswith("http://127.0.0.1:")
        assert call(server, "GET", password="guess")[0] == 401
        assert call(server, "GET") == (200, b'{"serial": 1, "lineage": "l"}')


def test_the_state_server_writes_only_for_the_lock_holder_and_refuses_a_second_lock() -> None:
    store = InMemoryStateStore()
    state = b'{"version": 4, "serial": 3, "lineage": "l"}'
    with StateServer(store) as server:
        assert call(server, "POST", state, query="?ID=a")[0] == 409  # not locked
        assert call(server, "LOCK", lock_body("a"))[0] == 200
        status, holder = call(server, "LOCK", lock_body("b"))
        assert status == 423
        assert json.loads(holder)["ID"] == "a"
        assert call(server, "POST", state, query="?ID=b")[0] == 409
        assert call(server, "POST", state, query="?ID=a")[0] == 200
        older = b'{"version": 4, "serial": 2, "lineage": "l"}'
        assert call(server, "POST", older, query="?ID=a")[0] == 400
        other = b'{"version": 4, "serial": 9, "lineage": "other"}'
        assert call(server, "POST", other, query="?ID=a")[0] == 400
        assert call(server, "UNLOCK", lock_body("b"))[0] == 423
        assert call(server, "UNLOCK", lock_body("a"))[0] == 200
    assert store.versions == [state]


def test_the_state_server_releases_a_lock_its_terraform_left_behind() -> None:
    store = InMemoryStateStore()
    with StateServer(store) as server:
        assert call(server, "LOCK", lock_body("killed-terraform"))[0] == 200
    assert store.current_lock() is None
