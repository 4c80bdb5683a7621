"""The lifeline's guard: what a worker started dies with it, and nothing runs unguarded.

(The whole story, a real worker killed in the middle of an apply, is in
tests/security/test_killed_workers.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provisioning.blueprint_files import bundled_blueprints
from provisioning.lifeline import Lifeline
from provisioning.terraform import InMemoryStateStore, RunSpec, TerraformConfig, TerraformRun
from tests.processes import ROOT, process_running, process_started

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

# A process that starts a sleeper in a group of its own, has a lifeline hold it, and waits to
# be killed. With "kill-guard", it first kills its own guard, which the lifeline replaces.
OWNER = """
import os, subprocess, sys, time
from provisioning.lifeline import Lifeline
lifeline = Lifeline()
lifeline.watch_dir(sys.argv[1])
if "kill-guard" in sys.argv:
    lifeline._guard.kill()
    lifeline._guard.wait()
sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)
lifeline.hold(sleeper.pid)
print(sleeper.pid, lifeline._guard.pid, flush=True)
time.sleep(600)
"""


def wait_for(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.fixture
def sleepers() -> Iterator[list[tuple[int, str]]]:
    """Processes a test starts, killed afterwards should one survive."""
    started: list[tuple[int, str]] = []
    yield started
    for pid, when in started:
        if process_running(pid, when):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("guard", ["first guard", "replaced guard"])
def test_it_kills_the_held_groups_and_removes_the_directory_when_its_process_dies(
    tmp_path, sleepers, guard
):
    workdir = tmp_path / "work"
    (workdir / "deep").mkdir(parents=True)
    (workdir / "deep" / "file").write_text("x")
    args = [str(workdir), *(["kill-guard"] if guard == "replaced guard" else [])]
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        sleeper, guard_pid = map(int, owner.stdout.readline().split())
        sleepers.append((sleeper, process_started(sleeper)))
        sleepers.append((guard_pid, process_started(guard_pid)))
        assert process_running(*sleepers[0])
    finally:
        with owner:  # closes its pipe and waits for it
            owner.kill()
    wait_for(lambda: not process_running(*sleepers[0]))
    wait_for(lambda: not workdir.exists())
    wait_for(lambda: not process_running(*sleepers[1]))  # and the guard is gone too


def test_a_lifeline_closed_normally_leaves_everything_alone(tmp_path, sleepers):
    sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)
    sleepers.append((sleeper.pid, process_started(sleeper.pid)))
    with Lifeline() as lifeline:
        lifeline.watch_dir(tmp_path)
        lifeline.hold(sleeper.pid)
        guard = lifeline._guard
    assert guard.returncode == 0
    assert process_running(*sleepers[0])
    assert tmp_path.exists()
    sleeper.kill()
    sleeper.wait()


def test_terraform_does_not_start_unless_the_guard_holds_its_group(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    fake = tmp_path / "terraform"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    gated: list[tuple[int, str]] = []

    def refuse(self: Lifeline, pgid: int) -> None:
        gated.append((pgid, process_started(pgid)))
        raise OSError("the guard is unreachable")

    monkeypatch.setattr(Lifeline, "hold", refuse)
    hello = next(b for b in bundled_blueprints() if b.slug == "hello").files
    # Unsandboxed, so that the fake could touch the marker; sandboxed steps start at the
    # same gate (`processes.start_gated`).
    config = TerraformConfig(binary=str(fake), plugin_dir=plugins, isolated=False)
    run = TerraformRun(config, InMemoryStateStore(), lambda line: None)
    with pytest.raises(OSError, match="unreachable"):
        run.plan(RunSpec(files=dict(hello)))
    [gate] = gated
    assert not process_running(*gate)
    assert not marker.exists()
