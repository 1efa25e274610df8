"""Excel formulas → small expression trees over a vetted function set, and back to readable text.

The trees are JSON (lists) that ``app/static/scenario_model.js`` evaluates, on the server and in
the page alike. Anything outside the vetted subset (named ranges, whole columns, other workbooks,
functions not listed in :data:`FUNCTIONS`) is refused with a message that names it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

Node = list[Any]

FUNCTIONS = frozenset(
    {"SUM", "AVERAGE", "MIN", "MAX", "ABS", "ROUND", "IF", "IFERROR", "AND", "OR", "NOT"}
)
MAX_RANGE_CELLS = 10_000

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"]|"")*")
  | (?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?\$?[A-Za-z]{1,3}\$?\d+
        (?::\$?[A-Za-z]{1,3}\$?\d+)?)(?![\w(])
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<func>[A-Za-z][\w.]*)\(
  | (?P<bool>TRUE|FALSE)(?![\w(])
  | (?P<op><>|<=|>=|[-+*/^&=<>%(),])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")

# Binding powers, as Excel ranks them: comparison < & < + - < * / < ^ < negation < percent.
_INFIX = {"=": 10, "<>": 10, "<": 10, ">": 10, "<=": 10, ">=": 10, "&": 20}
_INFIX.update({"+": 30, "-": 30, "*": 40, "/": 40, "^": 50})
_PREFIX_POWER = 60
_PERCENT_POWER = 70


class FormulaError(ValueError):
    """A formula outside the vetted subset; the message names the cell and what is refused."""


def column_index(letters: str) -> int:
    """Return the 1-based index of a column: A → 1, AA → 27."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index


