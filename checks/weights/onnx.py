"""ONNX models read as protobuf wire data: operator domains, local functions, external data."""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext
from checks.weights.locations import unsafe_location
from checks.weights.protowire import VARINT, Field, WireError, WireReader

INVALID = "onnx-invalid"
EXTERNAL = "onnx-external-data"
CUSTOM_OP = "onnx-custom-op"
LOCAL_FUNCTION = "onnx-local-function"
STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
)
CONTRIB_DOMAIN = "com.microsoft"  # onnxruntime's own contrib ops: known code, still not standard
MAX_NAME = 4096
MAX_LISTED = 20
EXTERNAL_LOCATION = 1  # TensorProto.DataLocation.EXTERNAL

# Field numbers from onnx.proto.
MODEL_IR_VERSION, MODEL_GRAPH, MODEL_TRAINING, MODEL_FUNCTIONS = 1, 7, 20, 25
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER = 1, 5, 15
NODE_OP_TYPE, NODE_ATTRIBUTE, NODE_DOMAIN = 4, 5, 7
ATTR_TENSOR, ATTR_GRAPH, ATTR_TENSORS, ATTR_GRAPHS = 5, 6, 10, 11
ATTR_SPARSE, ATTR_SPARSES = 22, 23
TENSOR_NAME, TENSOR_EXTERNAL, TENSOR_LOCATION = 8, 13, 14
FUNCTION_NAME, FUNCTION_NODE, FUNCTION_DOMAIN, FUNCTION_ATTRIBUTE = 1, 7, 10, 11


@dataclass
class _Model:
    ops: dict[str, set[str]] = field(default_factory=dict)  # domain -> op types
    functions: set[tuple[str, str]] = field(default_factory=set)  # (domain, name)
    sidecars: set[str] = field(default_factory=set)


