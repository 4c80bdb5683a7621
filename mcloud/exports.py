"""CSV exports that a spreadsheet opens as data, shared by every CSV the app writes.

Text from the clouds and from users (resource names, tags, services, account names) can start
with a character that makes Excel, LibreOffice or Google Sheets read the cell as a formula
(`=HYPERLINK(...)`, `+cmd|...`). As OWASP advises for CSV injection, such a cell gets a leading
single quote, which spreadsheets show as text and do not run.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal

# =, +, - and @ start a formula; a tab or a carriage return before one is skipped by some.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """`value` as a cell no spreadsheet runs as a formula. Numbers stay numbers: a credit of
    -1.50 is not a formula, and a quote would turn it into text."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The header and then each row as CSV lines, every cell through csv_cell(), one at a
    time (for a StreamingHttpResponse)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])
