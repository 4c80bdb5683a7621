"""Background work is named in one place: the task function itself.

A `Task` is a django-q2 task given by its function: its dotted path (what queued tasks and
`Schedule.func` store) is derived from the function, so a rename cannot leave a stale string
behind. Apps define their tasks in `<app>/tasks.py`, each followed by its `Task`, and the
command services that request work queue them with `enqueue()`, after the request's
transaction commits, so that the worker finds the rows it is to work on.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django_q.models import Schedule
from django_q.tasks import async_task


@dataclass(frozen=True)
class Task:
    path: str  # "app.tasks.function"
    group: str | None = None  # django-q2's task group: how the admin groups its results

    @classmethod
    def of(cls, func: Callable[..., Any], group: str | None = None) -> Task:
        return cls(f"{func.__module__}.{func.__qualname__}", group)

    def enqueue(self, *args: Any) -> None:
        """Queue a run of the task with `args` (ids only) once the transaction commits."""
        transaction.on_commit(partial(async_task, self.path, *args, group=self.group))

    def schedule_once(self, *args: Any, at: datetime, name: str) -> None:
        """Run the task with `args` (ids only) once, at `at`, from q2's scheduler. `name` must
        be unique (q2 does not enforce it): it is the schedule's only handle."""
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": self.path,
                "args": repr(tuple(args)),
                "schedule_type": Schedule.ONCE,
                "repeats": -1,
                "next_run": at,
            },
        )

    def function(self) -> Callable[..., Any]:
        """The function the path names (ImportError or AttributeError when there is none)."""
        module, name = self.path.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)
