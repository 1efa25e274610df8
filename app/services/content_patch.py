"""JSON Patch on site content: pointers checked against the template's schema, add/remove/replace
applied one operation at a time, positional diffs as patches, and the text fields people edit.

Pure functions of (schema, content, operations): no database, no request.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

from app.site_template import SiteTemplate

OPS = ("add", "remove", "replace")
OUTSIDE = "is outside the parts you may change here"
MAX_OPERATIONS = 60


class PatchProblem(ValueError):
    """A patch cannot be applied; ``problems`` say why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def escape(token: str) -> str:
    """Escape one JSON Pointer token."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer_parts(path: str) -> list[str]:
    """Split a JSON Pointer into unescaped tokens.

    :raise ValueError: not a JSON Pointer.
    """
    try:
        return list(jsonpointer.JsonPointer(path).parts)
    except jsonpointer.JsonPointerException as exc:
        raise ValueError(f"{path!r} is not a JSON Pointer (like /risks/0/mitigation)") from exc


def join(parts: Sequence[str]) -> str:
    """Join tokens into a JSON Pointer."""
    return "".join("/" + escape(part) for part in parts)


def types_of(node: dict[str, Any]) -> set[str]:
    """Return the JSON types a schema node accepts."""
    kind = node.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def schema_at(schema: dict[str, Any], parts: Sequence[str]) -> dict[str, Any] | None:
    """Return the schema node a pointer lands on, or None when the schema has no such place."""
    node = schema
    for token in parts:
        kinds = types_of(node)
        if "object" in kinds and token in node.get("properties", {}):
            node = node["properties"][token]
        elif "array" in kinds and isinstance(node.get("items"), dict) and _is_index(token):
            node = node["items"]
        else:
            return None
    return node


def _is_index(part: str) -> bool:
    return part == "-" or bool(re.fullmatch(r"0|[1-9][0-9]{0,4}", part))


def resolve(content: Any, path: str) -> Any:
    """Return the value at ``path``.

    :raise KeyError: nothing there.
    """
    try:
        return jsonpointer.resolve_pointer(content, path)
    except (jsonpointer.JsonPointerException, TypeError) as exc:
        raise KeyError(path) from exc


def exists(content: Any, path: str) -> bool:
    """Say whether ``path`` names a value in ``content``."""
    try:
        resolve(content, path)
    except KeyError:
        return False
    return True


def within(path: str, scope: Sequence[str]) -> bool:
    """Say whether ``path`` is one of the scope's paths or lies inside one."""
    return any(path == s or path.startswith(s.rstrip("/") + "/") for s in scope)


def section_of(path: str) -> str:
    """Return the top-level field a path lies in."""
    parts = pointer_parts(path)
    return parts[0] if parts else ""


def check_operations(
    schema: dict[str, Any], ops: Sequence[Any], scope: Sequence[str] | None = None
) -> list[str]:
    """List what is wrong with a patch before applying it: ops, pointers, schema, scope."""
    problems: list[str] = []
    if not isinstance(ops, list):
        return ["the patch must be a list of operations"]
    if len(ops) > MAX_OPERATIONS:
        problems.append(f"at most {MAX_OPERATIONS} operations at once")
    for number, op in enumerate(ops, start=1):
        where = f"operation {number}"
        if not isinstance(op, dict):
            problems.append(f"{where}: must be an object with op and path")
            continue
        if op.get("op") not in OPS:
            problems.append(f"{where}: op must be one of {', '.join(OPS)} (got {op.get('op')!r})")
            continue
        path = op.get("path")
        if not isinstance(path, str):
            problems.append(f"{where}: path must be a JSON Pointer string")
            continue
        try:
            parts = pointer_parts(path)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if not parts:
            problems.append(f"{where}: the whole content cannot be replaced; change its parts")
            continue
        if "-" in parts[:-1] or (parts[-1] == "-" and op["op"] != "add"):
            problems.append(f"{where}: '-' (end of a list) is only for adding, at the path's end")
            continue
        if schema_at(schema, parts) is None:
            problems.append(f"{where}: {path} is not a field of this template")
            continue
        parent = schema_at(schema, parts[:-1]) or {}
        if op["op"] in ("add", "remove") and "array" not in types_of(parent):
            problems.append(
                f"{where}: {op['op']} only works on list items; to change or clear the field "
                f"{path}, use replace (with null where the field may be empty)"
            )
            continue
        if op["op"] != "remove" and "value" not in op:
            problems.append(f"{where}: {op['op']} needs a value")
        if scope is not None and not within(path, scope):
            problems.append(f"{where}: {path} {OUTSIDE}")
    return problems


