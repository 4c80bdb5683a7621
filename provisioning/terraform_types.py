"""What a Terraform run is given and what it gives back: the engine's data types."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

from provisioning.isolation import Limits
from provisioning.state_server import state_serial


class TerraformError(Exception):
    """Terraform cannot run here at all (missing binary or plugins, bad arguments)."""


@dataclass(frozen=True)
class TerraformConfig:
    binary: str  # a path, or a name looked up next to the running Python, then on PATH
    plugin_dir: str | os.PathLike[str]
    timeout: float = 3600  # seconds for one plan() or apply(), all its steps together
    cancel_grace: float = 10  # seconds between SIGINT, SIGTERM and SIGKILL
    isolated: bool = True  # each step in a sandbox (see `provisioning.isolation`)
    limits: Limits = field(default_factory=Limits)
    egress_allow: frozenset[str] = frozenset()  # host:port pairs a run may reach although private
    work_dir: str | None = None  # where run directories go (None: the system's temporary dir)


@dataclass
class RunSpec:
    files: dict[str, str]  # the blueprint: relative path -> text
    variables: dict[str, Any] = field(default_factory=dict)
    sensitive: set[str] = field(default_factory=set)  # names whose values are secret
    env: dict[str, str] = field(default_factory=dict)  # cloud credentials: AWS_*, ARM_*, ...
    egress: bool = False  # a cloud run: it may leave through the egress proxy


@dataclass
class PlanSummary:
    create: int = 0
    update: int = 0
    replace: int = 0
    destroy: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)  # address, type, actions
    outputs: list[str] = field(default_factory=list)  # outputs whose value changes

    @property
    def has_changes(self) -> bool:
        """Whether applying would do anything (new output values alone are worth an apply)."""
        return bool(self.changes or self.outputs)

    @classmethod
    def from_plan_json(cls, doc: dict[str, Any]) -> PlanSummary:
        summary = cls()
        for change in doc.get("resource_changes") or []:
            actions = list((change.get("change") or {}).get("actions") or [])
            if actions in (["no-op"], ["read"]):
                continue
            if actions == ["create"]:
                summary.create += 1
            elif actions == ["update"]:
                summary.update += 1
            elif actions == ["delete"]:
                summary.destroy += 1
            elif sorted(actions) == ["create", "delete"]:
                summary.replace += 1
            summary.changes.append(
                {"address": change.get("address"), "type": change.get("type"), "actions": actions}
            )
        for name, change in (doc.get("output_changes") or {}).items():
            if (change or {}).get("actions") != ["no-op"]:
                summary.outputs.append(name)
        return summary


@dataclass
class PlanResult:
    exit_code: int
    plan: bytes | None  # the plan file; holds variable values and state: store it encrypted
    summary: PlanSummary
    state_serial: int | None  # the state serial the plan was made against
    cancelled: bool = False
    timed_out: bool = False
    # `terraform show -json` of the plan (for policies); holds variable values too.
    plan_json: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.plan is not None


@dataclass
class ApplyResult:
    exit_code: int
    outputs: dict[str, dict[str, Any]]  # name -> value, sensitive, type
    cancelled: bool = False
    timed_out: bool = False
    # State that Terraform could not save and neither could we: the caller must keep it.
    unsaved_state: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def plan_state_serial(plan: bytes) -> int | None:
    """The serial of the state snapshot inside a plan file: what Terraform checks on apply."""
    try:
        with zipfile.ZipFile(io.BytesIO(plan)) as archive:
            return state_serial(archive.read("tfstate"))
    except (zipfile.BadZipFile, KeyError):
        return None
