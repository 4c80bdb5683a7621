"""A sensitive variable never shows in plain text: not in the log, the pages, the audit log,
the admin, nor anywhere in the database (every table is read raw, with a cursor)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from provisioning.models import DeploymentRun, DeploymentState
from provisioning.services.state import DatabaseStateStore
from tests.provisioning.conftest import SECRET

pytestmark = pytest.mark.django_db


def raw_rows_holding(needle: str) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for cell in row:
                    text = cell.decode(errors="replace") if isinstance(cell, bytes | memoryview)\
                        else str(cell)  # fmt: skip
                    if needle in text:
                        found.append(table)
    return found


def test_a_sensitive_variable_is_never_in_plain_text(
    login, alice, deployment, django_capture_on_commit_callbacks
):
    client = login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("provisioning:deployment_plan", args=[deployment.pk]))
    plan = DeploymentRun.objects.get(deployment=deployment)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("provisioning:run_approve", args=[plan.pk]))
    apply = DeploymentRun.objects.get(plan_run=plan)
    assert apply.status == DeploymentRun.Status.APPLIED, apply.log

    # The value is real all the same: Terraform got it (it is in the state, encrypted).
    assert SECRET in DatabaseStateStore(deployment).load().decode()
    assert apply.outputs["connection_string"] == {"value": None, "sensitive": True,
                                                  "type": "string"}  # fmt: skip
    for run in (plan, apply):
        run.refresh_from_db()
        assert SECRET not in run.log
    assert "connection_string = <sensitive>" in apply.log

    pages = [
        reverse("provisioning:deployment_list"),
        reverse("provisioning:deployment_detail", args=[deployment.pk]),
        reverse("provisioning:deployment_edit", args=[deployment.pk]),
        reverse("provisioning:run_detail", args=[plan.pk]),
        reverse("provisioning:run_detail", args=[apply.pk]),
        reverse("provisioning:run_log", args=[apply.pk]),
        reverse("provisioning:run_panel", args=[apply.pk]),
        reverse("accounts:audit_log"),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert SECRET not in response.content.decode(), page

    staff = User.objects.create_superuser(email="root@example.test", password="x" * 20)
    client.force_login(staff)
    state = DeploymentState.objects.get()
    for name, pk in (("deployment", deployment.pk), ("deploymentrun", plan.pk),
                     ("deploymentrun", apply.pk), ("deploymentstate", state.pk)):  # fmt: skip
        for view, args in (("changelist", []), ("change", [pk])):
            response = client.get(reverse(f"admin:provisioning_{name}_{view}", args=args))
            assert response.status_code == 200
            assert SECRET not in response.content.decode(), (name, view)

    assert "provisioning_deployment" in raw_rows_holding("hello-1")  # the scan does find things
    assert raw_rows_holding(SECRET) == []
    assert raw_rows_holding("tok-3f9a") == []  # not even a part of it
    assert json.dumps(SECRET)[1:-1] == SECRET  # (so no escaped form could hide from the scan)
