"""What a person started (syncs, Terraform runs) and has just finished, as toasts on
whatever page they are: each app that runs work for people registers a source here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from accounts.models import Organization, User


@dataclass(frozen=True)
class Toast:
    text: str
    url: str
    ok: bool
    at: datetime


@dataclass(frozen=True)
class Activity:
    """Whether any of the person's work still runs, and what finished after `since`."""

    running: bool
    finished: list[Toast]


ActivitySource = Callable[[User, Organization, datetime], Activity]
_SOURCES: list[ActivitySource] = []
TOASTS_AT_ONCE = 5


def register_activity_source(source: ActivitySource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def activity_check(*, user: User, organization: Organization, since: datetime) -> Activity:
    """Every source's answer for the person in the organization, the newest toasts last."""
    answers = [source(user, organization, since) for source in _SOURCES]
    finished = sorted((t for a in answers for t in a.finished), key=lambda t: t.at)
    return Activity(running=any(a.running for a in answers), finished=finished[-TOASTS_AT_ONCE:])
