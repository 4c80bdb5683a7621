"""Hypothesis strategies built from the providers' own published API descriptions, walked in
code, so that no hand-written fake decides what a "normal" item looks like:

- AWS: botocore's service models (`botocore/data/<service>/<version>/service-2.json`): the
  output shape of each operation the adapter calls, its members, required members and enums.
- Azure: the azure-mgmt-* model classes, generated from the REST specifications: each field's
  wire name and visibility (the SDK's `_attr_to_rest_field`, private, the only place it is
  kept) and its type annotation (optional or required, enum, list, map, nested model). Only
  fields a read returns (visibility "read") are sent.
- GCP: Google's discovery documents shipped in google-api-python-client
  (`compute.v1.json`, `storage.v1.json`): schemas, `$ref`s, formats and enums.

Every optional field is present or absent; strings are any text or odd values (empty, blank,
NUL, lone surrogates where the wire allows them, 3,000 characters); enums are a documented
value or any other word. Nesting is cut at MAX_DEPTH (optional fields below it are left out).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import sys
import types
import typing
from functools import cache
from importlib.resources import files
from typing import Any

import botocore.session
from hypothesis import strategies as st

MAX_DEPTH = 5
MAX_LIST = 2
HUGE = "x" * 3000


def text(*, surrogates: bool = True) -> st.SearchStrategy[str]:
    odd = ["", " ", "\t", "\x00", "a\x00b", "名前-ü-🙂", HUGE, "-", "/", "null", "None"]
    if surrogates:
        odd.append("\ud800broken")
    return st.one_of(st.text(max_size=30), st.sampled_from(odd))


def word(values: list[str], **kwargs: Any) -> st.SearchStrategy[str]:
    """A documented enum value, or any other word (providers add values)."""
    return st.one_of(st.sampled_from(values), text(**kwargs)) if values else text(**kwargs)


# --- AWS ---------------------------------------------------------------------------------
@cache
def _aws_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def aws_item_shape(service: str, operation: str, path: tuple[str, ...]) -> Any:
    """The shape of one listed item: the operation's output shape, down `path`'s members
    (lists are stepped through)."""
    shape = _aws_model(service).operation_model(operation).output_shape
    for name in path:
        shape = shape.members[name]
        if shape.type_name == "list":
            shape = shape.member
    return shape


def from_botocore(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        required = set(shape.required_members)
        members = {n: m for n, m in shape.members.items() if depth < MAX_DEPTH or n in required}
        return st.fixed_dictionaries(
            {n: from_botocore(m, depth + 1) for n, m in members.items() if n in required},
            optional={
                n: from_botocore(m, depth + 1) for n, m in members.items() if n not in required
            },
        )
    if kind == "list":
        if depth >= MAX_DEPTH:
            return st.just([])
        return st.lists(from_botocore(shape.member, depth + 1), max_size=MAX_LIST)
    if kind == "map":
        return st.dictionaries(
            from_botocore(shape.key, depth + 1), from_botocore(shape.value, depth + 1), max_size=3
        )
    if kind == "string":
        return word(list(shape.enum or []))
    if kind in ("integer", "long"):
        return st.integers(-(2**63), 2**63 - 1)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":  # botocore parses to aware datetimes; naive ones as odd values
        return st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC)))
    if kind in ("double", "float"):
        return st.floats()
    if kind == "blob":
        return st.binary(max_size=8)
    raise AssertionError(f"botocore shape type {kind} not handled")


# --- Azure -------------------------------------------------------------------------------
def _hints(model: type) -> dict[str, Any]:
    module = sys.modules[model.__module__]
    package = sys.modules[model.__module__.rsplit(".", 1)[0]]
    return typing.get_type_hints(model, globalns={**vars(module), "_models": package})


def _rest_fields(model: type) -> dict[str, Any]:
    model()  # the SDK fills the class's field table at the first instance
    return model._attr_to_rest_field  # type: ignore[attr-defined]


@cache
def from_azure_model(model: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """The wire JSON of `model` as Resource Manager sends it on a read."""
    hints = _hints(model)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for attr, field in _rest_fields(model).items():
        if field._visibility and "read" not in field._visibility:
            continue
        annotation = hints.get(attr, str)
        args = typing.get_args(annotation)
        is_optional = typing.get_origin(annotation) in (typing.Union, types.UnionType) and (
            type(None) in args
        )
        if is_optional and depth >= MAX_DEPTH:
            continue
        target = optional if is_optional else required
        target[field._rest_name] = _from_annotation(annotation, depth + 1)
    return st.fixed_dictionaries(required, optional=optional)


def _from_annotation(annotation: Any, depth: int) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        choices = [a for a in args if a is not type(None)]
        enums = [a for a in choices if isinstance(a, type) and issubclass(a, enum.Enum)]
        if enums:
            return word([str(v.value) for e in enums for v in e])
        return st.one_of(*[_from_annotation(a, depth) for a in choices])
    if origin is list:
        if depth >= MAX_DEPTH:
            return st.just([])
        return st.lists(_from_annotation(args[0], depth + 1), max_size=MAX_LIST)
    if origin is dict:
        return st.dictionaries(text(), _from_annotation(args[1], depth + 1), max_size=3)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return word([str(v.value) for v in annotation])
        if annotation is bool:
            return st.booleans()
        if annotation is int:
            return st.integers(-(2**63), 2**63 - 1)
        if annotation is float:
            return st.floats(allow_nan=False, allow_infinity=False)
        if annotation is str:
            return text()
        if annotation is dt.datetime:
            return st.one_of(st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat),
                             text())  # fmt: skip
        if hasattr(annotation, "_attr_to_rest_field") or hasattr(annotation, "as_dict"):
            if depth > MAX_DEPTH + 2:  # required all the way down: stop
                return st.just({})
            return from_azure_model(annotation, depth)
    return st.one_of(st.none(), text(), st.integers())  # Any / object


# --- GCP ---------------------------------------------------------------------------------
@cache
def discovery(name: str) -> dict[str, Any]:
    documents = files("googleapiclient.discovery_cache.documents")
    return json.loads(documents.joinpath(f"{name}.json").read_text())


def from_discovery(doc: str, schema: dict[str, Any] | str, depth: int = 0) -> Any:
    """JSON as the API sends it for `schema` (a schema or the name of one) of document `doc`."""
    schemas = discovery(doc)["schemas"]
    if isinstance(schema, str):
        schema = schemas[schema]
    if "$ref" in schema:
        if depth > MAX_DEPTH + 2:
            return st.just({})
        return from_discovery(doc, schemas[schema["$ref"]], depth)
    kind, fmt = schema.get("type"), schema.get("format", "")
    if kind == "object":
        if "properties" in schema:
            if depth >= MAX_DEPTH:
                return st.just({})
            return st.fixed_dictionaries(
                {},
                optional={
                    k: from_discovery(doc, v, depth + 1) for k, v in schema["properties"].items()
                },
            )
        value = schema.get("additionalProperties", {"type": "string"})
        return st.dictionaries(
            text(surrogates=False), from_discovery(doc, value, depth + 1), max_size=3
        )
    if kind == "array":
        if depth >= MAX_DEPTH:
            return st.just([])
        return st.lists(from_discovery(doc, schema["items"], depth + 1), max_size=MAX_LIST)
    if kind == "string":
        if fmt in ("int64", "uint64"):
            low = 0 if fmt == "uint64" else -(2**63)
            return st.integers(low, 2**63 - 1).map(str)
        if fmt == "byte":
            return st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode())
        return word(schema.get("enum", []), surrogates=False)
    if kind == "integer":
        return st.integers(0, 2**32 - 1) if fmt == "uint32" else st.integers(-(2**31), 2**31 - 1)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, width=32 if fmt == "float" else 64)
    if kind == "boolean":
        return st.booleans()
    return st.one_of(st.none(), text(surrogates=False))  # "any"
