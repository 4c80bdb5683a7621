"""What a sandboxed run cannot use up: processes (a fork bomb), the disk and its private /tmp,
and time. Each blueprint tries, and the tests check what it got, with the real Terraform."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from django.conf import settings

from provisioning.terraform import (
    InMemoryStateStore,
    Limits,
    RunSpec,
    TerraformConfig,
    TerraformRun,
)
from tests.processes import processes_in

MB = 1024 * 1024


def blueprint(command: str) -> dict[str, str]:
    """One null resource whose local-exec runs `command` with bash."""
    quoted = json.dumps(command).replace("${", "$${").replace("%{", "%%{")  # an HCL string
    return {
        "main.tf": (
            'resource "null_resource" "try" {\n'
            '  provisioner "local-exec" {\n'
            '    interpreter = ["/bin/bash", "-c"]\n'
            f"    command     = {quoted}\n"
            "  }\n"
            "}\n"
        ),
    }


def config(run_dir: Path, **kwargs: object) -> TerraformConfig:
    return TerraformConfig(
        binary=settings.TERRAFORM_BIN, plugin_dir=settings.TERRAFORM_PLUGIN_DIR,
        work_dir=str(run_dir), cancel_grace=2, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def plan_and_apply(cfg: TerraformConfig, files: dict[str, str], watch: Path | None = None):
    """Plan and apply; with `watch`, also the most processes seen working under it at once."""
    lines: list[str] = []
    run = TerraformRun(cfg, InMemoryStateStore(), lines.append)
    plan = run.plan(RunSpec(files=files))
    assert plan.ok, "\n".join(lines)
    peak = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], len(processes_in(watch)))  # type: ignore[arg-type]

    counter = threading.Thread(target=count, daemon=True)
    if watch is not None:
        counter.start()
    try:
        result = run.apply(RunSpec(files=files), plan.plan)  # type: ignore[arg-type]
    finally:
        stop.set()
        if watch is not None:
            counter.join()
    return result, "\n".join(lines), peak[0]


def test_a_fork_bomb_stays_within_the_process_limit_and_dies_with_the_run(run_dir):
    cfg = config(run_dir, timeout=25, limits=Limits(processes=256))
    bomb = blueprint("echo bomb starts; b() { b | b & }; b; sleep 600")
    result, log, peak = plan_and_apply(cfg, bomb, watch=run_dir)
    assert "bomb starts" in log  # it ran
    assert not result.ok
    # Either the timeout stopped it, or the limit starved Terraform itself of threads first.
    assert result.timed_out or "failed to create new OS thread" in log
    assert 0 < peak <= 256  # the bomb hit the limit (threads count too, so fewer processes)
    assert processes_in(run_dir) == {}  # nothing survives the run
    assert list(run_dir.iterdir()) == []


def test_filling_the_disk_stops_at_the_file_size_limit(run_dir):
    cfg = config(run_dir, timeout=120, limits=Limits(file_size_mb=16, tmp_mb=8))
    fill = blueprint(
        "dd if=/dev/zero of=/work/big bs=1M count=1024 2>&1 | tail -1; "
        'echo "work=$(stat -c %s /work/big)"; '
        "dd if=/dev/zero of=/tmp/big bs=1M count=1024 2>&1 | tail -1; "
        'echo "tmp=$(stat -c %s /tmp/big)"'
    )
    result, log, _ = plan_and_apply(cfg, fill)
    sizes = dict(
        line.split("(local-exec): ", 1)[1].split("=", 1)
        for line in log.splitlines()
        if "(local-exec): work=" in line or "(local-exec): tmp=" in line
    )
    assert 0 < int(sizes["work"]) <= 16 * MB  # RLIMIT_FSIZE
    assert 0 < int(sizes["tmp"]) <= 8 * MB  # the private /tmp is full
    assert result.ok  # the shell went on after each dd: the limits stopped the writes alone


def test_a_run_past_its_timeout_is_stopped_with_everything_inside(run_dir):
    cfg = config(run_dir, timeout=8)
    sleeper = blueprint("echo sleeping; sleep 600 & sleep 600")
    result, log, _ = plan_and_apply(cfg, sleeper)
    assert "sleeping" in log
    assert result.timed_out
    assert "[mcloud] The run exceeded 8 s: interrupting Terraform." in log
    assert processes_in(run_dir) == {}
    assert list(run_dir.iterdir()) == []
