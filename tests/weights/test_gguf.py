"""GGUF parsing: hand-assembled files, valid and broken, in both byte orders."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from checks.findings import Severity
from checks.io.source import BytesSource
from checks.weights.context import ScanContext
from checks.weights.gguf import scan_gguf
from checks.weights.limits import Limits

U32, STR, ARR, U64 = 4, 8, 9, 10
F32, Q4_0 = 0, 2


@dataclass
class Gguf:
    """Assembles a GGUF file the way a writer lays it out."""

    version: int = 3
    endian: str = "<"
    kv: list[tuple[str, int, Any]] = field(default_factory=list)
    tensors: list[tuple[str, list[int], int, int]] = field(default_factory=list)
    data: bytes = b""
    alignment: int = 32

    def _p(self, code: str, value: Any) -> bytes:
        return struct.pack(self.endian + code, value)

    def _n(self, value: int) -> bytes:
        return self._p("Q" if self.version >= 2 else "I", value)

    def _s(self, text: str | bytes) -> bytes:
        raw = text.encode() if isinstance(text, str) else text
        return self._n(len(raw)) + raw

    def _value(self, vtype: int, value: Any) -> bytes:
        if vtype == STR:
            return self._s(value)
        if vtype == ARR:
            item_type, items = value
            body = b"".join(self._value(item_type, item) for item in items)
            return self._p("I", item_type) + self._n(len(items)) + body
        if vtype not in (U32, U64, 7, 6):
            return b""  # a type no reader knows: the file carries no value for it
        return self._p({U32: "I", U64: "Q", 7: "?", 6: "f"}[vtype], value)

    def build(self) -> bytes:
        out = b"GGUF" + self._p("I", self.version)
        out += self._n(len(self.tensors)) + self._n(len(self.kv))
        for key, vtype, value in self.kv:
            out += self._s(key) + self._p("I", vtype) + self._value(vtype, value)
        for name, dims, ggml_type, offset in self.tensors:
            out += self._s(name) + self._p("I", len(dims))
            out += b"".join(self._n(d) for d in dims)
            out += self._p("I", ggml_type) + self._p("Q", offset)
        out += b"\0" * (-len(out) % self.alignment)
        return out + self.data


def scan(data: bytes, limits: Limits | None = None) -> ScanContext:
    ctx = ScanContext(path="m.gguf", policy=None, limits=limits or Limits())
    scan_gguf(BytesSource(data), ctx)
    return ctx


def invalid(ctx: ScanContext) -> str:
    assert ctx.findings and all(f.rule == "gguf-invalid" for f in ctx.findings)
    assert max(f.severity for f in ctx.findings) is Severity.HIGH
    return " | ".join(f.message for f in ctx.findings)


def model(**changes: Any) -> Gguf:
    base = Gguf(
        kv=[
            ("general.architecture", STR, "llama"),
            ("tokenizer.ggml.tokens", ARR, (STR, ["<s>", "</s>", "hi"])),
            ("tokenizer.ggml.scores", ARR, (6, [0.0, 0.5, 1.0])),
            ("llama.context_length", U64, 2048),
        ],
        tensors=[("tok.weight", [4, 2], F32, 0), ("blk.q", [64, 1], Q4_0, 32)],
        data=b"\0" * 72,
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_valid_file_passes_in_every_version_and_byte_order() -> None:
    for version in (1, 2, 3):
        for endian in "<>":
            assert scan(model(version=version, endian=endian).build()).findings == [], (
                version,
                endian,
            )


def test_custom_alignment_is_honoured() -> None:
    gguf = model(alignment=64, tensors=[("a", [4], F32, 0), ("b", [4], F32, 64)])
    gguf.kv = [*gguf.kv, ("general.alignment", U32, 64)]
    gguf.data = b"\0" * 80
    assert scan(gguf.build()).findings == []
    gguf.kv[-1] = ("general.alignment", U32, 48)
    assert "power of two" in invalid(scan(gguf.build()))


def test_bad_magic_and_version() -> None:
    assert "magic" in invalid(scan(b"GGUX\3\0\0\0"))
    assert "version" in invalid(scan(model(version=7).build()))


def test_counts_over_limit_stop_the_scan() -> None:
    ctx = scan(model().build(), Limits(max_gguf_entries=1))
    assert [(f.rule, f.severity) for f in ctx.findings] == [("limit-exceeded", Severity.HIGH)]


def test_counts_past_end_of_file() -> None:
    data = b"GGUF" + struct.pack("<IQQ", 3, 10**6, 0)
    assert "more than the file can hold" in invalid(scan(data))


def test_truncated_metadata() -> None:
    data = model().build()
    assert "ends inside" in invalid(scan(data[:150]))


def test_string_length_past_end() -> None:
    gguf = model()
    data = gguf.build().replace(
        struct.pack("<Q", 5) + b"llama", struct.pack("<Q", 10**12) + b"llama"
    )
    assert "ends inside" in invalid(scan(data))


def test_unknown_value_type_and_nested_arrays() -> None:
    assert "unknown value type" in invalid(scan(model(kv=[("k", 77, None)]).build()))
    deep: Any = (U32, [1])
    for _ in range(6):
        deep = (ARR, [deep])
    assert "deeper" in invalid(scan(model(kv=[("k", ARR, deep)]).build()))
    shallow = (ARR, [(U32, [1, 2]), (U32, [3])])
    assert scan(model(kv=[("k", ARR, shallow)]).build()).findings == []


def test_array_claiming_more_items_than_the_file() -> None:
    gguf = model(kv=[("k", ARR, (STR, ["a"]))])
    data = gguf.build().replace(
        struct.pack("<Q", 1) + struct.pack("<Q", 1) + b"a",
        struct.pack("<Q", 10**9) + struct.pack("<Q", 1) + b"a",
    )
    assert "more items" in invalid(scan(data))


def test_duplicate_key_and_duplicate_tensor() -> None:
    twice = [("a", U32, 1), ("a", U32, 2)]
    assert "twice" in invalid(scan(model(kv=twice).build()))
    dup = [("t", [4], F32, 0), ("t", [4], F32, 32)]
    assert "twice" in invalid(scan(model(tensors=dup).build()))


def test_tensor_rank_dims_and_type() -> None:
    assert "dimensions" in invalid(scan(model(tensors=[("t", [1] * 5, F32, 0)]).build()))
    assert "overflows" in invalid(scan(model(tensors=[("t", [2**40, 2**40], F32, 0)]).build()))
    assert "blocks" in invalid(scan(model(tensors=[("t", [33], Q4_0, 0)]).build()))
    unknown = scan(model(tensors=[("t", [4], 99, 0)]).build())
    assert [f.severity for f in unknown.findings] == [Severity.MEDIUM]


def test_tensor_offsets() -> None:
    assert "aligned" in invalid(scan(model(tensors=[("t", [4], F32, 8)]).build()))
    assert "runs past" in invalid(scan(model(tensors=[("t", [64], F32, 0)]).build()))
    overlap = [("a", [16], F32, 0), ("b", [4], F32, 32)]
    assert "overlaps" in invalid(scan(model(tensors=overlap).build()))


def test_chat_template_is_checked() -> None:
    clean = "{% for m in messages %}{{ m['role'] }}{% endfor %}"
    evil = "{{ lipsum.__globals__['os'].popen('id').read() }}"
    kv = [("tokenizer.chat_template", STR, clean), ("tokenizer.chat_template.tool_use", STR, evil)]
    ctx = scan(model(kv=kv).build())
    assert [f.rule for f in ctx.findings] == ["chat-template-escape"]
    assert ctx.findings[0].severity is Severity.CRITICAL
    assert "tokenizer.chat_template.tool_use" in (ctx.findings[0].location or "")


def test_never_reads_tensor_data() -> None:
    data = model(data=b"\0" * 72 + b"\0" * (8 << 20)).build()
    source = BytesSource(data)
    ctx = ScanContext(path="m.gguf", policy=None)
    scan_gguf(source, ctx)
    assert source.bytes_read < 2 << 20


@settings(max_examples=150, deadline=400)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    scan(b"GGUF" + data)


@settings(max_examples=200, deadline=400)
@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=8))
def test_mutated_file_never_raises(edits: list[tuple[int, int]]) -> None:
    data = bytearray(model().build())
    for position, value in edits:
        data[position % len(data)] = value
    scan(bytes(data))
