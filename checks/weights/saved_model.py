"""TensorFlow SavedModels (saved_model.pb, keras_metadata.pb) read as protobuf wire data: the ops
the graph and its functions run, graded by saved_model_ops.toml, and the Keras configs inside."""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext
from checks.weights.locations import unsafe_location
from checks.weights.protowire import VARINT, Field, WireError, WireReader
from checks.weights.saved_model_rules import Rules, rules

SAVED_MODEL_FILE = "saved_model.pb"
KERAS_METADATA_FILE = "keras_metadata.pb"
INVALID = "saved-model-invalid"
OP = "saved-model-op"
FIXED_PATH = "saved-model-fixed-path"
ASSET = "saved-model-asset"
MAX_NAME = 4096
MAX_LISTED = 10
MAX_INPUTS = 4  # a path input is among the first two
DT_STRING = 7  # types.proto DataType

# Field numbers, from tensorflow/core/protobuf/saved_model.proto: SavedModel.
SM_SCHEMA_VERSION, SM_META_GRAPHS = 1, 2
# meta_graph.proto: MetaGraphDef; AssetFileDef; TensorInfo (name = 1).
MG_GRAPH_DEF, MG_SAVER_DEF, MG_COLLECTION_DEF, MG_ASSET_FILE_DEF, MG_OBJECT_GRAPH = 2, 3, 4, 6, 7
ASSET_TENSOR_INFO, ASSET_FILENAME, TENSOR_INFO_NAME = 1, 2, 1
# meta_graph.proto: CollectionDef (node_list = 1, any_list = 5), NodeList and AnyList (value = 1),
# any.proto: Any (type_url = 1, value = 2). TF1 savers keep their assets in collections.
COLLECTION_NODE_LIST, COLLECTION_ANY_LIST, LIST_VALUE = 1, 5, 1
ANY_TYPE_URL, ANY_VALUE = 1, 2
ASSET_PATHS_COLLECTION = "asset_filepaths"
ASSET_TYPE = "tensorflow.AssetFileDef"
# saver.proto: SaverDef.
SAVER_FILENAME_TENSOR = 1
# framework/graph.proto: GraphDef.
GRAPH_NODE, GRAPH_LIBRARY = 1, 2
# framework/node_def.proto: NodeDef.
NODE_NAME, NODE_OP, NODE_INPUT, NODE_ATTR = 1, 2, 3, 5
# framework/function.proto: FunctionDefLibrary, FunctionDef; op_def.proto: OpDef (name = 1).
LIBRARY_FUNCTION = 1
FUNCTION_SIGNATURE, FUNCTION_NODE = 1, 3
OPDEF_NAME = 1
# framework/attr_value.proto: map<string, AttrValue> entries (key = 1, value = 2); AttrValue;
# AttrValue.ListValue (s = 2).
ENTRY_KEY, ENTRY_VALUE = 1, 2
ATTR_LIST, ATTR_S, ATTR_TENSOR = 1, 2, 8
LIST_S = 2
# framework/tensor.proto: TensorProto.
TENSOR_DTYPE, TENSOR_STRING_VAL = 1, 8
# protobuf/saved_object_graph.proto: SavedObjectGraph, SavedObject, SavedUserObject.
OBJECTS_NODES, OBJECT_USER_OBJECT = 1, 4
USER_IDENTIFIER, USER_METADATA = 1, 3
# Keras' protobuf/saved_metadata.proto: SavedMetadata, SavedObject.
KM_NODES, KM_NODE_PATH, KM_IDENTIFIER, KM_METADATA = 1, 3, 4, 5


@dataclass
class _Node:
    scope: str  # "" for the graph, else the function's name
    name: str
    op: str
    inputs: list[str]  # the first few, as node names
    strings: dict[str, list[str]]


@dataclass
class _Found:
    functions: set[str] = field(default_factory=set)
    nodes: list[_Node] = field(default_factory=list)  # only the ops the rules care about
    consts: dict[tuple[str, str], str] = field(default_factory=dict)  # string constants
    fed: set[tuple[str, str]] = field(default_factory=set)  # tensors the loader feeds
    keras: list[tuple[str, bytes]] = field(default_factory=list)  # (where, Keras JSON)


def scan_saved_model(source: ByteSource, ctx: ScanContext) -> None:
    """A ``saved_model.pb``: anything that does not parse is one ``saved-model-invalid`` finding."""
    _run(source, ctx, "SavedModel", lambda walk: walk.saved_model())


def scan_keras_metadata(source: ByteSource, ctx: ScanContext) -> None:
    """A ``keras_metadata.pb`` beside a SavedModel: one Keras config (JSON) per saved layer."""
    _run(source, ctx, "keras_metadata.pb", lambda walk: walk.keras_metadata())