def scan_onnx(source: ByteSource, ctx: ScanContext) -> None:
    """Walk the model; anything that does not parse is one ``onnx-invalid`` finding."""
    walk = _Walk(source, ctx)
    try:
        walk.model()
    except WireError as exc:
        ctx.report(INVALID, Severity.HIGH, f"malformed ONNX: {exc}; a loader may crash or misread")
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
        self.found = _Model()

    def model(self) -> None:
        ir_version = graphs = 0
        for f in self.wire.fields(0, self.wire.size):
            if f.number == MODEL_IR_VERSION:
                self.wire.expect(f, VARINT, "ir_version")
                ir_version += 1
            elif f.number == MODEL_GRAPH:
                graphs += 1
                self.graph(f, 0, 0)
            elif f.number == MODEL_TRAINING:
                for g in self.wire.message(f, "training_info", 0):
                    if g.number in (1, 2):  # initialization, algorithm
                        self.graph(g, 1, 0)
            elif f.number == MODEL_FUNCTIONS:
                self.function(f)
        if not ir_version or not graphs:
            raise WireError("no ir_version or no graph: this is not an ONNX model")

    def graph(self, f: Field, depth: int, graph_depth: int) -> None:
        if graph_depth > self.ctx.limits.max_graph_depth:
            raise LimitExceeded(
                f"ONNX subgraphs nested deeper than {self.ctx.limits.max_graph_depth}"
            )
        for g in self.wire.message(f, "a graph", depth):
            if g.number == GRAPH_NODE:
                self.node(g, depth + 1, graph_depth)
            elif g.number == GRAPH_INITIALIZER:
                self.tensor(g, depth + 1)
            elif g.number == GRAPH_SPARSE_INITIALIZER:
                self.sparse(g, depth + 1)

    def node(self, f: Field, depth: int, graph_depth: int) -> None:
        op_type, domain = "", ""
        for n in self.wire.message(f, "a node", depth):
            if n.number == NODE_OP_TYPE:
                op_type = self.wire.text(n, "op_type", MAX_NAME)
            elif n.number == NODE_DOMAIN:
                domain = self.wire.text(n, "domain", MAX_NAME)
            elif n.number == NODE_ATTRIBUTE:
                self.attribute(n, depth + 1, graph_depth)
        self.found.ops.setdefault(domain, set()).add(op_type)

    def attribute(self, f: Field, depth: int, graph_depth: int) -> None:
        for a in self.wire.message(f, "an attribute", depth):
            if a.number in (ATTR_GRAPH, ATTR_GRAPHS):  # If/Loop/Scan bodies
                self.graph(a, depth + 1, graph_depth + 1)
            elif a.number in (ATTR_TENSOR, ATTR_TENSORS):
                self.tensor(a, depth + 1)
            elif a.number in (ATTR_SPARSE, ATTR_SPARSES):
                self.sparse(a, depth + 1)

    def sparse(self, f: Field, depth: int) -> None:
        for s in self.wire.message(f, "a sparse tensor", depth):
            if s.number in (1, 2):  # values, indices
                self.tensor(s, depth + 1)

    def tensor(self, f: Field, depth: int) -> None:
        name, external, locations = "", False, []
        for t in self.wire.message(f, "a tensor", depth):
            if t.number == TENSOR_NAME:
                name = self.wire.text(t, "a tensor name", MAX_NAME)
            elif t.number == TENSOR_LOCATION:
                self.wire.expect(t, VARINT, "data_location")
                external = t.value == EXTERNAL_LOCATION
            elif t.number == TENSOR_EXTERNAL:
                key, value = self.entry(t, depth + 1)
                if key == "location":
                    locations.append(value)
        for location in locations:
            self.location(name, location)
        if external and not locations:
            self.ctx.report(
                EXTERNAL,
                Severity.MEDIUM,
                f"tensor {name!r} keeps its data outside the file but names no location",
            )

    def entry(self, f: Field, depth: int) -> tuple[str, str]:
        key = value = ""
        for e in self.wire.message(f, "an external_data entry", depth):
            if e.number == 1:
                key = self.wire.text(e, "a key", MAX_NAME)
            elif e.number == 2:
                value = self.wire.text(e, "a value", MAX_NAME)
        return key, value

    def location(self, tensor: str, location: str) -> None:
        problem = unsafe_location(location, self.ctx.path)
        if problem is None:
            self.found.sidecars.add(location)
            return
        self.ctx.report(
            EXTERNAL,
            Severity.HIGH,
            f"tensor {tensor!r} reads its data from {location!r}, {problem}: a loader would read "
            "a file outside the model's repository",
        )

    def function(self, f: Field) -> None:
        name = domain = ""
        for g in self.wire.message(f, "a function", 0):
            if g.number == FUNCTION_NAME:
                name = self.wire.text(g, "a function name", MAX_NAME)
            elif g.number == FUNCTION_DOMAIN:
                domain = self.wire.text(g, "a function domain", MAX_NAME)
            elif g.number == FUNCTION_NODE:
                self.node(g, 1, 0)
            elif g.number == FUNCTION_ATTRIBUTE:
                self.attribute(g, 1, 0)
        self.found.functions.add((domain, name))

    def report(self) -> None:
        found = self.found
        for domain in sorted(found.ops):
            if domain in STANDARD_DOMAINS:
                continue
            ops = sorted(op for op in found.ops[domain] if (domain, op) not in found.functions)
            if not ops:
                continue  # every "op" is a call to a function the model defines itself
            listed = _listed(ops)
            if domain == CONTRIB_DOMAIN:
                self.ctx.report(
                    CUSTOM_OP,
                    Severity.LOW,
                    f"uses onnxruntime contrib operators from {domain!r}: {listed}; other "
                    "runtimes may not run them",
                )
            else:
                self.ctx.report(
                    CUSTOM_OP,
                    Severity.MEDIUM,
                    f"uses operators from the non-standard domain {domain!r}: {listed}; running "
                    "the model needs a custom-op library that the repository must supply",
                )
        if found.functions:
            names = _listed(sorted(f"{d}.{n}" if d else n for d, n in found.functions))
            self.ctx.report(
                LOCAL_FUNCTION,
                Severity.LOW,
                f"defines its own functions (ONNX graphs, not code): {names}",
            )
        if found.sidecars:
            self.ctx.report(
                EXTERNAL,
                Severity.INFO,
                "weights are kept in sidecar files beside the model: "
                + _listed(sorted(found.sidecars)),
            )


def _listed(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
