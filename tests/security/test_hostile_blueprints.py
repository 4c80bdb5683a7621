"""A hostile blueprint, uploaded by an admin of another organization, tries every escape from
its Terraform run while a victim organization's apply runs beside it, each in a real worker
process started with the worker's secrets in its environment (as in production).

Each probe prints that it ran and what it got; the tests assert on what it got. The same
blueprint runs in three modes:
- isolated: the offline hello kind of run, with no network at all;
- proxied: a cloud run, whose only way out is the egress proxy (an allowed emulator answers,
  everything private is refused);
- off (TERRAFORM_ISOLATION=off): the probes find every secret, so a probe that never ran, or
  looked in the wrong place, cannot pass the isolated modes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from accounts.models import Membership
from accounts.roles import Role
from inventory.models import CloudAccount
from provisioning.models import DeploymentRun
from provisioning.services.blueprints import blueprint_create
from provisioning.services.deployments import deployment_create, values_validate
from provisioning.services.runs import run_approve, run_cancel, run_plan_queue
from tests.conftest import make_user
from tests.processes import ROOT, app_env, processes_in, reachable_dir

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="probes read /proc"),
]
Status = DeploymentRun.Status
HOSTILE = Path(__file__).parent / "hostile"
VICTIM_SECRET = "victim-aws-secret-5c1d9e"
ATTACKER_SECRET = "attacker-aws-secret-77aa02"
EMULATOR_BODY = "EMULATOR-OK-3b8e"


@dataclass
class Outcome:
    plan: str  # the hostile plan's log
    apply: str  # the hostile apply's log
    victim: DeploymentRun
    victim_dir: Path
    worker_secrets: list[str]
    plugins: Path

    @property
    def text(self) -> str:
        return self.plan + self.apply

    def got(self, probe: str) -> list[str]:
        """What one apply-time probe reported (after checking that it ran)."""
        marker = f"(local-exec): PROBE:{probe}:"
        lines = [line.split(marker, 1)[1] for line in self.apply.splitlines() if marker in line]
        assert lines[:1] == ["ran"], f"the {probe} probe did not run:\n{self.apply}"
        return [line.removeprefix("got:") for line in lines[1:]]

    def plan_probe(self, name: str) -> str:
        [line] = [line for line in self.plan.splitlines() if f"plan_probe_{name} " in line]
        assert '"ran; ' in line, f"the plan-time {name} probe did not run:\n{self.plan}"
        return line


# --- the world ---------------------------------------------------------------------------------
@pytest.fixture
def terraform_copies() -> Iterator[tuple[Path, Path]]:
    """A copy of Terraform and of the plugin directory: with isolation off, the probes really
    write into them."""
    from provisioning.isolation import real_terraform
    from provisioning.terraform import find_terraform

    with reachable_dir("hostile-") as folder:
        binary = folder / "terraform"
        shutil.copy2(real_terraform(find_terraform(django_settings.TERRAFORM_BIN)), binary)
        plugins = folder / "plugins"
        shutil.copytree(django_settings.TERRAFORM_PLUGIN_DIR, plugins)
        yield binary, plugins


@pytest.fixture
def emulator() -> Iterator[str]:
    """An HTTP service on the host's loopback that operators allowed runs to reach."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = EMULATOR_BODY.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def aws_account(organization, name: str, secret: str) -> CloudAccount:
    return CloudAccount.objects.create(
        organization=organization, name=name, provider="aws",
        config={"auth_method": "keys", "access_key_id": f"AKIA{name.upper()}", "regions": []},
        secrets={"secret_access_key": secret},
    )  # fmt: skip


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def log_of(run_id: int) -> str:
    return DeploymentRun.objects.values_list("log", flat=True).get(pk=run_id)


