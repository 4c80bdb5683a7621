"""The subset of KQL (Kusto Query Language) that the Azure fake's Resource Graph evaluates.

    query     := [table] ("|" operator)*          a query may start at its first operator
    operator  := where expr
               | project column ("," column)*     column := name | name "=" expr
               | extend name "=" expr ("," name "=" expr)*
               | (order | sort) by expr [asc | desc] [nulls (first | last)] ("," ...)*
               | (take | limit) integer
    expr      := conjunctions joined by "or"; conjunctions: comparisons joined by "and"
    compare   := value [(== | != | =~ | !~ | contains | !contains | startswith
                        | !startswith) value | (in | !in | in~ | !in~) "(" value, ... ")"]
    value     := 'text' | "text" | @'verbatim' | number | true | false | null | "(" expr ")"
               | function "(" expr ")" | name ("." name | "[" 'key' "]" | "[" index "]")*
    functions := tostring tolower toupper isnull isnotnull isempty isnotempty not

Semantics are Kusto's where the fake needs them: `==` and `in` compare case-sensitively, `=~`,
`in~`, `contains` and `startswith` ignore case; a missing property or column value is null, and
a comparison with null is false; `order by` is descending unless told, with nulls first when
ascending and last when descending; column names are case-sensitive and must exist (the table's
own, or made by `project` / `extend`). The table name is case-insensitive.

Anything else raises KqlError: `code` "ParserFailure" for text that is not KQL, "SemanticError"
for an unknown column, "NotSupportedByEmulator" for KQL the real service runs but this fake
does not (summarize, join, mv-expand...): the Resource Graph fake answers each with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulators.azure.kql_values import (
    FUNCTIONS,
    Expr,
    compare,
    membership,
    sort_key,
    walk,
)

Row = dict[str, Any]
Stage = Callable[[list[Row]], list[Row]]

_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*)
      | (?P<string>@'[^']*'|@"[^"]*"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<number>\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<op>==|!=|=~|!~|<=|>=|[|,()\[\].=<>])
      | (?P<name>!?[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z]+)*~?)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}
_COMPARISONS = ("==", "!=", "=~", "!~", "contains", "!contains", "startswith", "!startswith")
_MEMBERSHIP = ("in", "!in", "in~", "!in~")
_KNOWN_OPERATORS = {  # run by the real service; named when refused
    "summarize", "join", "union", "mv-expand", "mvexpand", "project-away", "project-keep",
    "project-rename", "distinct", "count", "top", "parse", "sample", "lookup",
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, op, name, end
    text: str
    value: Any
    offset: int


class KqlError(Exception):
    """Why a query was refused, and where (`token` is None at the end of the text)."""

    def __init__(self, code: str, message: str, token: Token | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.token = code, message, token


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    offset = 0
    while offset < len(text):
        match = _TOKEN.match(text, offset)
        if match is None:
            raise KqlError(
                "ParserFailure", "ParserFailure", Token("op", text[offset], None, offset)
            )
        kind = match.lastgroup or "space"
        raw = match.group()
        if kind == "string":
            tokens.append(Token(kind, raw, _string(raw), offset))
        elif kind == "number":
            tokens.append(Token(kind, raw, float(raw) if "." in raw else int(raw), offset))
        elif kind != "space":
            tokens.append(Token(kind, raw, raw, offset))
        offset = match.end()
    tokens.append(Token("end", "", None, len(text)))
    return tokens


def _string(raw: str) -> str:
    if raw.startswith("@"):
        return raw[2:-1]
    body, out, n = raw[1:-1], [], 0
    while n < len(body):
        if body[n] == "\\" and n + 1 < len(body):
            out.append(_ESCAPES.get(body[n + 1], body[n + 1]))
            n += 2
        else:
            out.append(body[n])
            n += 1
    return "".join(out)


def position(query: str, token: Token | None) -> tuple[int, int]:
    """The (line, character in line) of a token, as Resource Graph's errors give them."""
    offset = len(query) if token is None else token.offset
    return query.count("\n", 0, offset) + 1, offset - (query.rfind("\n", 0, offset) + 1)


@dataclass
class Query:
    stages: list[Stage]
    columns: list[str]  # of the result, in order

    def run(self, rows: list[Row]) -> list[Row]:
        for stage in self.stages:
            rows = stage(rows)
        return rows


