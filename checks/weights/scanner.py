"""Scan one file: sniff its format, hand it to that format's parser, fail closed on surprises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from checks.findings import Finding, Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, LocalFile, SourceReadError
from checks.weights.context import ScanContext
from checks.weights.limits import Limits
from checks.weights.sniff import CODE_CAPABLE, EXPECTED_BY_SUFFIX, sniff, suffix_of

if TYPE_CHECKING:
    from checks.io.http import HttpRangeSource
    from checks.weights.context import DeferredPolicy
    from checks.weights.imports import ImportPolicy


HASH_CHUNK = 8 << 20


@dataclass
class FileScan:
    path: str
    format: str
    findings: list[Finding]
    sha256: str | None = None
    bytes_read: int = 0
    requests: int = 0  # HTTP requests a remote scan made
    full_download: bool = False  # the server ignored ranges: the whole file was transferred
    cached: bool = False  # restored from a result cache: the file was not read


def scan_path(
    file: Path,
    display: str,
    policy: ImportPolicy | DeferredPolicy,
    limits: Limits | None = None,
    *,
    want_sha256: bool = False,
) -> FileScan:
    """Scan one local file. Never raises for anything the file contains."""
    ctx = ScanContext(
        path=display, policy=policy, limits=limits or Limits(), scan_nested=scan_source
    )
    try:
        source = LocalFile(file)
    except OSError as exc:
        ctx.report("unreadable-file", Severity.HIGH, f"cannot open the file: {exc.strerror}")
        return FileScan(display, "unknown", ctx.findings)
    with source:
        fmt = scan_source(source, ctx)
        sha = _sha256(source) if want_sha256 else None
        return FileScan(display, fmt, ctx.findings, sha, source.bytes_read)


def scan_remote(
    source: HttpRangeSource,
    display: str,
    policy: ImportPolicy | DeferredPolicy,
    limits: Limits | None = None,
    *,
    want_sha256: bool = False,
    sha256: str | None = None,
) -> FileScan:
    """Scan one remote file through range requests. Never raises for the file or the network.

    ``sha256`` is the digest the platform already knows (an LFS oid); without it ``want_sha256``
    downloads the whole file to hash it.
    """
    ctx = ScanContext(
        path=display, policy=policy, limits=limits or Limits(), scan_nested=scan_source
    )
    with source:
        fmt = "unknown"
        try:
            source.open()
        except SourceReadError as exc:
            ctx.report("unreadable-file", Severity.HIGH, f"cannot fetch the file: {exc}")
            return FileScan(display, fmt, ctx.findings, sha256, source.bytes_read, source.requests)
        except LimitExceeded as exc:
            ctx.report("limit-exceeded", Severity.HIGH, f"scan stopped at a safety bound: {exc}")
            return FileScan(display, fmt, ctx.findings, sha256, source.bytes_read, source.requests)
        fmt = scan_source(source, ctx)
        if want_sha256 and sha256 is None:
            try:
                sha256 = _remote_sha256(source)
            except (SourceReadError, LimitExceeded) as exc:
                ctx.report("unreadable-file", Severity.MEDIUM, f"cannot hash the file: {exc}")
        if source.fell_back:
            ctx.report(
                "full-download",
                Severity.INFO,
                f"the server ignored range requests, so all {source.size} bytes were downloaded "
                "to scan the file",
            )
        return FileScan(
            display, fmt, ctx.findings, sha256, source.bytes_read, source.requests, source.fell_back
        )


def _remote_sha256(source: HttpRangeSource) -> str:
    import hashlib

    digest = hashlib.sha256()
    source.download_to(digest.update)
    return digest.hexdigest()


def scan_source(source: ByteSource, ctx: ScanContext) -> str:
    """Sniff and scan ``source`` (a file or an archive member); returns the format it found."""
    name = ctx.trail[-1] if ctx.trail else ctx.path
    try:
        fmt = sniff(source, name)
    except (SourceReadError, LimitExceeded) as exc:
        ctx.report("unreadable-file", Severity.HIGH, f"cannot read the file: {exc}")
        return "unknown"
    if ctx.depth > ctx.limits.max_depth:
        ctx.report(
            "limit-exceeded",
            Severity.HIGH,
            f"containers nested deeper than {ctx.limits.max_depth} levels; not inspected",
        )
        return fmt
    try:
        fmt = _dispatch(fmt, source, ctx, name)
    except SourceReadError as exc:  # the bytes went away mid-scan: unreadable, not a parser bug
        ctx.report("unreadable-file", Severity.HIGH, f"cannot read the file: {exc}")
    except LimitExceeded as exc:
        ctx.report("limit-exceeded", Severity.HIGH, f"scan stopped at a safety bound: {exc}")
    except Exception as exc:  # fail closed: a parser surprise must never read as a pass
        import logging  # only on this rare path: logging is a noticeable part of start-up

        logging.getLogger(__name__).debug("scanner error on %s", ctx.where(name), exc_info=True)
        ctx.report(
            "scanner-error",
            Severity.HIGH,
            f"the {fmt} parser could not finish ({type(exc).__name__}: {exc}); "
            "the file cannot be shown safe",
        )
    _check_name(fmt, name, ctx)
    return fmt


def _dispatch(fmt: str, source: ByteSource, ctx: ScanContext, name: str) -> str:
    # Each parser is imported only when a file needs it: a scan pays for the formats it meets,
    # and a one-file scan starts as fast as the lightest peer.
    if suffix_of(name) == ".distcp" and fmt != "empty":
        from checks.weights import dcp

        dcp.scan_distcp(source, ctx)
        return "distcp"
    if fmt == "pickle" and PurePosixPath(name).name == ".metadata":
        from checks.weights import dcp

        dcp.scan_metadata(source, ctx)
    elif fmt == "pickle" and suffix_of(name) in (".pdparams", ".pdopt"):
        from checks.weights import paddle

        paddle.scan_pdparams(source, ctx)
    elif fmt == "pickle":
        from checks.weights import pickle_walk

        pickle_walk.scan_pickle_source(source, ctx)
    elif fmt in ("zip", "tar", "7z", "gzip", "bzip2", "xz", "zlib", "lz4", "lzma", "joblib-zfile"):
        if fmt == "zip":
            from checks.weights.containers import zips

            return zips.scan_zip(source, ctx)
        if fmt == "tar":
            from checks.weights.containers import tars

            tars.scan_tar(source, ctx)
        else:
            from checks.weights.containers import streams

            if fmt == "7z":
                streams.scan_7z(source, ctx)
            else:
                streams.scan_compressed(source, ctx, fmt)
    elif fmt == "safetensors" or (fmt == "unknown" and suffix_of(name) == ".safetensors"):
        # A .safetensors file whose header does not even sniff is a broken one: say what breaks.
        from checks.weights import safetensors_header

        safetensors_header.scan_safetensors(source, ctx)
    elif fmt == "numpy":
        from checks.weights import numpy_files

        numpy_files.scan_npy(source, ctx)
    elif fmt == "gguf":
        from checks.weights import gguf

        gguf.scan_gguf(source, ctx)
    elif fmt == "hdf5":
        from checks.weights import hdf5

        hdf5.scan_hdf5(source, ctx)
    elif fmt == "onnx" or (fmt in ("unknown", "text") and suffix_of(name) == ".onnx"):
        # A .onnx file that does not even start like one is a broken one: say what breaks.
        from checks.weights import onnx

        onnx.scan_onnx(source, ctx)
    elif fmt == "paddle-program" or (fmt in ("unknown", "text") and suffix_of(name) == ".pdmodel"):
        from checks.weights import paddle

        paddle.scan_pdmodel(source, ctx)
    elif fmt == "openvino-ir":
        from checks.weights import openvino

        return openvino.scan_openvino(source, ctx, name)
    elif fmt == "msgpack" or (fmt in ("unknown", "text") and suffix_of(name) == ".msgpack"):
        from checks.weights import flax_msgpack

        flax_msgpack.scan_msgpack(source, ctx)
    elif fmt in ("saved-model", "saved-model-text", "keras-metadata"):
        from checks.weights import saved_model

        if fmt == "saved-model":
            saved_model.scan_saved_model(source, ctx)
        elif fmt == "saved-model-text":
            from checks.weights.saved_model_text import scan_saved_model_text

            scan_saved_model_text(source, ctx)
        else:
            saved_model.scan_keras_metadata(source, ctx)
    elif fmt == "text":
        from checks.weights.text_files import scan_text_file

        scan_text_file(source, ctx, name)
    return fmt


def _check_name(fmt: str, name: str, ctx: ScanContext) -> None:
    suffix = suffix_of(name)
    expected = EXPECTED_BY_SUFFIX.get(suffix)
    base = "zip" if fmt in ("pytorch-zip", "torchscript", "keras", "npz") else fmt
    if expected is None or base in expected or fmt == "empty":
        return
    promised = "/".join(sorted(expected))
    if base in CODE_CAPABLE and not (expected & CODE_CAPABLE):
        ctx.report(
            "name-mismatch",
            Severity.HIGH,
            f"named {suffix} (which promises {promised}) but the content is {fmt}: a loader "
            "that trusts the name may run code from it",
            detail=None,
        )
    else:
        ctx.report(
            "name-mismatch",
            Severity.MEDIUM,
            f"named {suffix} but the content is {fmt}; tools that trust the name will misread it",
        )


def _sha256(source: ByteSource) -> str:
    import hashlib

    digest = hashlib.sha256()
    view = source.view()
    if view is not None:
        for start in range(0, len(view), HASH_CHUNK):
            digest.update(view[start : start + HASH_CHUNK])
        return digest.hexdigest()
    offset = 0
    while chunk := source.read_at(offset, HASH_CHUNK):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()
