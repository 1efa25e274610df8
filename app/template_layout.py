"""Check that a layout reads only content fields its schema defines, by walking its Jinja AST.

Layouts reach content through the ``content`` variable: ``content.account.name``,
``content["summary"]``, names bound to parts of it (``{% set account = content.account %}``,
``{% for r in content.risks %}`` → ``r.title``) and filters that keep a list (``sort``,
``selectattr``…; their ``attribute=`` is checked too). Every branch counts, including ones the
example never reaches. Only definite mistakes are reported: a value the walker cannot follow (a
macro argument, a computed key) is left alone, and the render check catches the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes

from app.template_rules import Problem

CONTENT = "content"
FRAME = "site_frame.html.j2"
PAGE = "page.html.j2"
# Filters whose result is the list they were given (or part of it).
KEEPS_LIST = frozenset(
    {"sort", "reverse", "list", "unique", "select", "reject", "selectattr", "rejectattr"}
)
KEEPS_VALUE = frozenset({"default", "d"})
ONE_ITEM = frozenset({"first", "last", "random"})
TAKES_ATTRIBUTE = KEEPS_LIST | {"map", "sum", "groupby", "min", "max", "join"}
DICT_METHODS = frozenset({"items", "keys", "values", "get"})


@dataclass(frozen=True)
class Bound:
    """A template name (or expression) known to hold the content at a schema node."""

    schema: dict[str, Any]
    path: str  # how the layout spells it: "content.account"


Scope = dict[str, Bound | None]  # what each template name holds, where the walker knows


def layout_problems(source: str, schema: dict[str, Any]) -> list[Problem]:
    """List layout mistakes: syntax, a missing frame or block, fields the schema lacks."""
    try:
        tree = Environment(autoescape=True).parse(source)
    except TemplateSyntaxError as exc:
        return [Problem(PAGE, f"line {exc.lineno}", f"Jinja syntax error: {exc.message}")]
    problems = []
    extends = next(iter(tree.find_all(nodes.Extends)), None)
    if not (isinstance(extends, nodes.Extends) and _const(extends.template) == FRAME):
        problems.append(
            Problem(PAGE, "line 1", f'must start with {{% extends "{FRAME}" %}}: the shared frame')
        )
    if not any(block.name == "content" for block in tree.find_all(nodes.Block)):
        problems.append(
            Problem(PAGE, "", "needs {% block content %}…{% endblock %}: the frame shows it")
        )
    walker = _Walker()
    scope: Scope = {CONTENT: Bound(schema, CONTENT)}
    walker.statements(tree.body, scope)
    problems.extend(walker.problems.values())
    return problems


def _const(node: nodes.Node) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


def _types(schema: dict[str, Any]) -> set[str]:
    raw = schema.get("type")
    return {str(value) for value in (raw if isinstance(raw, list) else [raw])}


class _Walker:
    """Follows names bound to content through statements and expressions."""

    def __init__(self) -> None:
        self.problems: dict[str, Problem] = {}  # by path: each missing field once, first line

    def statements(self, body: Sequence[nodes.Node], scope: Scope) -> None:
        for node in body:
            self.visit(node, scope)

    def visit(self, node: nodes.Node, scope: Scope) -> None:
        if isinstance(node, nodes.Expr):
            self.expr(node, scope)
        elif isinstance(node, nodes.For):
            items = self._items(self.expr(node.iter, scope))
            inner = {**scope, "loop": None}
            self._bind(node.target, items, inner)
            if node.test is not None:
                self.expr(node.test, inner)
            self.statements(node.body, inner)
            self.statements(node.else_, dict(scope))
        elif isinstance(node, nodes.Assign):
            self._bind(node.target, self.expr(node.node, scope), scope)
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            if isinstance(node, nodes.CallBlock):
                self.expr(node.call, scope)
            inner = {**scope, "caller": None, "varargs": None, "kwargs": None}
            for arg in node.args:
                inner[arg.name] = None
            for default in node.defaults:
                self.expr(default, scope)
            self.statements(node.body, inner)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values, strict=True):
                self._bind(target, self.expr(value, scope), inner)
            self.statements(node.body, inner)
        else:  # If, Output, Block, AssignBlock, FilterBlock...: same scope, visit children
            if isinstance(node, nodes.AssignBlock):
                self._bind(node.target, None, scope)
            for child in node.iter_child_nodes():
                self.visit(child, scope)

    def _bind(self, target: nodes.Node, bound: Bound | None, scope: Scope) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = bound
        else:  # tuple unpacking: names the walker cannot follow
            for name in target.find_all(nodes.Name):
                scope[name.name] = None

    def expr(self, node: nodes.Node, scope: Scope) -> Bound | None:
        """Check an expression; return what part of the content it holds, if known."""
        if isinstance(node, nodes.Name):
            return scope.get(node.name)
        if isinstance(node, nodes.Getattr):
            return self.field(self.expr(node.node, scope), node.attr, node.lineno)
        if isinstance(node, nodes.Getitem):
            return self._getitem(node, scope)
        if isinstance(node, nodes.Filter):
            return self._filter(node, scope)
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            base = self.expr(node.node.node, scope)
            if base is not None and node.node.attr not in DICT_METHODS:
                self.field(base, node.node.attr, node.lineno)
            key = _const(node.args[0]) if node.node.attr == "get" and node.args else None
            self._children(node, scope, skip=node.node)
            return self.field(base, key, node.lineno) if isinstance(key, str) else None
        self._children(node, scope)
        return None

    def _children(self, node: nodes.Node, scope: Scope, skip: nodes.Node | None = None) -> None:
        for child in node.iter_child_nodes():
            if child is not skip:
                self.visit(child, scope)

    def _getitem(self, node: nodes.Getitem, scope: Scope) -> Bound | None:
        base = self.expr(node.node, scope)
        key = _const(node.arg)
        if isinstance(key, str):
            return self.field(base, key, node.lineno)
        self.visit(node.arg, scope)
        if base is None or "array" not in _types(base.schema):
            return None
        return base if isinstance(node.arg, nodes.Slice) else self._items(base)

    def _filter(self, node: nodes.Filter, scope: Scope) -> Bound | None:
        base = self.expr(node.node, scope) if node.node is not None else None
        self._children(node, scope, skip=node.node)
        if node.name in TAKES_ATTRIBUTE:
            attributes = [_const(kw.value) for kw in node.kwargs if kw.key == "attribute"]
            if node.name in ("selectattr", "rejectattr") and node.args:
                attributes.append(_const(node.args[0]))
            item = self._items(base)
            for attribute in attributes:
                if isinstance(attribute, str):
                    self._dotted(item, attribute, node.lineno)
        if node.name in KEEPS_LIST | KEEPS_VALUE:
            return base
        return self._items(base) if node.name in ONE_ITEM else None

    def _dotted(self, bound: Bound | None, dotted: str, lineno: int) -> None:
        for part in dotted.split("."):
            bound = self.field(bound, part, lineno)

    @staticmethod
    def _items(bound: Bound | None) -> Bound | None:
        if bound is None or "array" not in _types(bound.schema):
            return None
        items = bound.schema.get("items")
        return Bound(items, f"{bound.path}[]") if isinstance(items, dict) else None

    def field(self, base: Bound | None, name: str | None, lineno: int) -> Bound | None:
        """Follow ``base.name``; report it when ``base`` is an object without that property."""
        if base is None or name is None or "object" not in _types(base.schema):
            return None
        props = base.schema.get("properties")
        if not isinstance(props, dict):
            return None  # the schema check reports it
        if name in props:
            sub = props[name]
            return Bound(sub, f"{base.path}.{name}") if isinstance(sub, dict) else None
        path = f"{base.path}.{name}"
        if path not in self.problems:
            known = ", ".join(props) or "no fields"
            self.problems[path] = Problem(
                PAGE,
                f"line {lineno}",
                f"{path} is not in schema.json ({base.path} has {known}); "
                f"use one of those or add '{name}' to the schema",
            )
        return None
