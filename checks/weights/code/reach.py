"""What Python source reaches, read with ``ast`` against the rule table in code_rules.toml."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any


@dataclass(frozen=True)
class _Rules:
    calls: dict[str, str]
    heads: frozenset[str]  # the first part of every call rule, a cheap first test
    references: dict[str, str]
    unsafe_keywords: dict[str, tuple[str, object, str]]
    openers: frozenset[str]
    outside_why: str
    environment: frozenset[str]
    environment_why: str


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    table: dict[str, Any] = tomllib.loads(
        Path(__file__).with_name("code_rules.toml").read_text("utf-8")
    )
    calls = {str(k): str(v) for k, v in table["calls"].items()}
    return _Rules(
        calls=calls,
        heads=frozenset(k.partition(".")[0] for k in calls),
        references={str(k): str(v) for k, v in table["references"].items()},
        unsafe_keywords={
            str(k): (str(v["keyword"]), v["value"], str(v["why"]))
            for k, v in table["unsafe_keywords"].items()
        },
        openers=frozenset(table["paths"]["openers"]),
        outside_why=str(table["paths"]["why"]),
        environment=frozenset(table["environment"]["keys"]),
        environment_why=str(table["environment"]["why"]),
    )


def dangerous_calls(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, what, why) for everything the rule table names that the code reaches.

    Import aliases are resolved; a dangerous function counts when it is called, passed on or
    bound to another name, and ``getattr(module, "name")`` counts as ``module.name``.
    """
    try:
        return _Reach(tree).found
    except RecursionError:  # fail closed: what a too deeply nested expression reaches is unknown
        return [(1, "an expression nested too deeply to read", "it cannot be checked")]


