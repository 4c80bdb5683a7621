"""Binary values encrypted at rest: plan files and Terraform state."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from mcloud import crypto
from mcloud.fields import EncryptedJSONField

if TYPE_CHECKING:
    from django.db import models
    from django.db.models.expressions import Combinable

    # What a model's attribute holds, for django-stubs: bytes or None, not a JSON object (at
    # run time the field is an EncryptedJSONField, as its docstring says).
    _BytesFieldBase = models.Field[bytes | Combinable | None, bytes | None]
else:
    _BytesFieldBase = EncryptedJSONField


class EncryptedBytesField(_BytesFieldBase):
    """Bytes stored as a Fernet token (of their base64), or NULL.

    A subclass of EncryptedJSONField only so that `manage.py rotate_encryption_keys`, which
    re-encrypts every EncryptedJSONField, rotates these too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", None)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return None
        return base64.b64decode(crypto.decrypt(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value:
            return base64.b64decode(crypto.decrypt(value))
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return crypto.encrypt(base64.b64encode(bytes(value)).decode())