def worker(run_id: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A worker process carrying out one run, as a q2 worker would."""
    code = f"from provisioning.tasks import run_execute; run_execute({run_id})"
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT, env=app_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def finish(process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr.decode(errors="replace")


def state_address(run_root: Path) -> str | None:
    """The TCP address of a run's state server, read off its Terraform's environment (only
    unsandboxed runs have one; sandboxed runs serve their state on a Unix socket)."""
    for pid in processes_in(run_root / "work"):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for entry in environ:
            if entry.startswith(b"TF_HTTP_ADDRESS=http://"):
                return entry.split(b"//", 1)[1].split(b"/", 1)[0].decode()
    return None


def run_hostile(
    *, mode: str, live_server, terraform_copies, work_dir: Path, emulator: str, settings
) -> Outcome:
    binary, plugins = terraform_copies
    env = {
        "TERRAFORM_ISOLATION": "off" if mode == "off" else "on",
        "TERRAFORM_BIN": str(binary),
        "TERRAFORM_PLUGIN_DIR": str(plugins),
        "TERRAFORM_WORK_DIR": str(work_dir),
        "TERRAFORM_EGRESS_ALLOW": emulator,
    }
    # This process plans the victim; the workers run everything else.
    settings.TERRAFORM_ISOLATION = env["TERRAFORM_ISOLATION"]
    settings.TERRAFORM_BIN, settings.TERRAFORM_PLUGIN_DIR = str(binary), str(plugins)
    settings.TERRAFORM_WORK_DIR = str(work_dir)
    worker_env = {
        k: v for k, v in os.environ.items() if k in ("FIELD_ENCRYPTION_KEYS", "SECRET_KEY")
    }
    assert all(worker_env.values())  # the workers start with both, as in production

    # The victim: an organization whose apply holds its cloud secret in its environment.
    from accounts.models import Organization
    from provisioning.models import Blueprint

    acme = Organization.objects.create(name="Acme", slug="acme")
    alice = make_user("alice@acme.test")
    Membership.objects.create(organization=acme, user=alice, role=Role.OWNER)
    hello = Blueprint.objects.get(organization=None, slug="hello").latest_version
    victim = deployment_create(
        organization=acme, name="victim", version=hello,
        account=aws_account(acme, "victim", VICTIM_SECRET),
        values=values_validate(hello, {"name": "victim", "sleep_seconds": "300"}), user=alice,
    )  # fmt: skip
    plan = run_plan_queue(deployment=victim, user=alice, enqueue=False)
    victim_worker = worker(plan.pk, env)
    finish(victim_worker)
    apply = run_approve(plan_run=DeploymentRun.objects.get(pk=plan.pk), user=alice, enqueue=False)
    victim_worker = worker(apply.pk, env)
    try:
        wait_for(lambda: "Hello, victim!" in log_of(apply.pk), "the victim's apply to sleep")
        [victim_root] = work_dir.iterdir()
        targets = [
            f"127.0.0.1:{django_settings.DATABASES['default'].get('PORT') or 5432}",
            "127.0.0.1:6379",
            live_server.url.removeprefix("http://"),
            "169.254.169.254:80",
        ]
        if mode == "off":
            address = state_address(victim_root)
            assert address, "the victim's state server should be on TCP without isolation"
            targets.append(address)

        # The attacker: an admin of another organization, with a blueprint of their own.
        umbrella = Organization.objects.create(name="Umbrella", slug="umbrella")
        mallory = make_user("mallory@umbrella.test")
        Membership.objects.create(organization=umbrella, user=mallory, role=Role.ADMIN)
        files = {p.name: p.read_text() for p in HOSTILE.iterdir() if p.is_file()}
        blueprint = blueprint_create(
            organization=umbrella, name="Probe", description="", files=files, user=mallory
        )
        version = blueprint.latest_version
        values = {
            "project_dir": str(ROOT),
            "var_dir": str(ROOT / "var"),
            "targets": " ".join(targets),
            "other_run_dir": str(victim_root),
            "host_terraform": str(binary),
            "host_plugins": str(plugins),
            "allowed_url": f"http://{emulator}/",
        }
        account = aws_account(umbrella, "attacker", ATTACKER_SECRET) if mode == "proxied" else None
        hostile = deployment_create(
            organization=umbrella, name="probe", version=version, account=account,
            values=values_validate(version, values), user=mallory,
        )  # fmt: skip
        hostile_plan = run_plan_queue(deployment=hostile, user=mallory, enqueue=False)
        finish(worker(hostile_plan.pk, env))
        hostile_plan.refresh_from_db()
        assert hostile_plan.status == Status.PLANNED, hostile_plan.log
        hostile_apply = run_approve(plan_run=hostile_plan, user=mallory, enqueue=False)
        finish(worker(hostile_apply.pk, env))
        hostile_apply.refresh_from_db()
        assert hostile_apply.status == Status.APPLIED, hostile_apply.log
    finally:
        run_cancel(run=DeploymentRun.objects.get(pk=apply.pk), user=alice)
        victim_worker.communicate(timeout=120)
    return Outcome(
        plan=hostile_plan.log,
        apply=hostile_apply.log,
        victim=DeploymentRun.objects.get(pk=apply.pk),
        victim_dir=victim_root,
        worker_secrets=[worker_env["FIELD_ENCRYPTION_KEYS"], worker_env["SECRET_KEY"]],
        plugins=plugins,
    )


@pytest.fixture
def outcome(request, live_server, terraform_copies, run_dir, emulator, settings, hello_version):
    return run_hostile(
        mode=request.param, live_server=live_server, terraform_copies=terraform_copies,
        work_dir=run_dir, emulator=emulator, settings=settings,
    )  # fmt: skip


# --- isolated: every escape fails --------------------------------------------------------------
@pytest.mark.parametrize("outcome", ["isolated", "proxied"], indirect=True)
def test_a_hostile_blueprint_reaches_nothing_of_the_worker_nor_the_other_tenant(outcome):
    for secret in [*outcome.worker_secrets, VICTIM_SECRET]:
        assert secret not in outcome.text
    assert "found: " in outcome.plan_probe("environ")
    assert "found: FIELD" not in outcome.plan_probe("environ")
    assert "not found" in outcome.plan_probe("settings")
    assert "not found" in outcome.plan_probe("var_dir")
    assert "not found" in outcome.plan_probe("template")

    # /proc shows the sandbox's own processes, and holds none of the worker's secrets.
    assert not [line for line in outcome.got("environ") if "FIELD_ENCRYPTION_KEYS" in line]
    chain = outcome.got("ppid")
    links = [line.split()[0] for line in chain if "->" in line]
    assert links[-1].endswith("->1")  # up to the sandbox's own init
    assert not [line for line in chain if "manage.py" in line or "SECRET_KEY=" in line]
    assert all(line.startswith("not found") for line in outcome.got("files"))
    assert outcome.got("otherrun") == [f"not found {outcome.victim_dir}", "no socket"]
    assert all(line.endswith(" failed") for line in outcome.got("net")), outcome.got("net")
    assert all(line.startswith("refused") for line in outcome.got("write"))
    assert not (outcome.plugins / "probe").exists()
    assert outcome.victim.status == Status.CANCELLED


@pytest.mark.parametrize("outcome", ["proxied"], indirect=True)
def test_a_cloud_run_leaves_only_through_the_proxy_and_only_to_allowed_places(outcome):
    got = dict(line.split(" ", 1) for line in outcome.got("proxy"))
    assert got["allowed"] == EMULATOR_BODY
    assert "is a loopback address" in got["http://127.0.0.1:5432/"]
    assert "403" in got["https://169.254.169.254/latest/meta-data/"]
    assert "is a private address" in got["http://10.0.0.1/"]
    assert EMULATOR_BODY not in got["direct"]  # no way around the proxy
    assert "Refused a connection to 169.254.169.254:443: 169.254.169.254:443 is a link-local" in (
        outcome.apply
    )
    assert ATTACKER_SECRET not in outcome.text  # its own secret, masked in its own log


@pytest.mark.parametrize("outcome", ["off"], indirect=True)
def test_without_isolation_the_same_probes_find_every_secret(outcome):
    """The control: the probes work, so their failures above are the sandbox's doing."""
    for secret in [*outcome.worker_secrets, VICTIM_SECRET]:
        assert secret in outcome.text
    assert f"FIELD_ENCRYPTION_KEYS={outcome.worker_secrets[0]}" in outcome.plan_probe("environ")
    assert "read: " in outcome.plan_probe("settings")
    assert "terraform-plugins" in outcome.plan_probe("var_dir")
    assert "bytes" in outcome.plan_probe("template")
    assert [line for line in outcome.got("ppid") if "FIELD_ENCRYPTION_KEYS=" in line]
    assert any(line.startswith("read ") for line in outcome.got("files"))
    other = outcome.got("otherrun")
    assert other[0].startswith("listed ")
    assert "_mcloud_backend.tf" in other[0]
    connected = [line for line in outcome.got("net") if line.endswith(" connected")]
    assert len(connected) >= 3  # the database, the web server and the victim's state server
    assert any(line.startswith("wrote ") for line in outcome.got("write"))
    assert (outcome.plugins / "probe").exists()