def _run(source: ByteSource, ctx: ScanContext, what: str, parse: Callable[[_Walk], None]) -> None:
    walk = _Walk(source, ctx)
    try:
        parse(walk)
    except WireError as exc:
        ctx.report(
            INVALID, Severity.HIGH, f"malformed {what}: {exc}; a loader may crash or misread it"
        )
        return
    except LimitExceeded as exc:
        ctx.report("limit-exceeded", Severity.HIGH, f"scan stopped at a safety bound: {exc}")
        return
    walk.report()


class _Walk:
    def __init__(self, source: ByteSource, ctx: ScanContext) -> None:
        limits = ctx.limits
        self.wire = WireReader(
            source, max_fields=limits.max_proto_fields, max_depth=limits.max_proto_depth
        )
        self.ctx = ctx
        self.rules: Rules = rules()
        self.found = _Found()

    def saved_model(self) -> None:
        meta_graphs = 0
        for f in self.wire.fields(0, self.wire.size):
            if f.number == SM_SCHEMA_VERSION:
                self.wire.expect(f, VARINT, "saved_model_schema_version")
            elif f.number == SM_META_GRAPHS:
                meta_graphs += 1
                self.meta_graph(f)
        if not meta_graphs:
            raise WireError("no meta graph: this is not a SavedModel")

    def meta_graph(self, f: Field) -> None:
        for g in self.wire.message(f, "a meta graph", 0):
            if g.number == MG_GRAPH_DEF:
                self.graph(g, 1)
            elif g.number == MG_SAVER_DEF:
                for s in self.wire.message(g, "a saver", 1):
                    if s.number == SAVER_FILENAME_TENSOR:
                        self.found.fed.add(("", _tensor_node(self._text(s, "a tensor name"))))
            elif g.number == MG_COLLECTION_DEF:
                self.collection(g)
            elif g.number == MG_ASSET_FILE_DEF:
                self.asset(g)
            elif g.number == MG_OBJECT_GRAPH:
                self.object_graph(g)

    def graph(self, f: Field, depth: int) -> None:
        nodes: list[_Node] = []
        consts: dict[str, str] = {}
        for g in self.wire.message(f, "a graph", depth):
            if g.number == GRAPH_NODE:
                self.node(g, depth + 1, nodes, consts)
            elif g.number == GRAPH_LIBRARY:
                for lib in self.wire.message(g, "a function library", depth + 1):
                    if lib.number == LIBRARY_FUNCTION:
                        self.function(lib, depth + 2)
        self.scope("", nodes, consts)

    def function(self, f: Field, depth: int) -> None:
        name = ""
        nodes: list[_Node] = []
        consts: dict[str, str] = {}
        for g in self.wire.message(f, "a function", depth):
            if g.number == FUNCTION_SIGNATURE:
                for s in self.wire.message(g, "a function signature", depth + 1):
                    if s.number == OPDEF_NAME:
                        name = self._text(s, "a function name")
            elif g.number == FUNCTION_NODE:
                self.node(g, depth + 1, nodes, consts)
        # The signature may follow the body on the wire: the scope is known only now.
        self.found.functions.add(name)
        self.scope(name, nodes, consts)

    def node(self, f: Field, depth: int, nodes: list[_Node], consts: dict[str, str]) -> None:
        """One NodeDef into ``nodes`` (ops the rules grade) or ``consts`` (string constants);
        names and inputs are decoded only for those, attributes only for what they need."""
        op = ""
        name_field: Field | None = None
        input_fields: list[Field] = []
        attrs: list[Field] = []
        for n in self.wire.message(f, "a node", depth):
            if n.number == NODE_OP:
                op = self._text(n, "an op name")
            elif n.number == NODE_NAME:
                name_field = n
            elif n.number == NODE_INPUT and len(input_fields) < MAX_INPUTS:
                input_fields.append(n)
            elif n.number == NODE_ATTR:
                attrs.append(n)
        if op != "Const" and not self.rules.interesting(op):
            return
        name = self._text(name_field, "a node name") if name_field is not None else ""
        if op == "Const":
            value = self.const_string(attrs, depth + 1)
            if value is not None:
                consts[name] = value
            return
        inputs = [_tensor_node(self._text(i, "a node input")) for i in input_fields]
        nodes.append(_Node("", name, op, inputs, self.strings(attrs, depth + 1)))

    def scope(self, scope: str, nodes: list[_Node], consts: dict[str, str]) -> None:
        self.found.nodes.extend(dataclasses.replace(node, scope=scope) for node in nodes)
        self.found.consts.update(((scope, key), value) for key, value in consts.items())

    def const_string(self, attrs: list[Field], depth: int) -> str | None:
        """The first string of a Const node's ``value`` tensor; tensor payloads stay unread."""
        for key, value in self.attr_entries(attrs, depth):
            if key != "value":
                continue
            for a in self.wire.message(value, "an attribute value", depth + 1):
                if a.number != ATTR_TENSOR:
                    continue
                dtype, first = 0, None
                for t in self.wire.message(a, "a tensor", depth + 2):
                    if t.number == TENSOR_DTYPE:
                        self.wire.expect(t, VARINT, "a tensor dtype")
                        dtype = t.value
                    elif t.number == TENSOR_STRING_VAL and first is None:
                        first = self._text(t, "a string value")
                return first if dtype == DT_STRING else None
        return None

    def strings(self, attrs: list[Field], depth: int) -> dict[str, list[str]]:
        """A node's string attributes (single and listed), a few values each."""
        found: dict[str, list[str]] = {}
        for key, value in self.attr_entries(attrs, depth):
            texts = found.setdefault(key, [])
            for a in self.wire.message(value, "an attribute value", depth + 1):
                if a.number == ATTR_S:
                    texts.append(self._text(a, "a string attribute"))
                elif a.number == ATTR_LIST:
                    for item in self.wire.message(a, "an attribute list", depth + 2):
                        if item.number == LIST_S and len(texts) < MAX_LISTED:
                            texts.append(self._text(item, "a listed string"))
        return found

    def attr_entries(self, attrs: list[Field], depth: int) -> list[tuple[str, Field]]:
        entries = []
        for entry in attrs:
            key, value = "", None
            for e in self.wire.message(entry, "an attribute", depth):
                if e.number == ENTRY_KEY:
                    key = self._text(e, "an attribute name")
                elif e.number == ENTRY_VALUE:
                    value = e
            if value is not None:
                entries.append((key, value))
        return entries

    def collection(self, f: Field) -> None:
        key, value = "", None
        for e in self.wire.message(f, "a collection", 1):
            if e.number == ENTRY_KEY:
                key = self._text(e, "a collection name")
            elif e.number == ENTRY_VALUE:
                value = e
        if value is None:
            return
        for c in self.wire.message(value, "a collection", 2):
            if c.number == COLLECTION_NODE_LIST and key == ASSET_PATHS_COLLECTION:
                for item in self.wire.message(c, "a node list", 3):
                    if item.number == LIST_VALUE:
                        self.found.fed.add(("", _tensor_node(self._text(item, "a tensor name"))))
            elif c.number == COLLECTION_ANY_LIST:
                for item in self.wire.message(c, "an any list", 3):
                    if item.number == LIST_VALUE:
                        self.any_asset(item, 4)

    def any_asset(self, f: Field, depth: int) -> None:
        type_url, payload = "", None
        for a in self.wire.message(f, "an Any", depth):
            if a.number == ANY_TYPE_URL:
                type_url = self._text(a, "a type URL")
            elif a.number == ANY_VALUE:
                payload = a
        if payload is not None and type_url.endswith("/" + ASSET_TYPE):
            self.asset(payload, depth + 1)

    def asset(self, f: Field, depth: int = 1) -> None:
        for a in self.wire.message(f, "an asset", depth):
            if a.number == ASSET_TENSOR_INFO:
                for t in self.wire.message(a, "an asset tensor", depth + 1):
                    if t.number == TENSOR_INFO_NAME:
                        self.found.fed.add(("", _tensor_node(self._text(t, "a tensor name"))))
            elif a.number == ASSET_FILENAME:
                self.asset_file(self._text(a, "an asset filename"))

    def asset_file(self, filename: str) -> None:
        assets = posixpath.join(posixpath.dirname(self.ctx.path), "assets", SAVED_MODEL_FILE)
        problem = unsafe_location(filename, assets)
        if problem is not None:
            self.ctx.report(
                ASSET,
                Severity.HIGH,
                f"asset {filename!r} is {problem}: the loader would hand the graph a file "
                "outside the model's assets folder",
            )

    def object_graph(self, f: Field) -> None:
        for index, node in enumerate(
            n for n in self.wire.message(f, "the object graph", 1) if n.number == OBJECTS_NODES
        ):
            for o in self.wire.message(node, "a saved object", 2):
                if o.number != OBJECT_USER_OBJECT:
                    continue
                identifier, metadata = "", b""
                for u in self.wire.message(o, "a user object", 3):
                    if u.number == USER_IDENTIFIER:
                        identifier = self._text(u, "an object identifier")
                    elif u.number == USER_METADATA:
                        metadata = self._metadata(u)
                if metadata:
                    self.found.keras.append((f"object {index} ({identifier})", metadata))

    def keras_metadata(self) -> None:
        for f in self.wire.fields(0, self.wire.size):
            if f.number != KM_NODES:
                continue
            path = identifier = ""
            metadata = b""
            for n in self.wire.message(f, "a Keras object", 0):
                if n.number == KM_NODE_PATH:
                    path = self._text(n, "a node path")
                elif n.number == KM_IDENTIFIER:
                    identifier = self._text(n, "an object identifier")
                elif n.number == KM_METADATA:
                    metadata = self._metadata(n)
            if metadata:
                self.found.keras.append((path or identifier or "a Keras object", metadata))

    def _metadata(self, f: Field) -> bytes:
        limit = self.ctx.limits.max_config_bytes
        if f.end - f.start > limit:
            raise LimitExceeded(f"Keras metadata of {f.end - f.start} bytes")
        return self.wire.data(f, "Keras metadata", limit)

    def _text(self, f: Field, what: str) -> str:
        return self.wire.text(f, what, MAX_NAME)

    def report(self) -> None:
        self._report_ops()
        self._report_keras()

    def _report_ops(self) -> None:
        found, table = self.found, self.rules
        places: dict[str, set[str]] = {}
        details: dict[str, list[str]] = {}
        for node in found.nodes:
            if node.op in found.functions:
                continue  # a call to a function the model defines, not the op of that name
            if node.op in table.dangerous:
                places.setdefault(node.op, set()).add(_scope(node.scope))
                details.setdefault(node.op, []).extend(_details(node))
                path = found.consts.get((node.scope, node.inputs[0])) if node.inputs else None
                if path is not None:
                    details[node.op].append(f"on {path!r}")
            if node.op in table.path_fed:
                self._fixed_path(node)
            rule = table.attributes.get(node.op)
            if rule is not None:
                hits = [s for s in node.strings.get(rule.attr, []) if s.startswith(rule.prefixes)]
                if hits:
                    self.ctx.report(
                        OP,
                        rule.severity,
                        f"{node.op} {node.name!r} in {_scope(node.scope)} has {rule.attr} "
                        f"{hits[0]!r}: {rule.reason}",
                    )
        for op in sorted(places, key=lambda o: (-table.dangerous[o].severity, o)):
            danger = table.dangerous[op]
            where = _listed(sorted(places[op]))
            extra = f" ({_listed(sorted(set(details[op])))})" if details[op] else ""
            self.ctx.report(
                OP,
                danger.severity,
                f"runs {op}{extra} in {where} ({danger.category}): {danger.reason}",
            )

    def _fixed_path(self, node: _Node) -> None:
        index = self.rules.path_fed[node.op]
        if index >= len(node.inputs):
            return
        key = (node.scope, node.inputs[index])
        path = self.found.consts.get(key)
        if path is None or key in self.found.fed:
            return
        danger = self.rules.path_fed_danger
        self.ctx.report(
            FIXED_PATH,
            danger.severity,
            f"{node.op} {node.name!r} in {_scope(node.scope)} uses the path {path!r}: "
            f"{danger.reason}",
        )

    def _report_keras(self) -> None:
        from checks.weights.keras import scan_config_text

        # A model's metadata repeats its layers' own, which name no model: say each thing once.
        seen: set[tuple[str, str]] = set()
        for where, data in self.found.keras:
            inner = dataclasses.replace(self.ctx, findings=[])
            scan_config_text(data, inner, f"Keras metadata of {where}")
            for finding in inner.findings:
                key = (finding.rule, _IN_MODEL.sub("", finding.message))
                if key not in seen:
                    seen.add(key)
                    self.ctx.findings.append(finding)


_IN_MODEL = re.compile(r" in model '[^']*'(?: in '[^']*')*")


def _tensor_node(name: str) -> str:
    """The node a tensor name refers to: ``^ctrl``, ``node:0`` and ``node:output:0`` forms."""
    return name.lstrip("^").split(":", 1)[0]


def _scope(scope: str) -> str:
    return f"function {scope!r}" if scope else "the graph"


def _details(node: _Node) -> list[str]:
    """The string attributes that say what a dangerous node does (a py_func token, a URL)."""
    shown: list[str] = []
    for key in ("token", "debug_urls", "address", "file_pattern", "memory_region_name"):
        shown.extend(f"{key} {value!r}" for value in node.strings.get(key, [])[:2] if value)
    return shown


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
