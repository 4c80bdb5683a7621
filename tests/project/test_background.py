"""Background work is named in one place: every task by its function (mcloud.background)."""

from __future__ import annotations

import re

import pytest
from django_q.models import Schedule

from accounts import tasks as accounts_tasks
from billing import tasks as billing_tasks
from inventory import tasks as inventory_tasks
from inventory.schedules import account_schedule_update
from mcloud.background import Task
from provisioning import tasks as provisioning_tasks
from tests.inventory.factories import aws_account
from tests.processes import ROOT

PRODUCT = ("accounts", "inventory", "billing", "provisioning", "mcloud")


def test_every_task_is_named_by_its_own_function():
    for module in (accounts_tasks, inventory_tasks, billing_tasks, provisioning_tasks):
        tasks = [v for v in vars(module).values() if isinstance(v, Task)]
        assert tasks, module.__name__
        for task in tasks:
            assert task.function().__module__ == module.__name__
            assert task.path == f"{module.__name__}.{task.function().__name__}"


@pytest.mark.django_db
def test_every_stored_schedule_names_a_task_that_exists(org):
    account_schedule_update(aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x")))
    schedules = list(Schedule.objects.all())
    assert len(schedules) >= 4  # health checks, recovery, the daily import, the account's sync
    for schedule in schedules:
        assert callable(Task(schedule.func).function()), schedule.name


def test_no_task_path_is_written_as_a_string():
    """A renamed task would leave such a string behind, naming nothing."""
    written = re.compile(r"""["'](?:accounts|inventory|billing|provisioning)\.tasks\.\w+["']""")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if written.search(line)
    ]
    assert found == []
