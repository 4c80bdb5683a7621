"""Model fields whose values are encrypted at rest (see mcloud/crypto.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db import models

from mcloud import crypto

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

    # django-stubs reads what a model's attribute holds from its field's generic arguments:
    # a JSON object, not the text the column stores (a TextField would say str).
    _JSONFieldBase = models.Field[dict[str, Any] | Combinable, dict[str, Any]]
else:
    _JSONFieldBase = models.TextField


class EncryptedJSONField(_JSONFieldBase):
    """A JSON object stored as a Fernet token. Not editable in forms or the admin, and not
    searchable: the database only ever sees ciphertext."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return {}
        return json.loads(crypto.decrypt(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value:
            return json.loads(crypto.decrypt(value))
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata) keeps the ciphertext, never the plaintext.
        return self.get_prep_value(self.value_from_object(obj)) or ""
