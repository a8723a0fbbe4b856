"""PaddlePaddle files: .pdparams/.pdopt pickles under paddle's policy, .pdmodel ops by type."""

from __future__ import annotations

import dataclasses
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext
from checks.weights.imports import REPOSITORY_REASON, Verdict
from checks.weights.protowire import WireError, WireReader

PICKLE_SUFFIXES = frozenset({".pdparams", ".pdopt"})
PROGRAM_SUFFIX = ".pdmodel"
INVALID = "paddle-invalid"
PROGRAM = "paddle-program"
RISKY_OP = "paddle-risky-op"
MAX_NAME = 4096
MAX_LISTED = 20

# paddle.save turns every tensor into a numpy array before pickling a dict of them (protocol
# 2-4), so these are all a .pdparams or .pdopt file names; numpy 1.x and 2.x spellings.
PADDLE_GLOBALS = frozenset(
    {
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.ndarray",
        "numpy.dtype",
        "_codecs.encode",  # protocol 2 spells array bytes through it
        "builtins.tuple",  # paddle's tensor reducer: (name, array) pairs
        "collections.OrderedDict",
    }
)
_WRITTEN = "written by paddle.save (numpy arrays in plain containers)"
_NOT_PADDLE = "a global paddle.save never writes; paddle.load would import it all the same"

# Ops whose run reaches past the tensors: they fail the file.
RISKY_OPS = {
    "py_func": "calls a Python function of the loading process",
    "save": "writes a file at a path the program names when it runs",
    "save_combine": "writes a file at a path the program names when it runs",
}

# Field numbers from paddle's framework.proto.
PROGRAM_BLOCKS, BLOCK_OPS, OP_TYPE = 1, 4, 3


class PaddlePolicy:
    """Grades a paddle pickle: what paddle.save writes passes; a global the ordinary policy
    allows for other formats (torch rebuilders, say) is unknown here; the rest as elsewhere."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def classify(self, module: str, name: str) -> Verdict:
        full = f"{module}.{name}"
        if full in PADDLE_GLOBALS:
            return Verdict(Severity.INFO, "allowed", _WRITTEN, full)
        verdict: Verdict = self.base.classify(module, name)
        if verdict.rule is None and verdict.reason != REPOSITORY_REASON:
            return Verdict(Severity.HIGH, "unknown", _NOT_PADDLE, verdict.name or full)
        return verdict


def scan_pdparams(source: ByteSource, ctx: ScanContext) -> None:
    """A .pdparams/.pdopt pickle, walked like any pickle but graded by ``PaddlePolicy``."""
    from checks.weights import pickle_walk

    pickle_walk.scan_pickle_source(
        source, dataclasses.replace(ctx, policy=PaddlePolicy(ctx.policy))
    )


def scan_pdmodel(source: ByteSource, ctx: ScanContext) -> None:
    """A ProgramDesc: its op types listed, risky ones a finding each; unparsable is a finding."""
    wire = WireReader(
        source, max_fields=ctx.limits.max_proto_fields, max_depth=ctx.limits.max_proto_depth
    )
    ops: dict[str, int] = {}
    try:
        blocks = 0
        for block in wire.fields(0, wire.size):
            if block.number != PROGRAM_BLOCKS:
                continue
            blocks += 1
            for op in wire.message(block, "a block", 0):
                if op.number != BLOCK_OPS:
                    continue
                for f in wire.message(op, "an op", 1):
                    if f.number == OP_TYPE:
                        kind = wire.text(f, "an op type", MAX_NAME)
                        ops[kind] = ops.get(kind, 0) + 1
        if not blocks:
            raise WireError("no block: this is not a PaddlePaddle program")
    except WireError as exc:
        ctx.report(INVALID, Severity.HIGH, f"malformed PaddlePaddle program: {exc}")
        return
    except LimitExceeded as exc:
        ctx.report("limit-exceeded", Severity.HIGH, f"scan stopped at a safety bound: {exc}")
        return
    for kind in sorted(ops):
        why = RISKY_OPS.get(kind)
        if why is not None:
            ctx.report(
                RISKY_OP,
                Severity.HIGH,
                f"the program uses the {kind!r} op ({ops[kind]} in all), which {why}",
                op=kind,
            )
    names = sorted(ops)
    listed = ", ".join(names[:MAX_LISTED]) + (
        f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    )
    ctx.report(
        PROGRAM,
        Severity.INFO,
        f"a PaddlePaddle program of {sum(ops.values())} ops; types: {listed or 'none'}",
    )
