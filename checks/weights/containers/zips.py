"""Zip containers (PyTorch, TorchScript, Keras, npz): member by member, as loaders read them."""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, BytesSource, SliceSource
from checks.weights import zipread
from checks.weights.containers.common import (
    PLAIN_FORMATS,
    SMALL_MEMBER,
    TORCH_KINDS,
    check_member_path,
    guarded,
    report_limit,
    report_malformed,
    scan_nested,
    scan_pickle,
    shared_budget,
)
from checks.weights.context import DecompressionBudget, ScanContext
from checks.weights.sniff import CODE_CAPABLE, HEAD_BYTES, sniff_bytes

# ---------------------------------------------------------------- zip


@dataclass(frozen=True)
class ZipLayout:
    """What a zip is for, from its member names: pytorch-zip torchscript torchserve keras npz
    zip."""

    kind: str
    folder: str = ""


def classify_zip(names: list[str]) -> ZipLayout:
    if not names:
        return ZipLayout("zip")
    # torch takes the archive folder from the first member's name, whatever it is.
    folder = names[0].split("/", 1)[0] if "/" in names[0] else ""
    present = set(names)
    if "MAR-INF/MANIFEST.json" in present:
        return ZipLayout("torchserve")
    if folder:
        code = any(n.startswith(f"{folder}/code/") for n in names)
        if f"{folder}/constants.pkl" in present or code:
            return ZipLayout("torchscript", folder)
        if f"{folder}/data.pkl" in present:
            return ZipLayout("pytorch-zip", folder)
    if {"config.json", "metadata.json"} <= present:
        return ZipLayout("keras")
    files = [n for n in names if not n.endswith("/")]
    if files and all(n.endswith(".npy") for n in files):
        return ZipLayout("npz")
    return ZipLayout("zip")


def scan_zip(source: ByteSource, ctx: ScanContext) -> str:
    """Scan every member that can run code on load; return the refined format."""
    try:
        directory = zipread.read_directory(
            source,
            max_entries=ctx.limits.max_entries,
            max_directory_bytes=ctx.limits.max_header_bytes,
        )
    except zipread.ZipFormatError as exc:
        report_malformed(ctx, f"zip structure is broken ({exc})")
        return "zip"
    except LimitExceeded as exc:
        report_limit(ctx, str(exc))
        return "zip"
    for note in directory.anomalies:
        ctx.report("zip-inconsistent", Severity.MEDIUM, f"zip readers may disagree: {note}")
    _report_duplicates(directory.entries, ctx)
    layout = classify_zip([e.name for e in directory.entries])
    with shared_budget(ctx) as budget:
        scan = _ZipScan(source, ctx, directory, budget, layout)
        scan.run()
    if layout.kind == "torchscript":
        from checks.weights.torchscript.program import report_program

        guarded(ctx, "TorchScript", lambda: report_program(ctx, scan.code, scan.extra))
    elif layout.kind == "torchserve":
        from checks.weights.serving.torchserve import MANIFEST, report_mar

        manifest = scan.code.pop(MANIFEST, None)
        guarded(ctx, "TorchServe", lambda: report_mar(ctx, manifest, scan.code))
    return layout.kind


def _report_duplicates(entries: list[zipread.ZipEntry], ctx: ScanContext) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            ctx.report(
                "zip-inconsistent",
                Severity.MEDIUM,
                f"member name {entry.name!r} appears more than once; readers pick different copies",
            )
        seen.add(entry.name)