def column_letters(index: int) -> str:
    """Return the letters of a 1-based column index."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def split_cell(cell: str) -> tuple[str, int, int]:
    """Split ``Sheet!B4`` into (sheet, row, column)."""
    sheet, _, address = cell.rpartition("!")
    match = _CELL.match(address)
    if not match:
        raise FormulaError(f"{cell!r} is not a cell address")
    return sheet, int(match.group(2)), column_index(match.group(1))


def cell_id(sheet: str, row: int, column: int) -> str:
    """Return the id of one cell: ``Sheet!B4``."""
    return f"{sheet}!{column_letters(column)}{row}"


class _Parser:
    def __init__(self, text: str, sheet: str, resolve_sheet: Callable[[str], str]) -> None:
        self.sheet = sheet
        self.resolve_sheet = resolve_sheet
        self.tokens = list(self._tokenize(text))
        self.at = 0

    def _tokenize(self, text: str) -> Iterator[tuple[str, str]]:
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match:
                raise FormulaError(f"cannot read {text[position : position + 20]!r}")
            position = match.end()
            kind = match.lastgroup or ""
            if kind != "space":
                yield kind, match.group(kind)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FormulaError("the formula ends too early")
        self.at += 1
        return token

    def expect(self, value: str) -> None:
        kind, text = self.take()
        if text != value:
            raise FormulaError(f"expected {value!r}, found {text!r}")

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek() is not None:
            raise FormulaError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def expression(self, min_power: int) -> Node:
        left = self.prefix()
        while (token := self.peek()) is not None and token[0] == "op":
            op = token[1]
            if op == "%":
                if _PERCENT_POWER < min_power:
                    break
                self.take()
                left = ["p", left]
                continue
            power = _INFIX.get(op)
            if power is None or power <= min_power:
                break
            self.take()
            left = ["o", op, left, self.expression(power)]
        return left

    def prefix(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return ["n", float(text)]
        if kind == "string":
            return ["s", text[1:-1].replace('""', '"')]
        if kind == "bool":
            return ["b", text.upper() == "TRUE"]
        if kind == "ref":
            return self.reference(text)
        if kind == "func":
            return self.call(text.upper())
        if text in ("-", "+"):
            return ["u", text, self.expression(_PREFIX_POWER)]
        if text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        raise FormulaError(f"unexpected {text!r}")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise FormulaError(
                f"uses the function {name}, which the scenario planner does not evaluate "
                f"(supported: {', '.join(sorted(FUNCTIONS))})"
            )
        args: list[Node] = []
        if self.peek() == ("op", ")"):
            self.take()
            return ["f", name, args]
        while True:
            args.append(self.expression(0))
            kind, text = self.take()
            if text == ")":
                return ["f", name, args]
            if text != ",":
                raise FormulaError(f"expected ',' or ')' in {name}, found {text!r}")

    def reference(self, text: str) -> Node:
        sheet, _, address = text.rpartition("!")
        sheet = self.resolve_sheet(sheet.strip("'").replace("''", "'")) if sheet else self.sheet
        if ":" not in address:
            _, row, column = split_cell(f"{sheet}!{address}")
            return ["r", cell_id(sheet, row, column)]
        first, second = address.split(":")
        _, row1, col1 = split_cell(f"{sheet}!{first}")
        _, row2, col2 = split_cell(f"{sheet}!{second}")
        rows = range(min(row1, row2), max(row1, row2) + 1)
        columns = range(min(col1, col2), max(col1, col2) + 1)
        if len(rows) * len(columns) > MAX_RANGE_CELLS:
            raise FormulaError(f"the range {text} is larger than {MAX_RANGE_CELLS:,} cells")
        return ["g", [cell_id(sheet, r, c) for r in rows for c in columns]]


def parse_formula(text: str, sheet: str, resolve_sheet: Callable[[str], str]) -> Node:
    """Parse one formula (with or without its leading ``=``) written in ``sheet``.

    ``resolve_sheet`` maps a sheet name as written to the workbook's own spelling, or raises
    FormulaError for a sheet that does not exist.
    """
    return _Parser(text.removeprefix("="), sheet, resolve_sheet).parse()


def references(node: Node) -> Iterator[str]:
    """Yield every cell a tree reads, in order of appearance."""
    kind = node[0]
    if kind == "r":
        yield node[1]
    elif kind == "g":
        yield from node[1]
    elif kind == "u":
        yield from references(node[2])
    elif kind == "p":
        yield from references(node[1])
    elif kind == "o":
        yield from references(node[2])
        yield from references(node[3])
    elif kind == "f":
        for arg in node[2]:
            yield from references(arg)


_SHOWN_OPS = {"*": "×", "/": "÷", "-": "−", "<>": "≠", "<=": "≤", ">=": "≥"}


def readable(node: Node, label: Callable[[str], str], outer: int = 0) -> str:
    """Write a tree as text, each cell replaced by ``label(cell)``, brackets only where needed."""
    kind = node[0]
    if kind == "n":
        number = float(node[1])
        return str(int(number)) if number.is_integer() else format(number, "g")
    if kind == "s":
        return '"' + str(node[1]) + '"'
    if kind == "b":
        return "TRUE" if node[1] else "FALSE"
    if kind == "r":
        return label(node[1])
    if kind == "g":
        return f"{label(node[1][0])} … {label(node[1][-1])}"
    if kind == "u":
        text = ("−" if node[1] == "-" else "+") + readable(node[2], label, _PREFIX_POWER)
        return f"({text})" if outer > _PREFIX_POWER else text
    if kind == "p":
        return readable(node[1], label, _PERCENT_POWER) + " %"
    if kind == "o":
        power = _INFIX[node[1]]
        right_power = power + 1 if node[1] in "-/^" else power
        text = (
            f"{readable(node[2], label, power)} {_SHOWN_OPS.get(node[1], node[1])} "
            f"{readable(node[3], label, right_power)}"
        )
        return f"({text})" if power < outer else text
    return f"{node[1]}({', '.join(readable(arg, label) for arg in node[2])})"


def shape(node: Node, key: Callable[[str], str]) -> Any:
    """Return the tree with every cell replaced by ``key(cell)``: equal shapes, same formula."""
    kind = node[0]
    if kind == "r":
        return ["r", key(node[1])]
    if kind == "g":
        return ["g", [key(cell) for cell in node[1]]]
    if kind == "u":
        return ["u", node[1], shape(node[2], key)]
    if kind == "p":
        return ["p", shape(node[1], key)]
    if kind == "o":
        return ["o", node[1], shape(node[2], key), shape(node[3], key)]
    if kind == "f":
        return ["f", node[1], [shape(arg, key) for arg in node[2]]]
    return node
