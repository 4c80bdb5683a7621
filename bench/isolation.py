"""What the Terraform sandbox costs: the bundled hello blueprint's plan and apply, isolated
and not, in the same run.

    python bench/isolation.py [ROUNDS]

Each round plans and applies hello once with isolation and once without (alternating which
goes first, so that neither always meets a warm cache), with the real Terraform 1.0.3 and null
provider and the engine the workers use (provisioning.terraform), its state in memory. The
sandbox adds bwrap's namespaces and mounts, socat's forwarder and prlimit to each of the six
steps (init, plan, show; init, apply, output). Prints the median seconds of each and their
ratio, then one line of JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, table
from provisioning.blueprint_files import bundled_blueprints
from provisioning.terraform import (
    InMemoryStateStore,
    RunSpec,
    TerraformConfig,
    TerraformRun,
)

HELLO = next(b for b in bundled_blueprints() if b.slug == "hello").files


def plan_and_apply(isolated: bool, work_dir: str) -> float:
    config = TerraformConfig(
        binary="terraform", plugin_dir=ROOT / "var" / "terraform-plugins",
        isolated=isolated, work_dir=work_dir, timeout=300,
    )  # fmt: skip
    lines: list[str] = []
    spec = RunSpec(
        files=dict(HELLO), variables={"name": "bench", "secret_token": "tok-bench-0001"},
        sensitive={"secret_token"},
    )  # fmt: skip
    started = time.perf_counter()
    run = TerraformRun(config, InMemoryStateStore(), lines.append)
    plan = run.plan(spec)
    if not plan.ok or plan.plan is None:
        raise SystemExit("\n".join(lines))
    if not run.apply(spec, plan.plan).ok:
        raise SystemExit("\n".join(lines))
    return time.perf_counter() - started


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as work_dir:
        Path(work_dir).chmod(0o711)  # a root worker's sandbox runs as nobody
        plan_and_apply(True, work_dir)  # the first start checks that bwrap works here
        for n in range(rounds):
            for isolated in (n % 2 == 0, n % 2 == 1):
                times[isolated].append(plan_and_apply(isolated, work_dir))
    isolated, plain = statistics.median(times[True]), statistics.median(times[False])
    print(f"hello plan + apply, median of {rounds} rounds each")
    rows = [
        ("unisolated", f"{plain:.2f}", "1.00x"),
        ("isolated (bwrap)", f"{isolated:.2f}", f"{isolated / plain:.2f}x"),
    ]
    print(table(rows, ("mode", "seconds", "vs unisolated")))
    print(json.dumps({
        "hello_unisolated_s": round(plain, 2),
        "hello_isolated_s": round(isolated, 2),
        "isolation_overhead_s": round(isolated - plain, 2),
        "isolated_vs_unisolated": round(isolated / plain, 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
