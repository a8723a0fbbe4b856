"""OpenVINO IR (.xml + .bin): XML read with DTDs and entities refused, op sets, weight extents."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext

INVALID = "openvino-invalid"
XML_DTD = "openvino-xml-dtd"
CUSTOM_OPSET = "openvino-custom-opset"
WEIGHTS = "openvino-weights"  # the .bin this model reads and how far into it (linked later)
KNOWN_OPSETS = frozenset(f"opset{n}" for n in range(1, 16))
MAX_ELEMENTS = 5_000_000
MAX_DEPTH = 256
MAX_LISTED = 20
_INT = re.compile(r"[0-9]{1,20}")


@dataclass
class _Model:
    layers: int = 0
    opsets: dict[str, set[str]] = field(default_factory=dict)  # op set -> op types
    extent: int = 0  # the end of the furthest weight the XML names
    bad: list[str] = field(default_factory=list)


def scan_openvino(source: ByteSource, ctx: ScanContext, name: str) -> str:
    """Scan an .xml that may be an IR; returns "openvino-ir", or "text" for other XML."""
    import defusedxml
    from defusedxml.ElementTree import ParseError, iterparse

    if source.size > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"XML file of {source.size} bytes")
    data = source.read_at(0, source.size)
    found = _Model()
    root = ""
    depth = elements = 0
    try:
        # forbid_dtd: any DOCTYPE (entity bombs, external entities) stops the parse at once.
        for event, element in iterparse(io.BytesIO(data), ("start", "end"), forbid_dtd=True):
            if event == "end":
                depth -= 1
                element.clear()  # done with: keeps memory flat however long the file
                continue
            depth += 1
            elements += 1
            if depth > MAX_DEPTH or elements > MAX_ELEMENTS:
                raise LimitExceeded(
                    f"XML deeper than {MAX_DEPTH} levels or over {MAX_ELEMENTS} elements"
                )
            if depth == 1:
                root = element.tag
                if root != "net":
                    return "text"
            elif element.tag == "layer":
                _layer(element.attrib, found)
            elif element.tag == "data" and "offset" in element.attrib:
                _weight(element.attrib, found)
    except defusedxml.DefusedXmlException as exc:
        ctx.report(
            XML_DTD,
            Severity.HIGH,
            f"the XML declares a DTD or entities ({type(exc).__name__}): a loader that expands "
            "them can be made to read local files (XXE) or exhaust memory; refused unparsed",
        )
        return "openvino-ir"
    except ParseError as exc:
        ctx.report(INVALID, Severity.HIGH, f"malformed OpenVINO XML: {exc}")
        return "openvino-ir"
    if root != "net":
        return "text"
    _report(found, ctx, name)
    return "openvino-ir"


def _layer(attrib: dict[str, str], found: _Model) -> None:
    found.layers += 1
    opset = attrib.get("version", "")
    found.opsets.setdefault(opset, set()).add(attrib.get("type", "?")[:200])


def _weight(attrib: dict[str, str], found: _Model) -> None:
    offset, size = attrib.get("offset", ""), attrib.get("size", "0")
    if not (_INT.fullmatch(offset.strip()) and _INT.fullmatch(size.strip())):
        found.bad.append(f"offset={offset[:40]!r} size={size[:40]!r}")
        return
    found.extent = max(found.extent, int(offset) + int(size))


def _report(found: _Model, ctx: ScanContext, name: str) -> None:
    if found.bad:
        ctx.report(
            INVALID,
            Severity.HIGH,
            f"{len(found.bad)} weights name offsets or sizes that are not byte counts (first: "
            f"{found.bad[0]}); a loader may read outside the weights file",
        )
    for opset in sorted(set(found.opsets) - KNOWN_OPSETS):
        ops = sorted(found.opsets[opset])
        listed = ", ".join(ops[:MAX_LISTED]) + (
            f" and {len(ops) - MAX_LISTED} more" if len(ops) > MAX_LISTED else ""
        )
        label = f"the op set {opset!r}" if opset else "no op set"
        ctx.report(
            CUSTOM_OPSET,
            Severity.MEDIUM,
            f"layers name {label}, not a standard opset1..opset15 ({listed}); running the "
            "model needs an extension library that the repository must supply",
            opset=opset,
        )
    weights = PurePosixPath(name).with_suffix(".bin").name
    # Only a repository file's weights can be looked up beside it (see checks.weights.links);
    # by suffix, so a cached scan stays true for a copy of the XML under another name.
    extra: dict[str, Any] = {} if ctx.trail else {"weights": ".bin", "needs_bytes": found.extent}
    ctx.report(
        WEIGHTS,
        Severity.INFO,
        f"an OpenVINO IR of {found.layers} layers; its weights are read from {weights} "
        f"({found.extent} bytes of it)",
        **extra,
    )
