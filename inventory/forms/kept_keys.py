"""A pasted key kept server-side while a refused form is shown again.

Invariants: the key is stored encrypted in the user's own session, never sent back to the
browser (the form carries only a random reference), and a reference lives an hour.
"""

from __future__ import annotations

import secrets as random_tokens
import time
from collections.abc import MutableMapping
from typing import Any

from mcloud.crypto import DecryptionError, decrypt, encrypt


class KeptKeys:
    """Keys pasted into a form that was refused for another reason (a bad table name, a name
    in use): kept encrypted in the user's session under a random reference that the form
    carries in a hidden field, so the key need not be pasted again and is never sent back
    to the browser. A reference lives an hour, and only in the session that made it."""

    SESSION_KEY = "inventory.kept_keys"
    LIFETIME = 3600

    def __init__(self, session: MutableMapping[str, Any]) -> None:
        self.session = session

    def _entries(self) -> dict[str, dict[str, Any]]:
        now = time.time()
        entries = self.session.get(self.SESSION_KEY) or {}
        return {r: e for r, e in entries.items() if now - e.get("at", 0) < self.LIFETIME}

    def put(self, text: str, ref: str = "") -> str:
        entries = self._entries()
        ref = ref if ref in entries else random_tokens.token_urlsafe(16)
        entries[ref] = {"key": encrypt(text), "at": time.time()}
        self.session[self.SESSION_KEY] = entries
        return ref

    def get(self, ref: str) -> str:
        entry = self._entries().get(ref) if ref else None
        if entry is None:
            return ""
        try:
            return decrypt(entry["key"])
        except DecryptionError:
            return ""

    def drop(self, ref: str) -> None:
        entries = self._entries()
        if entries.pop(ref, None) is not None or self.SESSION_KEY in self.session:
            self.session[self.SESSION_KEY] = entries
