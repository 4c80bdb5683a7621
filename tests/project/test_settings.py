"""Production settings: refuse a default SECRET_KEY; `check --deploy` stays clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "Kx8v2mQ9-production-like-secret-zP4rT7wY1uE3oI6aS5dF0gH-jL8",
    "ALLOWED_HOSTS": "mcloud.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://mcloud.example.com",
    "STATIC_MANIFEST": "true",
    "FIELD_ENCRYPTION_KEYS": "JoSLCvFRg3bVmLKdHV2TJhkkD8vD4V9E5ZQUWRTVZQY=",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _python("manage.py", *args, **env)


def _python(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Only what a fresh production host would have: nothing from the test run leaks in.
    base = {k: os.environ[k] for k in ("PATH", "HOME", "PYENV_VERSION") if k in os.environ}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings():
    out = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = {**PRODUCTION}
    del env["SECRET_KEY"]
    out = _manage("check", **env)
    assert out.returncode != 0
    assert "SECRET_KEY is missing or is a default value" in out.stderr


def test_it_refuses_a_default_secret_key_when_debug_is_off():
    out = _manage("check", **{**PRODUCTION, "SECRET_KEY": "change-me"})
    assert out.returncode != 0
    assert "SECRET_KEY is missing or is a default value" in out.stderr


def test_it_runs_with_no_configuration_in_development():
    out = _manage("check", DEBUG="true")
    assert out.returncode == 0, out.stderr


def test_it_refuses_to_start_without_encryption_keys_when_debug_is_off():
    env = {**PRODUCTION}
    del env["FIELD_ENCRYPTION_KEYS"]
    out = _manage("check", **env)
    assert out.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is missing and DEBUG is off" in out.stderr


def _example_values() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return dict(pairs)


def _variables_read_by_the_code() -> set[str]:
    settings = (ROOT / "mcloud" / "settings.py").read_text()
    gunicorn = (ROOT / "gunicorn.conf.py").read_text()
    return set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', settings)) | set(
        re.findall(r'_setting\("([A-Z_]+)"', gunicorn)
    )


def test_every_variable_is_in_env_example_and_in_the_readme_table():
    read = _variables_read_by_the_code()
    assert {"DATABASE_URL", "SECRET_KEY", "WEB_CONCURRENCY", "API_RATE_LIMIT"} <= read
    readme_rows = [
        line for line in (ROOT / "README.md").read_text().splitlines() if line[:3] == "| `"
    ]
    in_readme = {
        name for row in readme_rows for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])
    }
    assert read - set(_example_values()) == set()
    assert read - in_readme == set()


def test_a_copy_of_env_example_runs_as_it_is():
    """Empty values in `.env.example` mean "the default", for Django and for gunicorn."""
    example = _example_values()
    assert example["DATABASE_URL"] == ""
    assert example["SECURE_HSTS_SECONDS"] == ""
    out = _manage("check", **{**example, "DATABASE_URL": ""})
    assert out.returncode == 0, out.stderr
    config = "import runpy; c = runpy.run_path('gunicorn.conf.py'); print(c['workers'], c['bind'])"
    out = _python("-c", config, **example)
    assert out.returncode == 0, out.stderr
    workers, bind = out.stdout.split()
    assert int(workers) >= 1
    assert bind == "0.0.0.0:8000"
