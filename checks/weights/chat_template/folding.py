"""The constant folder: strings a template builds from literals, rebuilt within bounds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import nodes
from checks.weights.chat_template.rules import (
    BIG_WIDTH,
    BRACE_RISK,
    MAX_FOLDED,
    STR_OPS,
    STRING_METHODS,
)


def fold(node: nodes.Node, values: dict[int, Any], constants: dict[str, Any]) -> Any:
    """The literal value of ``node`` when its children's values are known; else None."""
    from jinja2 import nodes

    def val(child: nodes.Node | None) -> Any:
        return None if child is None else values.get(id(child))

    if isinstance(node, nodes.Const):
        literal = node.value
        return literal if isinstance(literal, str | int) and not isinstance(literal, bool) else None
    if isinstance(node, nodes.List | nodes.Tuple):
        items = [val(item) for item in node.items]
        return items if all(item is not None for item in items) else None
    if isinstance(node, nodes.Name):
        return constants.get(node.name)
    if isinstance(node, nodes.Concat):
        parts = [val(item) for item in node.nodes]
        return _bounded("".join(map(str, parts))) if None not in parts else None
    if isinstance(node, nodes.Add | nodes.Mul | nodes.Mod):
        return _binary(type(node).__name__, val(node.left), val(node.right))
    if isinstance(node, nodes.Filter):
        args = [val(arg) for arg in node.args]
        return _apply(node.name, val(node.node), args) if None not in args else None
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        args = [val(arg) for arg in node.args]
        method = node.node.attr
        if method in STRING_METHODS and None not in args and not node.kwargs:
            return _method(method, val(node.node.node), args)
    return None


def _bounded(value: Any) -> Any:
    return None if isinstance(value, str) and len(value) > MAX_FOLDED else value


def _binary(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if op == "Add" and type(left) is type(right) and isinstance(left, str | int):
        return _bounded(left + right)
    if op == "Mul" and isinstance(left, str) and isinstance(right, int):
        return _bounded(left * right) if len(left) * right <= MAX_FOLDED else None
    if op == "Mul" and isinstance(left, int) and isinstance(right, str):
        return _binary(op, right, left)
    if op == "Mod" and isinstance(left, str):
        return _percent(left, right)
    return None


def _percent(fmt: str, args: Any) -> Any:
    if BIG_WIDTH.search(fmt) or "%(" in fmt:
        return None
    try:
        return _bounded(fmt % (tuple(args) if isinstance(args, list) else args))
    except (TypeError, ValueError, OverflowError):
        return None


def _apply(name: str, subject: Any, args: list[Any]) -> Any:
    """Jinja filters over literals."""
    if name in STR_OPS and isinstance(subject, str) and not args:
        return _str_op(name, subject)
    if name == "join" and isinstance(subject, list | str) and len(args) <= 1:
        glue = args[0] if args else ""
        return _bounded(glue.join(map(str, subject))) if isinstance(glue, str) else None
    if name == "replace" and isinstance(subject, str) and len(args) == 2:
        return _replace(subject, args[0], args[1])
    if name == "format" and isinstance(subject, str):
        return _percent(subject, args)
    return None


def _method(name: str, subject: Any, args: list[Any]) -> Any:
    """Python str methods over literals (a template calls them as ``'x'.join(...)``)."""
    if not isinstance(subject, str):
        return None
    if name in STR_OPS and not args:
        return _str_op(name, subject)
    if name == "join" and len(args) == 1 and isinstance(args[0], list | str):
        return _bounded(subject.join(map(str, args[0])))
    if name == "replace" and len(args) == 2:
        return _replace(subject, args[0], args[1])
    if name == "format" and not BRACE_RISK.search(subject):
        try:
            return _bounded(subject.format(*args))
        except (IndexError, KeyError, ValueError, TypeError):
            return None
    return None


def _replace(subject: str, old: Any, new: Any) -> Any:
    if not (isinstance(old, str) and isinstance(new, str) and old):
        return None
    grows = subject.count(old) * max(len(new) - len(old), 0)
    return _bounded(subject.replace(old, new)) if grows <= MAX_FOLDED else None


def _str_op(name: str, text: str) -> str:
    ops = {
        "string": text,
        "trim": text.strip(),
        "strip": text.strip(),
        "lower": text.lower(),
        "upper": text.upper(),
        "title": text.title(),
        "reverse": text[::-1],
        "first": text[:1],
        "last": text[-1:],
    }
    return ops[name]
