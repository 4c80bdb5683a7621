"""The Dockerfile's build steps run as written (no image is built: there is no registry)."""

from __future__ import annotations

import json
import re
import shlex

from tests.project.test_settings import ROOT, _manage


def _final_stage() -> str:
    return (ROOT / "Dockerfile").read_text().split("\nFROM ")[-1]


def test_collectstatic_runs_with_the_image_environment_and_no_real_secrets():
    stage = _final_stage()
    image_env = dict(
        pair.split("=", 1) for pair in re.search(r"^ENV (.+)$", stage, re.M).group(1).split()
    )
    assert image_env["DEBUG"] == "false"
    command = re.search(r"^RUN (SECRET_KEY=.*?collectstatic --noinput)", stage, re.M | re.S)
    words = shlex.split(command.group(1).replace("\\\n", " "))
    build_env = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    assert set(build_env) == {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}

    out = _manage("collectstatic", "--noinput", DEBUG=image_env["DEBUG"], **build_env)
    assert out.returncode == 0, out.stderr
    manifest = ROOT / "var" / "static" / "staticfiles.json"
    assert manifest.exists()  # hashed names for whitenoise, as production serves them
    paths = json.loads(manifest.read_text())["paths"]
    for asset in ("vendor/bootstrap/bootstrap.min.css", "js/mcloud.js", "django_htmx/htmx-2.js"):
        assert (ROOT / "var" / "static" / paths[asset]).exists(), asset


def test_the_image_runs_migrations_then_gunicorn_as_a_non_root_user():
    stage = _final_stage()
    assert re.search(r"^USER mcloud$", stage, re.M)
    command = re.search(r"^CMD (.+)$", stage, re.M).group(1)
    assert command.index("migrate --noinput") < command.index("exec gunicorn mcloud.wsgi")
    assert "--config gunicorn.conf.py" in command
