"""Finding and opening the files of a CUR 2.0 data export (AWS Data Exports) in S3, through
the account's own boto3 session.

AWS delivers each billing period of an export to
`s3://<bucket>/<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/` as one or more Parquet
files, and, once all of them are there, a manifest at
`<prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json` whose
`dataFiles` name them. The manifest names the files of the latest delivery, which is what
an export set to "create new" files (several deliveries side by side) needs; without a
readable one, every Parquet file of the period's folder is the period.

Files are read in ranges (`S3Object`), never whole: the Parquet reader asks for the footer,
then for the column chunks it needs, row group by row group. Each range is asked with the
object's ETag, so a file AWS replaces half-way through a read fails the read instead of
mixing two deliveries.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from mcloud.clouds.aws.errors import error_code, translate_errors
from mcloud.clouds.base import CloudError

PERIOD = re.compile(r"BILLING_PERIOD=(\d{4})-(\d{2})/?$")
MANIFEST_BYTES = 16 * 1024 * 1024  # a manifest names files and columns: far less than this


@dataclass(frozen=True)
class ExportFile:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class ExportPlace:
    """Where one export is: its bucket, and the folder holding its `data/` and `metadata/`."""

    bucket: str
    prefix: str
    name: str

    @property
    def base(self) -> str:
        return "/".join(part for part in (self.prefix.strip("/"), self.name) if part)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.base}"

    def data_folder(self, period: date | None = None) -> str:
        folder = f"{self.base}/data/"
        return f"{folder}BILLING_PERIOD={period:%Y-%m}/" if period else folder

    def manifest_key(self, period: date) -> str:
        return f"{self.base}/metadata/BILLING_PERIOD={period:%Y-%m}/{self.name}-Manifest.json"


@contextmanager
def export_errors(place: ExportPlace, doing: str) -> Iterator[None]:
    """botocore's exceptions as CloudErrors that name the export; a bucket that does not
    exist says so in words."""
    try:
        with translate_errors(f"{doing} {place}"):
            yield
    except CloudError as error:
        if error.code == "NoSuchBucket":
            raise CloudError(
                f"The data export's bucket {place.bucket} does not exist (NoSuchBucket): "
                "check the bucket named in the account's settings.",
                permanent=True,
                code=error.code,
            ) from None
        raise


def export_periods(s3: Any, place: ExportPlace) -> list[date]:
    """The first day of each billing period the export has delivered, oldest first."""
    periods: set[date] = set()
    with export_errors(place, "list the billing periods of the data export"):
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=place.bucket, Prefix=place.data_folder(), Delimiter="/"
        )
        for page in pages:
            for common in page.get("CommonPrefixes") or []:
                found = PERIOD.search(str(common.get("Prefix") or ""))
                if found and 1 <= int(found[2]) <= 12:
                    periods.add(date(int(found[1]), int(found[2]), 1))
    return sorted(periods)


def period_files(s3: Any, place: ExportPlace, period: date) -> list[ExportFile]:
    """The Parquet files of one billing period: the manifest's, else the folder's."""
    with export_errors(place, "list the files of the data export"):
        listed = {
            str(item["Key"]): ExportFile(
                str(item["Key"]), int(item.get("Size") or 0), str(item.get("ETag") or "")
            )
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=place.bucket, Prefix=place.data_folder(period)
            )
            for item in page.get("Contents") or []
        }
    with export_errors(place, "read the manifest of the data export"):
        named = _manifest_files(s3, place, period)
    if named is not None:
        return [listed[key] for key in named if key in listed]
    return [f for key, f in sorted(listed.items()) if key.lower().endswith(".parquet")]


def _manifest_files(s3: Any, place: ExportPlace, period: date) -> list[str] | None:
    """The keys the period's manifest names in its data folder, or None when there is no
    readable manifest (or it names none there)."""
    try:
        body = s3.get_object(Bucket=place.bucket, Key=place.manifest_key(period))["Body"]
        manifest = json.loads(body.read(MANIFEST_BYTES))
    except ClientError as error:
        if error_code(error) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    except (ValueError, UnicodeDecodeError):
        return None
    files = manifest.get("dataFiles") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        return None
    folder = place.data_folder(period)
    keys: list[str] = []
    for uri in files:
        bucket, _, key = str(uri).removeprefix("s3://").partition("/")
        if bucket == place.bucket and key.startswith(folder) and key not in keys:
            keys.append(key)
    return keys or None


class S3Object(io.RawIOBase):
    """A seekable, read-only file over one S3 object, read in ranges as asked."""

    def __init__(self, s3: Any, bucket: str, file: ExportFile) -> None:
        super().__init__()
        self._s3, self._bucket, self._file = s3, bucket, file
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._file.size}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._file.size - self._position)
        if count <= 0:
            return 0
        last = self._position + count - 1
        request = {"Bucket": self._bucket, "Key": self._file.key,
                   "Range": f"bytes={self._position}-{last}"}  # fmt: skip
        if self._file.etag:
            request["IfMatch"] = self._file.etag
        data = self._s3.get_object(**request)["Body"].read()[:count]
        view[: len(data)] = data
        self._position += len(data)
        return len(data)
