"""Errors every layer may raise: the shared kernel's, importing no app."""

from __future__ import annotations


class ActionRefused(Exception):
    """A business rule refused an action; the message is safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