class _Reach:
    def __init__(self, tree: ast.AST) -> None:
        self.rules = _rules()
        nodes = list(ast.walk(tree))  # one walk: the passes below share it
        self.aliases = _aliases(nodes)
        self.bound = _bound_names(nodes)
        self.found: list[tuple[int, str, str]] = []
        self._seen: set[tuple[int, str]] = set()
        inert = _inert_positions(nodes)
        for node in nodes:
            if isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Assign | ast.AugAssign):
                self._environment_write(node)
            if isinstance(node, ast.Attribute | ast.Name | ast.Subscript) and id(node) not in inert:
                self._reference(node)

    def _add(self, line: int, what: str, why: str) -> None:
        if (line, what) not in self._seen:
            self._seen.add((line, what))
            self.found.append((line, what, why))

    def _resolve(self, node: ast.expr) -> str | None:
        """The dotted name ``node`` stands for: aliases resolved, and a module or builtin looked
        up by a fixed name (``sys.modules["os"]``, ``__builtins__["exec"]``) taken as that name."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Subscript):
            key, table = _constant(node.slice), self._resolve(node.value)
            if key is None or table not in _LOOKUP_TABLES:
                return None
            parts.append(key if table == "sys.modules" else f"builtins.{key}")
            return ".".join(reversed(parts))
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id, node.id)
        return ".".join([head, *reversed(parts)])

    def _named(self, dotted: str) -> str | None:
        if dotted.partition(".")[0] not in self.rules.heads:
            return None  # most names (self.x, torch.nn.Linear) share no first part with a rule
        return next((w for p, w in self.rules.calls.items() if fnmatchcase(dotted, p)), None)

    def _call(self, node: ast.Call) -> None:
        name = self._resolve(node.func)
        if name == "getattr" and len(node.args) >= 2:
            owner = self._resolve(node.args[0])
            attr = node.args[1]
            if owner is not None and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                name = f"{owner}.{attr.value}"
        if name is None:
            return
        why = self._named(name)
        if why is not None:
            self._add(node.lineno, name, why)
        unsafe = self.rules.unsafe_keywords.get(name)
        if unsafe is not None:
            keyword, value, reason = unsafe
            for kw in node.keywords:
                if kw.arg == keyword and self._value_is(kw.value, value):
                    self._add(node.lineno, f"{name}({keyword}={value})", reason)
        if name in self.rules.openers and node.args and _outside(node.args[0]):
            self._add(node.lineno, f"{name}({ast.unparse(node.args[0])})", self.rules.outside_why)
        if name in ("os.environ.setdefault", "os.environ.update"):
            keys = _dict_keys(node.args[0]) if name.endswith("update") and node.args else None
            if keys is None:
                keys = [_constant(node.args[0])] if node.args else []
            keys += [kw.arg for kw in node.keywords if kw.arg]
            self._environment(node.lineno, keys)

    def _value_is(self, node: ast.expr, value: object) -> bool:
        if isinstance(value, bool):
            return isinstance(node, ast.Constant) and node.value is value
        return self._resolve(node) == value

    def _reference(self, node: ast.Attribute | ast.Name | ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        name = self._resolve(node)
        if name is None:
            return
        why = self.rules.references.get(name)
        # A bare name this file binds (a parameter called ``compile``) is its own, not a builtin.
        if why is None and not (isinstance(node, ast.Name) and node.id in self.bound):
            why = self._named(name)
        if (
            why is None
            and isinstance(node, ast.Subscript)
            and any(p.startswith(f"{name}.") for p in self.rules.calls)
        ):
            why = "takes a module whose functions run commands or code from sys.modules"
        if why is not None:
            self._add(node.lineno, name, why)

    def _environment_write(self, node: ast.Assign | ast.AugAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and self._resolve(target.value) == "os.environ":
                self._environment(node.lineno, [_constant(target.slice)])

    def _environment(self, line: int, keys: list[str | None]) -> None:
        for key in keys:
            if key is not None and key.upper() in self.rules.environment:
                self._add(line, f"os.environ[{key!r}]", self.rules.environment_why)


_LOOKUP_TABLES = frozenset({"sys.modules", "__builtins__", "builtins.__dict__"})


def _inert_positions(nodes: list[ast.AST]) -> set[int]:
    """Nodes whose dotted name is part of a longer one, or only named (exception types,
    annotations, isinstance checks), never run: ids, so references skip them."""
    inert: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.Attribute):
            inert.add(id(node.value))
        elif isinstance(node, ast.Subscript) and _constant(node.slice) is not None:
            inert.add(id(node.value))  # sys.modules["x"] is resolved as a whole
        elif isinstance(node, ast.Compare) and all(
            isinstance(op, ast.In | ast.NotIn) for op in node.ops
        ):
            inert.update(id(n) for c in node.comparators for n in ast.walk(c))
        elif isinstance(node, ast.Call):
            inert.add(id(node.func))
            if _dotted(node.func) in ("isinstance", "issubclass") and len(node.args) == 2:
                inert.update(id(n) for n in ast.walk(node.args[1]))
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            inert.update(id(n) for n in ast.walk(node.type))
        elif isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            inert.update(id(n) for n in ast.walk(node.annotation))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            inert.update(id(n) for n in ast.walk(node.returns))
    return inert


def _bound_names(nodes: list[ast.AST]) -> set[str]:
    """Names the file itself binds: parameters, assignment targets, functions and classes."""
    bound: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
    return bound


def _outside(node: ast.expr) -> bool:
    """A fixed path that leaves the repository: absolute, home-relative or climbing out."""
    text = _constant(node)
    if text is None and isinstance(node, ast.JoinedStr) and node.values:
        text = _constant(node.values[0])
    if text is None and isinstance(node, ast.Call) and _dotted(node.func) == "os.path.join":
        return bool(node.args) and _outside(node.args[0])
    if not text:
        return False
    if text.startswith(("/", "\\", "~")) or PureWindowsPath(text).drive:
        return True
    return ".." in PurePosixPath(text.replace("\\", "/")).parts


def _constant(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dict_keys(node: ast.expr) -> list[str | None] | None:
    if isinstance(node, ast.Dict):
        return [_constant(k) if k is not None else None for k in node.keys]
    return None


def _aliases(nodes: list[ast.AST]) -> dict[str, str]:
    """Local names bound by imports anywhere in the file -> the dotted name they stand for."""
    names: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def dotted_parts(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return list(reversed(parts))


def _dotted(node: ast.expr) -> str | None:
    parts = dotted_parts(node)
    return None if parts is None else ".".join(parts)
