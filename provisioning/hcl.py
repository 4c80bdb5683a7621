"""Blueprints: their files, their input variables, and the values users give those variables.

A blueprint is a flat mapping of relative path -> text. Everything here is about refusing bad
input before Terraform runs: paths that could escape the working directory, archives that expand
beyond reason, a `backend` block that would send state somewhere other than our state server,
and variable values of the wrong type. Terraform re-checks types itself; checking here lets the
form show an error per field instead of a failed run.
"""

from __future__ import annotations

import io
import json
import math
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions, process_escape_sequences
from lark.exceptions import LarkError

MiB = 1024 * 1024
ALLOWED_SUFFIXES = (".tf", ".tf.json", ".md", ".tpl", ".tftpl")
RESERVED_PREFIX = "_mcloud"  # the runner writes its own files under this prefix
BLUEPRINTS_DIR = Path(__file__).resolve().parent / "blueprints"

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+@-]*")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_BACKEND = re.compile(r'(?<![\w.-])backend\s*("[^"\n]*"|[A-Za-z_][\w-]*)\s*\{')
_HCL_OPTIONS = SerializationOptions(
    with_comments=False,
    explicit_blocks=False,
    preserve_heredocs=False,
    preserve_scientific_notation=False,
)


class BlueprintError(ValueError):
    """A blueprint that cannot be used, with a message meant for the person who uploaded it."""


@dataclass(frozen=True)
class Variable:
    name: str
    type: str  # as written in the blueprint: "string", "list(string)", "object({a = string})"
    default: Any
    description: str
    sensitive: bool
    required: bool


@dataclass(frozen=True)
class BundledBlueprint:
    slug: str
    name: str
    description: str
    files: dict[str, str]


# --- files --------------------------------------------------------------------------------------


def files_from_texts(
    mapping: dict[str, str], *, max_files: int = 200, max_total: int = 5 * MiB, max_file: int = MiB
) -> dict[str, str]:
    """Check a blueprint given as path -> text and return it as a new dict."""
    files: dict[str, str] = {}
    total = 0
    for path, text in mapping.items():
        if not isinstance(text, str):
            raise BlueprintError(f"{path}: the content is not text.")
        size = len(text.encode())
        total += size
        if size > max_file:
            raise BlueprintError(f"{path}: {size} bytes, more than the limit of {max_file}.")
        files[check_path(path)] = text
    if len(files) > max_files:
        raise BlueprintError(f"{len(files)} files, more than the limit of {max_files}.")
    if total > max_total:
        raise BlueprintError(f"{total} bytes in all, more than the limit of {max_total}.")
    check_files(files)
    return files


def files_from_zip(
    data: bytes, *, max_files: int = 200, max_total: int = 5 * MiB, max_file: int = MiB
) -> dict[str, str]:
    """Read a blueprint from a zip archive, refusing anything that could hurt the worker.

    Declared sizes are checked first, then the bytes actually inflated, since a crafted archive
    can under-declare them. A single top-level folder (as archivers make) is stripped.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BlueprintError(f"Not a zip archive: {exc}.") from None
    with archive:
        entries = [i for i in archive.infolist() if not _ignored(i.filename)]
        if len(entries) > max_files:
            raise BlueprintError(f"{len(entries)} entries, more than the limit of {max_files}.")
        for info in entries:
            _check_entry(info, max_file)
        declared = sum(i.file_size for i in entries)
        if declared > max_total:
            raise BlueprintError(f"{declared} bytes unpacked, more than the limit of {max_total}.")
        raw: dict[str, bytes] = {}
        budget = max_total
        for info in entries:
            if info.is_dir():
                continue
            content = _inflate(archive, info, min(max_file, budget))
            budget -= len(content)
            if info.filename in raw:
                raise BlueprintError(f"{info.filename}: the archive holds it twice.")
            raw[info.filename] = content
    texts: dict[str, str] = {}
    for path, content in _strip_top_folder(raw).items():
        try:
            texts[path] = content.decode()
        except UnicodeDecodeError:
            raise BlueprintError(f"{path}: not UTF-8 text.") from None
    return files_from_texts(texts, max_files=max_files, max_total=max_total, max_file=max_file)


def check_path(path: str) -> str:
    """A safe relative POSIX path with an allowed suffix, or BlueprintError."""
    if not isinstance(path, str) or not path:
        raise BlueprintError("A file has an empty name.")
    if "\\" in path or "\x00" in path:
        raise BlueprintError(f"{path!r}: backslashes and NUL characters are not allowed in names.")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise BlueprintError(f"{path}: absolute paths are not allowed.")
    parts = path.split("/")
    if ".." in parts:
        raise BlueprintError(f"{path}: '..' is not allowed in paths.")
    if len(path) > 200 or len(parts) > 8:
        raise BlueprintError(f"{path}: the path is too long or too deep.")
    for part in parts:
        if not _PART.fullmatch(part):
            raise BlueprintError(
                f"{path}: names may use letters, digits and _ . + @ -, and not start with a dot."
            )
    name = parts[-1]
    if not name.endswith(ALLOWED_SUFFIXES):
        allowed = ", ".join(ALLOWED_SUFFIXES)
        raise BlueprintError(f"{path}: only {allowed} files are allowed in a blueprint.")
    if name.startswith(RESERVED_PREFIX):
        raise BlueprintError(f"{path}: names starting with {RESERVED_PREFIX} are reserved.")
    if re.fullmatch(r"(.*_)?override\.tf(\.json)?", name):
        raise BlueprintError(f"{path}: Terraform override files are not supported.")
    return path


def check_files(files: dict[str, str]) -> None:
    """What the runner needs of any blueprint: safe names, a .tf file, no backend of its own.

    HCL syntax is left to Terraform here, so that a broken file fails the run with Terraform's
    own message.
    """
    for path in files:
        check_path(path)
    if not any(p.endswith((".tf", ".tf.json")) and "/" not in p for p in files):
        raise BlueprintError("The blueprint has no .tf file at its top level.")
    for path, text in files.items():
        if _declares_backend(path, text):
            raise BlueprintError(
                f"{path}: declares a backend. mcloud keeps the state itself; remove the block."
            )


def _ignored(name: str) -> bool:
    """Archiver litter that is not part of anyone's blueprint."""
    return name.startswith("__MACOSX/") or PurePosixPath(name).name == ".DS_Store"


def _check_entry(info: zipfile.ZipInfo, max_file: int) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BlueprintError(f"{info.filename}: symbolic links are not allowed.")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise BlueprintError(f"{info.filename}: only regular files are allowed.")
    if info.flag_bits & 0x1:
        raise BlueprintError(f"{info.filename}: encrypted entries are not supported.")
    if info.is_dir():
        folder = info.filename.rstrip("/")
        if not all(_PART.fullmatch(part) for part in folder.split("/")) or len(folder) > 200:
            raise BlueprintError(f"{info.filename}: not an acceptable folder name.")
        return
    check_path(info.filename)
    if info.file_size > max_file:
        raise BlueprintError(
            f"{info.filename}: {info.file_size} bytes, more than the limit of {max_file}."
        )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise BlueprintError(
                        f"{info.filename}: inflates past the size limit (a zip bomb?)."
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise BlueprintError(f"{info.filename}: cannot be read: {exc}.") from None
    return b"".join(chunks)


def _strip_top_folder(raw: dict[str, bytes]) -> dict[str, bytes]:
    tops = {p.split("/", 1)[0] for p in raw}
    if len(tops) == 1 and all("/" in p for p in raw):
        return {p.split("/", 1)[1]: content for p, content in raw.items()}
    return raw


def _declares_backend(path: str, text: str) -> bool:
    if path.endswith(".tf.json"):
        try:
            doc = json.loads(text)
        except ValueError:
            return False  # Terraform reports the syntax error
        blocks = doc.get("terraform", []) if isinstance(doc, dict) else []
        blocks = blocks if isinstance(blocks, list) else [blocks]
        return any(isinstance(b, dict) and "backend" in b for b in blocks)
    if path.endswith(".tf"):
        return bool(_BACKEND.search(_strip_comments(text)))
    return False


def _strip_comments(text: str) -> str:
    """Drop #, // and /* */ comments outside strings, so a commented-out backend is no backend."""
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif ch == '"' or ch == "\n":
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# --- variables ----------------------------------------------------------------------------------


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
            blocks.append((_unquote(label), body if isinstance(body, dict) else {}))
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
        type_text = _unquote(type_text)
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
        return {_unquote(k): _literal(v, where) for k, v in value.items()}
    return value


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return process_escape_sequences(text[1:-1])
    return text


# --- values -------------------------------------------------------------------------------------


class _Invalid(ValueError):
    pass


def validate_values(
    variables: list[Variable], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Coerce user input to the declared types: (values with defaults applied, errors by name).

    `raw` holds strings from an HTML form or values from JSON. Form strings are read by type:
    numbers, "true"/"false" (and a checkbox's "on"), JSON text for lists, maps and objects. An
    empty string counts as not given, except for a string variable that has a default. The
    values are data: nothing here (or in the runner) passes them through a shell.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    declared = {v.name for v in variables}
    for name in raw:
        if name not in declared:
            errors[name] = "unknown variable"
    for var in variables:
        kind = _parse_type(var.type)
        value = raw.get(var.name)
        if value == "" and (kind[0] != "string" or var.required):
            value = None
        if value is None:
            if var.required:
                errors[var.name] = "required"
            else:
                values[var.name] = var.default
            continue
        try:
            values[var.name] = _coerce(value, kind, top=True)
        except _Invalid as exc:
            errors[var.name] = str(exc)
    return values, errors


# A type is a tuple: ("string",), ("list", T), ("set", T), ("map", T), ("tuple", [T, ...]),
# ("object", {attr: (T, optional)}), ("any",).
_Type = tuple[Any, ...]
_ANY: _Type = ("any",)
_TOKEN = re.compile(r'\s*(?:([A-Za-z_][\w-]*)|("(?:[^"\\]|\\.)*")|([-+.\w]+)|([(){}\[\],=:]))')


def _parse_type(text: str) -> _Type:
    """Read a type constraint; anything unrecognised is treated as `any` and left to Terraform."""
    tokens = [m.group(m.lastindex or 0) for m in _TOKEN.finditer(text)]
    try:
        kind, end = _type_at(tokens, 0)
    except (IndexError, _Invalid):
        return _ANY
    return kind if end == len(tokens) else _ANY


def _type_at(tokens: list[str], i: int) -> tuple[_Type, int]:
    name = tokens[i]
    if name in ("string", "number", "bool", "any"):
        return (name,), i + 1
    _expect(tokens, i + 1, "(")
    if name in ("list", "set", "map"):
        inner, i = _type_at(tokens, i + 2)
        return (name, inner), _expect(tokens, i, ")")
    if name == "tuple":
        items, i = [], _expect(tokens, i + 2, "[")
        while tokens[i] != "]":
            item, i = _type_at(tokens, i)
            items.append(item)
            i = i + 1 if tokens[i] == "," else i
        return ("tuple", items), _expect(tokens, i + 1, ")")
    if name == "object":
        attrs: dict[str, tuple[_Type, bool]] = {}
        i = _expect(tokens, i + 2, "{")
        while tokens[i] != "}":
            attr = _unquote(tokens[i])
            i = i + 2 if tokens[i + 1] in ("=", ":") else _expect(tokens, i + 1, "=")
            optional = tokens[i] == "optional"
            attr_type, i = _type_at(tokens, i)
            attrs[attr] = (attr_type[1] if optional else attr_type, optional)
            i = i + 1 if tokens[i] == "," else i
        return ("object", attrs), _expect(tokens, i + 1, ")")
    if name == "optional":
        inner, i = _type_at(tokens, i + 2)
        depth = 0
        while depth or tokens[i] != ")":  # skip an optional default value
            depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(tokens[i], 0)
            i += 1
        return ("optional", inner), i + 1
    raise _Invalid(name)


def _expect(tokens: list[str], i: int, token: str) -> int:
    if tokens[i] != token:
        raise _Invalid(token)
    return i + 1


def _coerce(value: Any, kind: _Type, *, top: bool = False) -> Any:
    name = kind[0]
    if value is None:
        raise _Invalid("must not be null")
    if name == "any":
        return value
    if name == "optional":
        return _coerce(value, kind[1], top=top)
    if name == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return _number_text(value)
        if isinstance(value, str):
            return value
        raise _Invalid("not a string")
    if name == "number":
        return _number(value)
    if name == "bool":
        return _bool(value)
    if name in ("list", "set", "tuple"):
        items = _json_text(value, list, "a JSON list") if top else value
        if not isinstance(items, list):
            raise _Invalid("not a list")
        if name == "tuple" and len(items) != len(kind[1]):
            raise _Invalid(f"needs {len(kind[1])} items, not {len(items)}")
        item_types = kind[1] if name == "tuple" else [kind[1]] * len(items)
        pairs = enumerate(zip(items, item_types, strict=True))
        return [_item(v, t, f"item {n + 1}") for n, (v, t) in pairs]
    mapping = _json_text(value, dict, "a JSON object") if top else value
    if not isinstance(mapping, dict):
        raise _Invalid("not an object")
    if name == "map":
        return {str(k): _item(v, kind[1], f"key {k!r}") for k, v in mapping.items()}
    attrs: dict[str, tuple[_Type, bool]] = kind[1]
    for key in mapping:
        if key not in attrs:
            raise _Invalid(f"unknown attribute {key!r}")
    result = {}
    for key, (attr_type, optional) in attrs.items():
        if mapping.get(key) is None:
            if not optional:
                raise _Invalid(f"attribute {key!r}: required")
            continue
        result[key] = _item(mapping[key], attr_type, f"attribute {key!r}")
    return result


def _item(value: Any, kind: _Type, label: str) -> Any:
    try:
        return _coerce(value, kind)
    except _Invalid as exc:
        raise _Invalid(f"{label}: {exc}") from None


def _json_text(value: Any, expected: type, what: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        raise _Invalid(f"not {what}") from None
    if not isinstance(parsed, expected):
        raise _Invalid(f"not {what}")
    return parsed


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise _Invalid("not a number")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[-+]?\d+", text):
            return int(text)
        if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
            raise _Invalid("not a number")
        value = float(text)
    if not isinstance(value, int | float) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise _Invalid("not a number")
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("true", "on"):
        return True
    if text in ("false", "off"):
        return False
    raise _Invalid("not true or false")


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


# --- bundled blueprints -------------------------------------------------------------------------

_ACRONYMS = {"aws": "AWS", "ec2": "EC2", "s3": "S3", "gcp": "GCP", "vm": "VM", "linux": "Linux"}


def bundled_blueprints(root: Path = BLUEPRINTS_DIR) -> list[BundledBlueprint]:
    """The blueprints shipped in provisioning/blueprints/, each checked like an upload.

    The first line of a blueprint's README.md is its description.
    """
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        texts = {
            path.relative_to(folder).as_posix(): path.read_text()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name.endswith(ALLOWED_SUFFIXES)
        }
        readme = texts.get("README.md", "")
        words = [_ACRONYMS.get(w, w) for w in folder.name.split("-")]
        found.append(
            BundledBlueprint(
                slug=folder.name,
                name=" ".join([words[0][:1].upper() + words[0][1:], *words[1:]]),
                description=readme.strip().splitlines()[0].strip() if readme.strip() else "",
                files=files_from_texts(texts),
            )
        )
    return found
