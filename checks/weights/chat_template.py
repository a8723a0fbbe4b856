"""Chat templates that reach Python internals: Jinja's own parser, then a walk of the tree."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext

if TYPE_CHECKING:
    from jinja2 import Environment, nodes

ESCAPE = "chat-template-escape"
UNPARSABLE = "chat-template-unparsable"
CONFIG_INVALID = "tokenizer-config-invalid"
MAX_REPORTED = 10  # per template and severity
MAX_FOLDED = 4096  # longest string we rebuild from literals
MAX_PASSES = 5  # rounds of taint propagation through assignments

# Dunders that open the path from a template object to the interpreter; special tokens named
# exactly like these arrive in templates as variables, ready to be used as keys.
DANGEROUS_DUNDERS = frozenset(
    [
        "__class__",
        "__mro__",
        "__subclasses__",
        "__globals__",
        "__builtins__",
        "__import__",
        "__init__",
        "__base__",
        "__bases__",
        "__dict__",
        "__getattribute__",
        "__code__",
        "__func__",
        "__self__",
        "__module__",
        "__loader__",
        "__spec__",
        "__reduce__",
        "__reduce_ex__",
        "__getitem__",
        "__call__",
    ]
)

# Filters that read attributes by name: which argument carries that name.
ATTR_ARGS: dict[str, tuple[int | None, str | None]] = {
    "attr": (0, None),
    "selectattr": (0, None),
    "rejectattr": (0, None),
    "groupby": (0, "attribute"),
    "sum": (0, "attribute"),
    "sort": (2, "attribute"),
    "unique": (1, "attribute"),
    "min": (1, "attribute"),
    "max": (1, "attribute"),
    "map": (None, "attribute"),
}
STRING_FILTERS = frozenset(
    [
        "join",
        "format",
        "replace",
        "string",
        "lower",
        "upper",
        "reverse",
        "trim",
        "center",
        "title",
        "capitalize",
        "striptags",
        "truncate",
        "wordwrap",
        "indent",
        "first",
        "last",
        "urlencode",
    ]
)
STRING_METHODS = frozenset(
    ["format", "format_map", "join", "replace", "upper", "lower", "strip", "title"]
)
_BIG_WIDTH = re.compile(r"%[-+ #0]*(\*|\d{4,})")
_BRACE_RISK = re.compile(r"\d{4,}|\{[^}]*[.\[]")  # huge widths; attribute or item access
STR_OPS = frozenset(
    ["string", "trim", "strip", "lower", "upper", "title", "reverse", "first", "last"]
)


@dataclass
class _Hits:
    """What one template showed, deduplicated."""

    critical: list[str] = field(default_factory=list)
    high: list[str] = field(default_factory=list)

    def add(self, severity: Severity, text: str) -> None:
        bucket = self.critical if severity is Severity.CRITICAL else self.high
        if text not in bucket:
            bucket.append(text)


def scan_tokenizer_config(source: ByteSource, ctx: ScanContext) -> None:
    """Check the chat template(s) in a ``tokenizer_config.json``."""
    if source.size > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"tokenizer config of {source.size} bytes")
    config = _load_json(source.read_at(0, source.size))
    if not isinstance(config, dict):
        ctx.report(CONFIG_INVALID, Severity.MEDIUM, "tokenizer_config.json is not a JSON object")
        return
    templates = _templates(config.get("chat_template"), ctx)
    for where, template in templates:
        check_template(template, ctx, where)
    if templates:
        _check_special_tokens(config, ctx)


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None  # reported by the caller as "not a JSON object"


def _templates(value: Any, ctx: ScanContext) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [("chat_template", value)]
    found: list[tuple[str, str]] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                found.append((f"chat_template[{item.get('name', index)!s}]", item["template"]))
            else:
                ctx.report(
                    CONFIG_INVALID,
                    Severity.MEDIUM,
                    f"chat_template entry #{index} is not a {{name, template}} object",
                )
        return found
    ctx.report(CONFIG_INVALID, Severity.MEDIUM, "chat_template is neither a string nor a list")
    return []


def _check_special_tokens(config: dict[str, Any], ctx: ScanContext) -> None:
    for name, text in _token_strings(config):
        if text.strip() in DANGEROUS_DUNDERS:
            ctx.report(
                ESCAPE,
                Severity.HIGH,
                f"special token {name} is {text!r}: templates receive it as a variable, so it "
                "can serve as a key that reaches Python internals",
                detail=name,
            )


def _token_strings(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in config.items():
        if key.endswith("_token") or key == "additional_special_tokens":
            for item in value if isinstance(value, list) else [value]:
                text = item.get("content") if isinstance(item, dict) else item
                if isinstance(text, str):
                    yield key, text
    decoder = config.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        for token_id, item in decoder.items():
            if isinstance(item, dict) and isinstance(item.get("content"), str):
                yield f"added_tokens_decoder[{token_id}]", item["content"]


def check_template(template: str, ctx: ScanContext, where: str) -> None:
    """Critical for any route to dunders; high for attribute names built at render time."""
    from jinja2 import TemplateSyntaxError

    try:
        tree = _environment().parse(template)
    except TemplateSyntaxError as exc:
        ctx.report(
            UNPARSABLE,
            Severity.MEDIUM,
            f"the chat template does not parse (line {exc.lineno}: {exc.message}); "
            "it cannot be checked",
            detail=where,
        )
        return
    except RecursionError:
        ctx.report(
            UNPARSABLE, Severity.MEDIUM, "the chat template nests too deeply to parse", detail=where
        )
        return
    hits = _Analysis(tree).run()
    for text in hits.critical[:MAX_REPORTED]:
        ctx.report(
            ESCAPE,
            Severity.CRITICAL,
            f"the chat template reaches Python internals through {text}; rendered without "
            "Jinja's sandbox it runs code (the CVE-2024-34359 pattern)",
            detail=where,
        )
    for text in hits.high[:MAX_REPORTED]:
        ctx.report(
            ESCAPE,
            Severity.HIGH,
            f"the chat template {text}; the name is only known at render time and could be "
            "a dunder",
            detail=where,
        )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    from jinja2 import Environment, nodes
    from jinja2.ext import Extension, loopcontrols
    from jinja2.parser import Parser

    class GenerationTag(Extension):
        """``{% generation %}`` marks assistant turns in transformers' templates."""

        tags = {"generation"}  # noqa: RUF012 - jinja2 reads a plain set

        def parse(self, parser: Parser) -> nodes.Node:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return Environment(extensions=[loopcontrols, GenerationTag])  # noqa: S701 - parse only