def apply_operations(
    content: dict[str, Any], ops: Sequence[dict[str, Any]]
) -> tuple[Any, list[str]]:
    """Apply a checked patch one operation at a time; return the new content and changed paths.

    A trailing ``-`` becomes the index the item lands at, so changed paths are concrete.

    :raise PatchProblem: an operation names something that is not there.
    """
    document: Any = copy.deepcopy(content)
    changed: list[str] = []
    for number, op in enumerate(ops, start=1):
        path = op["path"]
        parts = pointer_parts(path)
        if parts and parts[-1] == "-":
            try:
                parent = resolve(document, join(parts[:-1]))
            except KeyError as exc:
                raise PatchProblem(
                    [f"operation {number}: {join(parts[:-1])} does not exist"]
                ) from exc
            if isinstance(parent, list):
                path = join([*parts[:-1], str(len(parent))])
        single: dict[str, Any] = {k: op[k] for k in ("op", "path", "value") if k in op}
        single["path"] = path
        try:
            document = jsonpatch.apply_patch(document, [single], in_place=False)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise PatchProblem([f"operation {number} ({op['op']} {path}): {exc}"]) from exc
        if path not in changed:
            changed.append(path)
    return document, changed


def diff_operations(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Return add/remove/replace operations that turn ``old`` into ``new``, item by item."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        return [
            op
            for key in old
            for op in diff_operations(old[key], new[key], path + "/" + escape(key))
        ]
    if isinstance(old, list) and isinstance(new, list) and path:
        ops = []
        for index in range(min(len(old), len(new))):
            ops.extend(diff_operations(old[index], new[index], f"{path}/{index}"))
        for index in range(len(old), len(new)):
            ops.append({"op": "add", "path": f"{path}/{index}", "value": new[index]})
        for index in range(len(old) - 1, len(new) - 1, -1):
            ops.append({"op": "remove", "path": f"{path}/{index}"})
        return ops
    return [{"op": "replace", "path": path, "value": new}]


@dataclass(frozen=True)
class TextField:
    """A text field people may edit by hand."""

    path: str
    label: str
    value: str
    nullable: bool
    markdown: bool


def data_ref_pointers(template: SiteTemplate) -> list[re.Pattern[str]]:
    """Return patterns matching every pointer where a chart or table reference lives."""
    patterns = []
    for ref in template.data_refs:
        body = "".join(
            r"/[0-9]+" if part == "*" else "/" + re.escape(part)
            for part in ref.pattern.split("/")[1:]
        )
        patterns.append(re.compile(f"^{body}$"))
    return patterns


def is_data_ref(path: str, patterns: Sequence[re.Pattern[str]]) -> bool:
    """Say whether ``path`` is a chart or table reference."""
    return any(pattern.match(path) for pattern in patterns)


def text_fields(template: SiteTemplate, content: dict[str, Any]) -> list[TextField]:
    """List every text field of ``content`` in page order: strings that are not enums and not
    the technical parts of a chart or table reference (only its title is text)."""
    refs = data_ref_pointers(template)
    return list(_text_fields(template.schema, content, [], refs))


def _text_fields(
    node: dict[str, Any], value: Any, parts: list[str], refs: Sequence[re.Pattern[str]]
) -> Iterator[TextField]:
    kinds = types_of(node)
    path = join(parts)
    if "object" in kinds and isinstance(value, dict):
        names = ["title"] if is_data_ref(path, refs) else list(node.get("properties", {}))
        for name in names:
            sub = node.get("properties", {}).get(name)
            if sub is not None and name in value:
                yield from _text_fields(sub, value[name], [*parts, name], refs)
    elif "array" in kinds and isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            yield from _text_fields(node["items"], item, [*parts, str(index)], refs)
    elif "string" in kinds and "enum" not in node and (value is None or isinstance(value, str)):
        description = str(node.get("description", ""))
        yield TextField(
            path=path,
            label=label_for(parts),
            value=value or "",
            nullable="null" in kinds,
            markdown="markdown" in description.lower(),
        )


_ACRONYMS = frozenset({"ga", "faq", "url", "arr", "raci", "api", "id", "nps", "kpi"})


def humanise(name: str) -> str:
    """Turn a field name into words: 'next_steps' → 'Next steps', 'ga_date' → 'GA date'."""
    words = [w.upper() if w in _ACRONYMS else w for w in name.replace("_", " ").split()]
    text = " ".join(words)
    return (text[:1].upper() + text[1:]) or name


def label_for(parts: Sequence[str]) -> str:
    """Describe a pointer for people: ['risks', '0', 'mitigation'] → 'Risks › 1 › Mitigation'."""
    return " › ".join(str(int(p) + 1) if p.isdigit() else humanise(p) for p in parts) or "Page"