def parse(text: str, tables: Mapping[str, Sequence[str]]) -> Query:
    """A query over `tables` (name -> its columns), ready to run on rows of the first one."""
    return _Parser(tokenize(text), tables).query()


class _Parser:
    def __init__(self, tokens: list[Token], tables: Mapping[str, Sequence[str]]) -> None:
        self.tokens, self.at, self.tables = tokens, 0, tables
        self.columns: list[str] = []
        self.path: list[str | int] = []  # the steps of the last path read
        self.path_end = 0  # and where it ended

    # --- tokens -------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at = min(self.at + 1, len(self.tokens) - 1)
        return token

    def word(self, *words: str) -> bool:
        """Whether the next token is one of `words` (keywords are lower-case in KQL)."""
        return self.token.kind == "name" and self.token.text in words

    def expect(self, text: str) -> Token:
        if self.token.text != text or self.token.kind == "string":
            raise self.failure()
        return self.take()

    def failure(self) -> KqlError:
        token = self.token
        return KqlError("ParserFailure", "ParserFailure", None if token.kind == "end" else token)

    # --- the pipeline -------------------------------------------------------------------
    def query(self) -> Query:
        first = self.token
        if first.kind == "name" and not self._is_operator(first.text):
            table = next((t for t in self.tables if t.lower() == first.text.lower()), None)
            if table is None:
                raise KqlError(
                    "NotSupportedByEmulator",
                    f"The name '{first.text}' does not refer to any table the Azure fake holds "
                    f"({', '.join(self.tables)}).",
                    first,
                )
            self.take()
            self.columns = list(self.tables[table])
            stages: list[Stage] = []
            if self.token.kind != "end":
                self.expect("|")
        else:
            self.columns = list(next(iter(self.tables.values())))
            stages = []
        while True:
            stages.append(self.operator())
            if self.token.kind == "end":
                return Query(stages, list(self.columns))
            self.expect("|")

    @staticmethod
    def _is_operator(name: str) -> bool:
        return name in ("where", "project", "extend", "order", "sort", "take", "limit")

    def operator(self) -> Stage:
        token = self.take()
        if token.kind != "name":
            raise KqlError("ParserFailure", "ParserFailure", token)
        if token.text == "where":
            return self.where()
        if token.text == "project":
            return self.project()
        if token.text == "extend":
            return self.extend()
        if token.text in ("order", "sort"):
            self.expect("by")
            return self.order()
        if token.text in ("take", "limit"):
            count = self.take()
            if count.kind != "number" or not isinstance(count.value, int):
                raise KqlError("ParserFailure", "ParserFailure", count)
            return lambda rows: rows[: count.value]
        if token.text in _KNOWN_OPERATORS:
            raise KqlError(
                "NotSupportedByEmulator",
                f"The Azure fake does not evaluate the '{token.text}' operator.",
                token,
            )
        raise KqlError("ParserFailure", "ParserFailure", token)

    def where(self) -> Stage:
        predicate = self.expression()
        return lambda rows: [row for row in rows if predicate(row) is True]

    def project(self) -> Stage:
        columns: list[tuple[str, Expr]] = []
        while True:
            columns.append(self.column(assignment_required=False))
            if self.token.text != ",":
                break
            self.take()
        self.columns = [name for name, _ in columns]
        return lambda rows: [{name: expr(row) for name, expr in columns} for row in rows]

    def extend(self) -> Stage:
        columns: list[tuple[str, Expr]] = []
        while True:
            columns.append(self.column(assignment_required=True))
            if self.token.text != ",":
                break
            self.take()
        added = [name for name, _ in columns if name not in self.columns]
        self.columns += added

        def stage(rows: list[Row]) -> list[Row]:
            out = []
            for row in rows:
                row = dict(row)
                for name, expr in columns:
                    row[name] = expr(row)
                out.append(row)
            return out

        return stage

    def column(self, *, assignment_required: bool) -> tuple[str, Expr]:
        name = self.token
        if name.kind != "name":
            raise self.failure()
        following = self.tokens[self.at + 1]
        if following.kind == "op" and following.text == "=":
            self.take()
            self.take()
            return name.text, self.expression()
        if assignment_required:
            self.take()
            raise self.failure()
        self.path = []
        expr = self.value()
        if not self.path or self.path_end != self.at:
            raise KqlError(
                "NotSupportedByEmulator",
                "The Azure fake names no computed column: write name = expression.",
                name,
            )
        # Kusto names a projected path by its steps: properties.sku.name -> properties_sku_name
        return "_".join(str(step) for step in self.path), expr

    def order(self) -> Stage:
        keys: list[tuple[Expr, bool, bool]] = []  # expr, descending, nulls first
        while True:
            expr = self.expression()
            descending = True
            if self.word("asc", "desc"):
                descending = self.take().text == "desc"
            nulls_first = not descending
            if self.word("nulls"):
                self.take()
                if not self.word("first", "last"):
                    raise self.failure()
                nulls_first = self.take().text == "first"
            keys.append((expr, descending, nulls_first))
            if self.token.text != ",":
                break
            self.take()

        def stage(rows: list[Row]) -> list[Row]:
            for expr, descending, nulls_first in reversed(keys):  # stable: last key first
                present = [r for r in rows if expr(r) is not None]
                absent = [r for r in rows if expr(r) is None]
                present.sort(key=lambda r: sort_key(expr(r)), reverse=descending)
                rows = absent + present if nulls_first else present + absent
            return rows

        return stage

    # --- expressions --------------------------------------------------------------------
    def expression(self) -> Expr:
        left = self.conjunction()
        while self.word("or"):
            self.take()
            right = self.conjunction()
            left = (lambda a, b: lambda row: a(row) is True or b(row) is True)(left, right)
        return left

    def conjunction(self) -> Expr:
        left = self.comparison()
        while self.word("and"):
            self.take()
            right = self.comparison()
            left = (lambda a, b: lambda row: a(row) is True and b(row) is True)(left, right)
        return left

    def comparison(self) -> Expr:
        left = self.value()
        token = self.token
        if token.kind in ("op", "name") and token.text in _COMPARISONS:
            self.take()
            right = self.value()
            return compare(token.text, left, right)
        if token.kind == "name" and token.text in _MEMBERSHIP:
            self.take()
            self.expect("(")
            options = [self.value()]
            while self.token.text == ",":
                self.take()
                options.append(self.value())
            self.expect(")")
            return membership(token.text, left, options)
        if token.kind == "op" and token.text in ("<", ">", "<=", ">="):
            raise KqlError(
                "NotSupportedByEmulator",
                f"The Azure fake does not evaluate '{token.text}'.",
                token,
            )
        if token.kind == "name" and token.text.lstrip("!") in ("has", "has_cs", "matches"):
            raise KqlError(
                "NotSupportedByEmulator", f"The Azure fake does not evaluate '{token.text}'.", token
            )
        return left

    def value(self) -> Expr:
        token = self.take()
        if token.kind in ("string", "number"):
            return _constant(token.value)
        if token.text == "(" and token.kind == "op":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.kind != "name" or token.text.startswith("!") or token.text.endswith("~"):
            raise KqlError("ParserFailure", "ParserFailure", token)
        if token.text in ("true", "false"):
            return _constant(token.text == "true")
        if token.text == "null" or (token.text == "dynamic" and self.token.text == "("):
            if token.text == "dynamic":
                self.expect("(")
                self.expect("null")
                self.expect(")")
            return lambda row: None
        if self.token.text == "(" and self.token.kind == "op":
            return self.function(token)
        if token.text not in self.columns:
            raise KqlError(
                "SemanticError",
                f"Failed to resolve scalar expression named '{token.text}'",
                token,
            )
        path: list[str | int] = [token.text]
        while self.token.kind == "op" and self.token.text in (".", "["):
            if self.take().text == ".":
                step = self.take()
                if step.kind != "name":
                    raise KqlError("ParserFailure", "ParserFailure", step)
                path.append(step.text)
            else:
                step = self.take()
                if step.kind not in ("string", "number") or isinstance(step.value, float):
                    raise KqlError("ParserFailure", "ParserFailure", step)
                path.append(step.value)
                self.expect("]")
        self.path, self.path_end = path, self.at
        return lambda row: walk(row, path)

    def function(self, name: Token) -> Expr:
        self.expect("(")
        argument = self.expression()
        self.expect(")")
        if name.text not in FUNCTIONS:
            raise KqlError(
                "NotSupportedByEmulator",
                f"The Azure fake does not evaluate the function '{name.text}'.",
                name,
            )
        call = FUNCTIONS[name.text]
        return lambda row: call(argument(row))


def _constant(value: Any) -> Expr:
    return lambda row: value