class _Analysis:
    """Walks one parsed template bottom-up, folding literal strings and tracking built names."""

    def __init__(self, tree: nodes.Template) -> None:
        self.order = _postorder(tree)
        self.hits = _Hits()
        self.values: dict[int, Any] = {}  # id(node) → folded literal value
        self.computed: set[int] = set()  # id(node) of expressions that build strings
        self.constants: dict[str, Any] = {}  # names assigned once, to a literal
        self.tainted: set[str] = set()  # names (or ns.attr) assigned a built string
        self.captured = _captured_text(self.order)  # text that becomes a value, not output

    def run(self) -> _Hits:
        from jinja2 import nodes

        for _ in range(MAX_PASSES):
            before = (len(self.tainted), len(self.constants))
            self._fold_pass()
            self._collect_assignments()
            if (len(self.tainted), len(self.constants)) == before:
                break
        self._fold_pass()
        for node in self.order:
            self._check_literal(node)
            if isinstance(node, nodes.Filter) and node.name in ATTR_ARGS:
                self._check_attr_filter(node)
            elif isinstance(node, nodes.Getitem) and id(node.arg) in self.computed:
                self.hits.add(Severity.HIGH, "looks up a key built from pieces (x[a ~ b])")
            elif isinstance(node, nodes.Call) and self._format_on_built(node):
                self.hits.add(Severity.HIGH, "calls .format on a string built from pieces")
        return self.hits

    # -- pass 1: fold literals and mark string-building expressions

    def _fold_pass(self) -> None:
        self.values.clear()
        self.computed.clear()
        for node in self.order:
            value = _fold(node, self.values, self.constants)
            if value is not None:
                self.values[id(node)] = value
            elif self._builds_string(node):  # a known value is checked as a literal instead
                self.computed.add(id(node))

    def _builds_string(self, node: nodes.Node) -> bool:
        from jinja2 import nodes

        if isinstance(node, nodes.Concat | nodes.Mod | nodes.CondExpr):
            return True
        if isinstance(node, nodes.Call):
            return not (isinstance(node.node, nodes.Name) and node.node.name == "namespace")
        if isinstance(node, nodes.Filter):
            return node.name in STRING_FILTERS
        if isinstance(node, nodes.Add | nodes.Mul):
            return any(self._stringy(side) for side in (node.left, node.right))
        name = _ref_name(node)
        return name is not None and name in self.tainted

    def _stringy(self, node: nodes.Node) -> bool:
        return isinstance(self.values.get(id(node)), str) or id(node) in self.computed

    def _collect_assignments(self) -> None:
        from jinja2 import nodes

        counts: dict[str, int] = {}
        values: dict[str, Any] = {}
        for node in self.order:
            if isinstance(node, nodes.Assign | nodes.For):
                source = node.node if isinstance(node, nodes.Assign) else node.iter
                for name in _target_names(node.target):
                    counts[name] = counts.get(name, 0) + 1
                    values[name] = self.values.get(id(source))
                    if id(source) in self.computed or _holds_underscore(source):
                        self.tainted.add(name)
                if isinstance(node, nodes.For):  # a loop variable is never one constant
                    counts.update({name: 2 for name in _target_names(node.target)})
            elif isinstance(node, nodes.AssignBlock):
                self.tainted.update(_target_names(node.target))
        self.constants = {
            name: value
            for name, value in values.items()
            if counts[name] == 1 and value is not None and name not in self.tainted
        }

    # -- pass 2: what a renderer would reach

    def _check_literal(self, node: nodes.Node) -> None:
        from jinja2 import nodes

        if isinstance(node, nodes.Name | nodes.NSRef) and "__" in node.name:
            self.hits.add(Severity.CRITICAL, f"the name {node.name!r}")
        elif isinstance(node, nodes.Getattr | nodes.NSRef) and "__" in node.attr:
            self.hits.add(Severity.CRITICAL, f"the attribute .{node.attr}")
        elif isinstance(node, nodes.TemplateData) and "__" in node.data:
            if id(node) in self.captured:
                self.hits.add(Severity.CRITICAL, f"a {{% set %}} block holding {node.data!r}")
        else:
            value = self.values.get(id(node))
            if isinstance(value, str) and "__" in value:
                kind = "the string" if isinstance(node, nodes.Const) else "a string built as"
                self.hits.add(Severity.CRITICAL, f"{kind} {value[:80]!r}")

    def _check_attr_filter(self, node: nodes.Filter) -> None:
        from jinja2 import nodes

        position, keyword = ATTR_ARGS[node.name]
        args: list[nodes.Expr] = []
        if node.name == "map" and node.args:
            # map('attr', name) reads an attribute; map(name) picks a filter by name.
            first = node.args[0]
            is_attr = isinstance(first, nodes.Const) and first.value == "attr"
            args = node.args[1:2] if is_attr else [first]
        elif position is not None and len(node.args) > position:
            args = [node.args[position]]
        args += [kw.value for kw in node.kwargs if kw.key == keyword]
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.hits.add(Severity.HIGH, f"passes *args/**kwargs to the {node.name} filter")
        for arg in args:
            if not isinstance(arg, nodes.Const):
                self.hits.add(
                    Severity.HIGH,
                    f"reads an attribute through the {node.name} filter with a non-literal name",
                )

    def _format_on_built(self, node: nodes.Call) -> bool:
        from jinja2 import nodes

        target = node.node
        return (
            isinstance(target, nodes.Getattr)
            and target.attr in ("format", "format_map")
            and not isinstance(self.values.get(id(target.node)), str)
        )


