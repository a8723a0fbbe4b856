"""Findings that need a file's neighbours: an OpenVINO IR's .bin, the modules auto_map names.

Run once over a whole contribution after every file is scanned, never cached with one file's
result: what they say changes when another file does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from checks.base import CheckResult
from checks.findings import Finding, Severity
from checks.weights.context import ScanContext
from checks.weights.limits import Limits

SizeOf = Callable[[str], "int | None"]
ReadFile = Callable[[str], "bytes | None"]

OPENVINO_WEIGHTS = "openvino-weights"  # checks.weights.openvino.WEIGHTS, without its import
WEIGHTS_MISSING = "openvino-weights-missing"
WEIGHTS_OVERRUN = "openvino-weights-overrun"
REMOTE_CODE = "remote-code"  # checks.weights.code.auto_map.REMOTE_CODE
REMOTE_CODE_MISSING = "remote-code-missing"
LOADER_CODE = "loader-code"  # checks.weights.code.python.LOADER_CODE
AUTO_MAP_LOADER = "trust_remote_code=True (through auto_map)"


def link_files(
    result: CheckResult,
    size_of: SizeOf,
    read_file: ReadFile | None = None,
    limits: Limits | None = None,
) -> None:
    """Add the findings that depend on other files of the contribution to ``result``."""
    as_code = {f.path for f in result.findings if f.rule == LOADER_CODE}
    weights_files: set[str] = set()
    added: list[Finding] = []
    for finding in list(result.findings):
        relative = finding.extra.get("weights") or finding.extra.get("file")
        if not isinstance(relative, str):
            continue
        target = _beside(finding.path, relative)
        ctx = ScanContext(path=finding.path, policy=None, limits=limits or Limits())
        if finding.rule == OPENVINO_WEIGHTS:
            needs = finding.extra.get("needs_bytes")
            if isinstance(needs, int):
                _weights(ctx, target, needs, size_of(target))
                weights_files.add(target)
        elif finding.rule == REMOTE_CODE:
            size = size_of(target)
            if size is None:
                ctx.report(
                    REMOTE_CODE_MISSING,
                    Severity.MEDIUM,
                    f"auto_map makes trust_remote_code=True import {target}, which the "
                    "repository does not have: loading fails, or runs a file this review "
                    "never saw if one is added later",
                    file=target,
                )
            elif target not in as_code and read_file is not None:
                # A module auto_map names but whose name is not one loaders conventionally
                # use: the Python rules have not read it yet.
                as_code.add(target)
                _scan_code(read_file, target, size, ctx.limits, added)
        added.extend(ctx.findings)
    result.findings.extend(added)
    for facts in result.files:
        if facts.path in weights_files and facts.format == "unknown":
            facts.format = "openvino-weights"


def _beside(path: str, relative: str) -> str:
    """A file next to ``path``: a module name relative to its folder, or a sibling suffix."""
    here = PurePosixPath(path)
    if relative.startswith("."):
        return here.with_suffix(relative).as_posix()
    return (here.parent / relative).as_posix()


def _weights(ctx: ScanContext, target: str, needs: int, size: int | None) -> None:
    if needs <= 0:
        return  # no constant reads the .bin: none is needed
    if size is None:
        ctx.report(
            WEIGHTS_MISSING,
            Severity.MEDIUM,
            f"the IR reads {needs} bytes of weights from {target}, which the repository "
            "does not have: the model cannot load",
            weights=target,
        )
    elif needs > size:
        ctx.report(
            WEIGHTS_OVERRUN,
            Severity.HIGH,
            f"the IR names weights up to byte {needs} of {target}, which has only {size} "
            "bytes: a loader would read past the end of the file",
            weights=target,
        )


def _scan_code(
    read_file: ReadFile, target: str, size: int, limits: Limits, into: list[Finding]
) -> None:
    from checks.io.source import BytesSource
    from checks.weights.code.python import scan_loader_code

    ctx = ScanContext(path=target, policy=None, limits=limits)
    if size > limits.max_config_bytes:
        ctx.report(
            "limit-exceeded",
            Severity.HIGH,
            f"the module auto_map names is {size} bytes, over the {limits.max_config_bytes}-byte "
            "bound; not inspected",
        )
    else:
        try:
            data = read_file(target)
        except OSError as exc:
            data = None
            ctx.report("unreadable-file", Severity.HIGH, f"cannot read the module: {exc.strerror}")
        if data is not None:
            scan_loader_code(BytesSource(data), ctx, AUTO_MAP_LOADER)
    into.extend(ctx.findings)
