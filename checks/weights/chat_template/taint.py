"""The taint walk: Jinja's own parser, then which values reach Python internals."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from checks.findings import Severity
from checks.weights.context import ScanContext

if TYPE_CHECKING:
    from jinja2 import Environment, nodes
from checks.weights.chat_template.folding import fold
from checks.weights.chat_template.rules import (
    ATTR_ARGS,
    ESCAPE,
    MAX_PASSES,
    MAX_REPORTED,
    STRING_FILTERS,
    UNPARSABLE,
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
            value = fold(node, self.values, self.constants)
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