def _postorder(tree: nodes.Node) -> list[nodes.Node]:
    """Children before parents, iteratively: deep templates must not blow the stack."""
    order: list[nodes.Node] = []
    stack: list[tuple[nodes.Node, bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node.iter_child_nodes())))
    return order


def _captured_text(order: list[nodes.Node]) -> set[int]:
    from jinja2 import nodes

    return {
        id(data)
        for block in order
        if isinstance(block, nodes.AssignBlock | nodes.Macro)
        for data in block.find_all(nodes.TemplateData)
    }


def _ref_name(node: nodes.Node) -> str | None:
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.NSRef):
        return f"{node.name}.{node.attr}"
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return f"{node.node.name}.{node.attr}"
    return None


def _target_names(target: nodes.Node) -> list[str]:
    from jinja2 import nodes

    if isinstance(target, nodes.Tuple):
        return [name for item in target.items for name in _target_names(item)]
    name = _ref_name(target)
    return [name] if name is not None else []


def _holds_underscore(node: nodes.Node) -> bool:
    from jinja2 import nodes

    # A literal list of strings with underscores, iterated or stored, feeds string building.
    return isinstance(node, nodes.List | nodes.Tuple) and any(
        isinstance(item, nodes.Const) and isinstance(item.value, str) and "_" in item.value
        for item in node.items
    )


def _fold(node: nodes.Node, values: dict[int, Any], constants: dict[str, Any]) -> Any:
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
    if _BIG_WIDTH.search(fmt) or "%(" in fmt:
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
    if name == "format" and not _BRACE_RISK.search(subject):
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