class _ZipScan:
    """One zip's member-by-member scan."""

    def __init__(
        self,
        source: ByteSource,
        ctx: ScanContext,
        directory: zipread.ZipDirectory,
        budget: DecompressionBudget,
        layout: ZipLayout,
    ) -> None:
        self.source = source
        self.ctx = ctx
        self.directory = directory
        self.budget = budget
        self.layout = layout
        self.skipped = 0
        self.code: dict[str, bytes] = {}  # code/ (TorchScript) or .py and manifest (TorchServe)
        self.extra: list[str] = []  # its extra/ files

    def run(self) -> None:
        for entry in self.directory.entries:
            if self.budget.spent:
                report_limit(
                    self.ctx, "the decompression budget is spent; later members not inspected"
                )
                return
            if entry.is_dir or self._is_storage(entry.name):
                continue
            role = self._role(entry.name)
            try:
                self._member(entry, role)
            except LimitExceeded as exc:
                report_limit(self.ctx.nested(entry.name), str(exc))
        if self.skipped:
            self.ctx.report(
                "skipped-members",
                Severity.INFO,
                f"{self.skipped} large members hold plain data and were not read",
            )

    def _is_storage(self, name: str) -> bool:
        # torch reads data/<n> as raw tensor bytes and never unpickles them.
        if self.layout.kind not in TORCH_KINDS:
            return False
        prefix = f"{self.layout.folder}/data/"
        return name.startswith(prefix) and name[len(prefix) :].isdigit()

    def _role(self, name: str) -> str:
        if self.layout.kind == "torchscript":
            folder = self.layout.folder
            if name.startswith(f"{folder}/extra/"):
                self.extra.append(name)  # bytes handed to the caller: graded as files of their own
                return "any"
            if name.startswith(f"{folder}/code/") and name.endswith(".py"):
                return "torchscript-code"
            if name.endswith((".pkl", ".debug_pkl")):
                return "torchscript-pickle"  # torch.jit.load unpickles these, debug_pkl too
        if self.layout.kind == "torchserve" and (
            name == "MAR-INF/MANIFEST.json" or name.endswith(".py")
        ):
            return "collect"  # read for the manifest's handler and the code TorchServe imports
        if self.layout.kind in TORCH_KINDS and name.endswith(".pkl"):
            return "pickle"  # torch unpickles these whatever their bytes look like
        if self.layout.kind == "keras" and name == "config.json":
            return "keras-config"
        return "any"

    def _chunks(self, entry: zipread.ZipEntry, local: zipread.LocalHeader) -> Iterator[bytes]:
        return zipread.iter_member(
            self.source,
            entry,
            local.data_offset,
            max_bytes=self.ctx.limits.max_member_bytes,
            max_ratio=self.ctx.limits.max_compression_ratio,
            charge=self.budget.charge,
        )

    def _member(self, entry: zipread.ZipEntry, role: str) -> None:
        ctx = self.ctx.nested(entry.name)
        check_member_path(entry.name, ctx)
        local = self._local_header(entry, ctx)
        if local is None:
            return
        opaque = (entry.flags | local.flags) & zipread.OPAQUE_FLAGS
        if entry.method not in zipread.SUPPORTED_METHODS and not opaque:
            ctx.report(
                "unsupported-compression",
                Severity.HIGH,
                f"compression method {entry.method} cannot be decoded; the member cannot be "
                "inspected",
            )
            return
        try:
            head = zipread.read_head(self._chunks(entry, local), HEAD_BYTES)
        except zipread.MemberDataError as exc:
            if opaque:
                _encrypted(ctx, opaque)
            else:
                report_malformed(ctx, f"member data cannot be decoded ({exc})")
            return
        fmt = sniff_bytes(head, entry.size, entry.name)
        if opaque and not _opaque_but_readable(ctx, head, fmt, opaque):
            return
        if role == "any" and self._skippable(entry, fmt):
            self.skipped += 1
            return
        self._scan_content(entry, local, fmt, role, ctx)

    def _local_header(
        self, entry: zipread.ZipEntry, ctx: ScanContext
    ) -> zipread.LocalHeader | None:
        try:
            local = zipread.read_local_header(self.source, entry, self.directory.shift)
        except zipread.ZipFormatError as exc:
            report_malformed(ctx, str(exc))
            return None
        if local.raw_name != entry.raw_name:
            ctx.report(
                "zip-name-mismatch",
                Severity.HIGH,
                f"the member's own header names it {zipread.decode_name(local.raw_name, 0)!r} "
                f"but the directory says {entry.name!r}: a scanner-evasion trick",
            )
        if local.method != entry.method:
            ctx.report(
                "zip-inconsistent",
                Severity.MEDIUM,
                f"local header says compression {local.method}, directory says {entry.method}",
            )
        return local

    def _skippable(self, entry: zipread.ZipEntry, fmt: str) -> bool:
        return (
            entry.size > SMALL_MEMBER
            and fmt in PLAIN_FORMATS
            and PurePosixPath(entry.name).name != "tokenizer_config.json"
        )

    def _scan_content(
        self,
        entry: zipread.ZipEntry,
        local: zipread.LocalHeader,
        fmt: str,
        role: str,
        ctx: ScanContext,
    ) -> None:
        if role == "keras-config":
            self._keras_config(entry, local, ctx)
            return
        if role in ("torchscript-code", "collect"):
            self.code[entry.name] = self._read_whole(entry, local, ctx, ctx.limits.max_config_bytes)
            return
        if role == "torchscript-pickle":
            from checks.weights.torchscript.policy import TorchScriptPolicy

            whole = BytesSource(self._read_whole(entry, local, ctx))
            scan_pickle(whole, dataclasses.replace(ctx, policy=TorchScriptPolicy(ctx.policy)))
            return
        stream: zipread.StreamSource | None = None
        if role == "pickle" or fmt == "pickle" or entry.size <= SMALL_MEMBER:
            source: ByteSource = BytesSource(self._read_whole(entry, local, ctx))
        elif entry.method == zipread.STORED:
            source = SliceSource(self.source, local.data_offset, entry.compressed_size)
        else:  # decoded only as far as the member's parser reads
            stream = zipread.StreamSource(self._chunks(entry, local), entry.size)
            source = stream
        if role == "pickle" and fmt != "pickle":
            scan_pickle(source, ctx)
        else:
            scan_nested(source, ctx)
        if stream is not None and stream.error:
            report_malformed(ctx, f"member data cannot be decoded ({stream.error})")

    def _read_whole(
        self,
        entry: zipread.ZipEntry,
        local: zipread.LocalHeader,
        ctx: ScanContext,
        max_bytes: int | None = None,
    ) -> bytes:
        """The member's bytes; what decoded before an error is kept (and scanned)."""
        buf = bytearray()
        chunks = zipread.iter_member(
            self.source,
            entry,
            local.data_offset,
            max_bytes=max_bytes or self.ctx.limits.max_member_bytes,
            max_ratio=self.ctx.limits.max_compression_ratio,
            charge=self.budget.charge,
        )
        try:
            for chunk in chunks:
                buf += chunk
        except zipread.MemberDataError as exc:
            report_malformed(ctx, f"member data cannot be decoded ({exc}); scanned what decoded")
            return bytes(buf)
        _check_whole(entry, buf, ctx)
        return bytes(buf)

    def _keras_config(
        self, entry: zipread.ZipEntry, local: zipread.LocalHeader, ctx: ScanContext
    ) -> None:
        from checks.weights import keras

        data = self._read_whole(entry, local, ctx, self.ctx.limits.max_config_bytes)
        guarded(ctx, "Keras config", lambda: keras.scan_keras_config(data, ctx))


