"""Blueprint files: a blueprint is a flat mapping of relative path -> text, from pasted texts,
a zip archive or provisioning/blueprints/ (the bundled ones).

Everything here refuses bad input before Terraform runs: paths that could escape the working
directory, archives that expand beyond reason, and a `backend` block that would send state
somewhere other than our state server.
"""

from __future__ import annotations

import io
import json
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mcloud.clouds.registry import provider_choices

MiB = 1024 * 1024
ALLOWED_SUFFIXES = (".tf", ".tf.json", ".md", ".tpl", ".tftpl")
RESERVED_PREFIX = "_mcloud"  # the runner writes its own files under this prefix
BLUEPRINTS_DIR = Path(__file__).resolve().parent / "blueprints"

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+@-]*")
_BACKEND = re.compile(r'(?<![\w.-])backend\s*("[^"\n]*"|[A-Za-z_][\w-]*)\s*\{')


class BlueprintError(ValueError):
    """A blueprint that cannot be used, with a message meant for the person who uploaded it."""


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


# --- bundled blueprints -------------------------------------------------------------------------

# Words of a bundled blueprint's folder name that its title writes otherwise; a provider's
# key is written as its label ("aws-ec2-instance" -> "AWS EC2 instance").
_ACRONYMS = {"ec2": "EC2", "s3": "S3", "vm": "VM", "linux": "Linux"}


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
        labels = {**dict(provider_choices()), **_ACRONYMS}
        words = [labels.get(w, w) for w in folder.name.split("-")]
        found.append(
            BundledBlueprint(
                slug=folder.name,
                name=" ".join([words[0][:1].upper() + words[0][1:], *words[1:]]),
                description=readme.strip().splitlines()[0].strip() if readme.strip() else "",
                files=files_from_texts(texts),
            )
        )
    return found
