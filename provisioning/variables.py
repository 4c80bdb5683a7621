"""A blueprint's input variables, as its root module declares them.

Declarations are read with python-hcl2 (or as JSON for .tf.json), and only literal defaults
are accepted: a default is shown in forms and stored, so it must not be an expression.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions, process_escape_sequences
from lark.exceptions import LarkError

from provisioning.blueprint_files import BlueprintError

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HCL_OPTIONS = SerializationOptions(
    with_comments=False,
    explicit_blocks=False,
    preserve_heredocs=False,
    preserve_scientific_notation=False,
)


@dataclass(frozen=True)
class Variable:
    name: str
    type: str  # as written in the blueprint: "string", "list(string)", "object({a = string})"
    default: Any
    description: str
    sensitive: bool
    required: bool


def parse_variables(files: dict[str, str]) -> list[Variable]:
    """The root module's input variables, in file-name order, as declared.

    Only top-level files count: files in folders belong to local modules, whose variables are
    set by the root module, not by the user.
    """
    variables: list[Variable] = []
    seen: dict[str, str] = {}
    for path in sorted(files):
        if "/" in path:
            continue
        if path.endswith(".tf.json"):
            blocks = _json_variable_blocks(path, files[path])
        elif path.endswith(".tf"):
            blocks = _hcl_variable_blocks(path, files[path])
        else:
            continue
        for name, body in blocks:
            if not _VARIABLE_NAME.fullmatch(name):
                raise BlueprintError(f"{path}: {name!r} is not a valid variable name.")
            if name in seen:
                raise BlueprintError(f"{path}: variable {name!r} is also declared in {seen[name]}.")
            seen[name] = path
            variables.append(_variable(path, name, body))
    return variables


def _hcl_variable_blocks(path: str, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        doc = hcl2.loads(text, serialization_options=_HCL_OPTIONS)
    except (LarkError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise BlueprintError(f"{path}: invalid HCL: {_parse_error(exc)}") from None
    blocks = []
    for block in doc.get("variable", []):
        for label, body in block.items():
            blocks.append((unquote(label), body if isinstance(body, dict) else {}))
    return blocks


def _parse_error(exc: Exception) -> str:
    """python-hcl2's reason, said without lark's token names where lark tells where it was."""
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    token = getattr(exc, "token", None)
    if getattr(token, "type", None) == "$END":
        return f"unexpected end of file at line {line}, column {column}"
    found = token or getattr(exc, "char", None)
    if isinstance(line, int) and line > 0 and found:
        return f"unexpected {str(found).strip()[:30]!r} at line {line}, column {column}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _json_variable_blocks(path: str, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise BlueprintError(f"{path}: invalid JSON: {exc}") from None
    found = doc.get("variable", {}) if isinstance(doc, dict) else {}
    blocks = []
    for group in found if isinstance(found, list) else [found]:
        for name, body in (group or {}).items():
            body = body[0] if isinstance(body, list) and body else body
            # JSON bodies hold plain JSON values: quote strings so _variable reads them alike.
            blocks.append((name, {k: _as_hcl_literal(v) for k, v in (body or {}).items()}))
    return blocks


def _as_hcl_literal(value: Any) -> Any:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return [_as_hcl_literal(v) for v in value]
    if isinstance(value, dict):
        return {json.dumps(k): _as_hcl_literal(v) for k, v in value.items()}
    return value


def _variable(path: str, name: str, body: dict[str, Any]) -> Variable:
    where = f"{path}: variable {name!r}"
    type_text = body.get("type", "any")
    if isinstance(type_text, str):
        type_text = unquote(type_text)
        if type_text.startswith("${") and type_text.endswith("}"):
            type_text = type_text[2:-1]
    else:
        raise BlueprintError(f"{where}: the type is not a type expression.")
    description = _literal(body.get("description", '""'), f"{where} description")
    sensitive = _literal(body.get("sensitive", False), f"{where} sensitive")
    return Variable(
        name=name,
        type=type_text,
        default=_literal(body["default"], f"{where} default") if "default" in body else None,
        description=description if isinstance(description, str) else "",
        sensitive=sensitive is True or sensitive == "true",
        required="default" not in body,
    )


def _literal(value: Any, where: str) -> Any:
    """A python-hcl2 value (strings in source form, with quotes) as the plain value it denotes."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            inner = value[1:-1]
            if re.search(r"[$%]\{", inner.replace("$${", "").replace("%%{", "")):
                raise BlueprintError(f"{where}: must be a literal value, not a template.")
            return process_escape_sequences(inner).replace("$${", "${").replace("%%{", "%{")
        raise BlueprintError(f"{where}: must be a literal value, not an expression.")
    if isinstance(value, list):
        return [_literal(v, where) for v in value]
    if isinstance(value, dict):
        return {unquote(k): _literal(v, where) for k, v in value.items()}
    return value


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return process_escape_sequences(text[1:-1])
    return text