def _check_whole(entry: zipread.ZipEntry, data: bytearray, ctx: ScanContext) -> None:
    if zlib.crc32(data) != entry.crc:
        ctx.report(
            "zip-crc-mismatch",
            Severity.MEDIUM,
            "the member's CRC does not match its data; torch loads it anyway and some "
            "scanners skip it",
        )
    if len(data) != entry.size:
        ctx.report(
            "zip-inconsistent",
            Severity.MEDIUM,
            f"the directory says {entry.size} bytes but the member holds {len(data)}",
        )


def _encrypted(ctx: ScanContext, flags: int) -> None:
    ctx.report(
        "encrypted-entry",
        Severity.MEDIUM,
        f"member is encrypted or patched (flags {flags:#x}) and cannot be inspected",
    )


def _opaque_but_readable(ctx: ScanContext, head: bytes, fmt: str, flags: int) -> bool:
    """A member flagged encrypted/patched whose bytes still read as code: scan it, loudly."""
    if not _looks_loadable(head, fmt):
        _encrypted(ctx, flags)
        return False
    ctx.report(
        "zip-flag-evasion",
        Severity.HIGH,
        f"member is flagged encrypted or patched (flags {flags:#x}) but holds a readable "
        f"{fmt}: readers that ignore the flag load it, scanners that honour it skip it",
    )
    return True


def _looks_loadable(head: bytes, fmt: str) -> bool:
    # Ciphertext sniffs as protocol-0 pickle about one time in ten; demand a clearer opening.
    if fmt != "pickle":
        return fmt in CODE_CAPABLE
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    return re.match(rb"c[\w.]+\n\w+\n|\((?:l|d|t|dp|lp)", head) is not None
