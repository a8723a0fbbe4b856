"""The pickle walker finds every import a hostile pickle hides, and passes real checkpoints."""

from __future__ import annotations

import collections
import io
import pickle
import struct
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.findings import Finding, Severity
from checks.io.source import BytesSource, LocalFile
from checks.weights.context import ScanContext
from checks.weights.imports import ImportPolicy
from checks.weights.limits import Limits
from checks.weights.pickle_walk import scan_pickle_bytes, scan_pickle_source
from tests.weights.pickles import (
    EMPTY_TUPLE,
    MARK,
    MEMOIZE,
    NONE,
    OS_SYSTEM_V0,
    OS_SYSTEM_V4,
    POP,
    PROTO2,
    REDUCE,
    STACK_GLOBAL,
    STOP,
    TUPLE1,
    binint1,
    binstring,
    binunicode,
    binunicode8,
    call,
    frame,
    global_op,
    proto4,
    short_binbytes,
    short_binstring,
    short_binunicode,
    stack_global,
    string0,
    unicode0,
)

POLICY = ImportPolicy.default()


def scan(data: bytes, limits: Limits | None = None) -> list[Finding]:
    ctx = ScanContext(path="x.pkl", policy=POLICY, limits=limits or Limits())
    scan_pickle_bytes(data, ctx)
    return ctx.findings


def worst(findings: list[Finding]) -> Severity:
    return max((f.severity for f in findings), default=Severity.INFO)


def imports(findings: list[Finding], rule: str = "unsafe-import") -> set[str]:
    return {f.extra["import"] for f in findings if f.rule == rule}


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


class Evil:
    """Pickles as a call to os.system; dumping it never runs anything."""

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, ("echo pwned",))


# -- imports in every spelling ------------------------------------------------------------------


def test_global_reduce_is_critical_and_names_the_primitive() -> None:
    findings = scan(OS_SYSTEM_V0)
    (finding,) = [f for f in findings if f.rule == "unsafe-import"]
    assert finding.severity is Severity.CRITICAL
    assert finding.message == "os.system: runs a shell command (process execution)"
    assert finding.extra == {"import": "os.system", "count": 1}
    assert finding.location == "byte 0"


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_dumped_payload_is_found_at_every_protocol(protocol: int) -> None:
    findings = scan(pickle.dumps(Evil(), protocol=protocol))
    assert {"posix.system", "os.system"} & imports(findings)


@pytest.mark.parametrize(
    "encode",
    [
        short_binunicode,
        binunicode,
        binunicode8,
        unicode0,
        string0,
        binstring,
        short_binstring,
    ],
)
def test_stack_global_operands_from_any_string_opcode(encode: Any) -> None:
    data = proto4(encode("os") + encode("system") + STACK_GLOBAL + unicode0("id") + TUPLE1 + REDUCE)
    assert imports(scan(data)) == {"os.system"}


@pytest.mark.parametrize(
    ("put", "get"),
    [
        (lambda i: b"p%d\n" % i, lambda i: b"g%d\n" % i),
        (lambda i: b"q" + bytes([i]), lambda i: b"h" + bytes([i])),
        (lambda i: b"r" + struct.pack("<I", i), lambda i: b"j" + struct.pack("<I", i)),
        (lambda i: MEMOIZE, lambda i: b"h" + bytes([i])),
    ],
    ids=["PUT/GET", "BINPUT/BINGET", "LONG_BINPUT/LONG_BINGET", "MEMOIZE/BINGET"],
)
def test_operands_routed_through_the_memo(put: Any, get: Any) -> None:
    # decoys sit where a naive "two strings before STACK_GLOBAL" scan would look
    body = short_binunicode("os") + put(0) + POP + short_binunicode("system") + put(1) + POP
    body += short_binunicode("torch") + short_binunicode("LongStorage") + POP + POP
    body += get(0) + get(1) + STACK_GLOBAL + unicode0("id") + TUPLE1 + REDUCE
    assert imports(scan(proto4(body))) == {"os.system"}


def test_inst_opcode() -> None:
    data = MARK + unicode0("id") + b"ios\nsystem\n" + STOP
    assert imports(scan(data)) == {"os.system"}


def test_obj_then_pop_hides_no_call() -> None:
    # smtplib.SMTP(...) via OBJ, its result thrown away with POP (GHSA-mxhj-88fx-4pcv)
    data = MARK + global_op("smtplib", "SMTP") + unicode0("mail.invalid") + b"o" + POP + NONE + STOP
    assert imports(scan(data)) == {"smtplib.SMTP"}


@pytest.mark.parametrize("opcode", [b"\x81", b"\x92"], ids=["NEWOBJ", "NEWOBJ_EX"])
def test_newobj_of_an_unknown_class(opcode: bytes) -> None:
    extra = b"}" if opcode == b"\x92" else b""
    data = proto4(stack_global("somepkg.models", "Model") + EMPTY_TUPLE + extra + opcode)
    findings = scan(data)
    assert imports(findings, "unknown-import") == {"somepkg.models.Model"}
    assert worst(findings) is Severity.HIGH


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("pathlib", "os.system"),
        ("torch.serialization", "os.system"),
        ("builtins", "print.__self__.__dict__.get"),
        ("collections", "OrderedDict.__init__.__globals__"),
    ],
)
def test_dotted_names_reach_primitives(module: str, name: str) -> None:
    findings = scan(proto4(call(stack_global(module, name))))
    assert worst(findings) is Severity.CRITICAL


def test_dotted_name_inside_an_allowed_module_is_not_allowed() -> None:
    findings = scan(proto4(stack_global("collections", "OrderedDict.fromkeys") + POP + NONE))
    assert imports(findings, "unknown-import") == {"collections.OrderedDict.fromkeys"}


@pytest.mark.parametrize("ext", [b"\x82\x01", b"\x83\x01\x02", b"\x84\x01\x00\x00\x01"])
def test_extension_registry_codes_fail_closed(ext: bytes) -> None:
    findings = scan(PROTO2 + ext + EMPTY_TUPLE + REDUCE + STOP)
    assert rules(findings) == {"extension-registry"}
    assert worst(findings) is Severity.HIGH


def test_python2_names_are_mapped() -> None:
    assert imports(scan(global_op("__builtin__", "eval") + POP + NONE + STOP)) == {
        "__builtin__.eval"
    }
    reduce_ = scan(global_op("__builtin__", "reduce") + POP + NONE + STOP)
    assert worst(reduce_) is Severity.CRITICAL and "functools.reduce" in reduce_[0].message
    # how torch.save (protocol 2) spells builtins.set: allowed
    assert scan(global_op("__builtin__", "set") + POP + NONE + STOP) == []


def test_one_finding_per_distinct_import_with_a_count() -> None:
    body = b"".join(call(global_op("os", "system")) + POP for _ in range(5000))
    findings = scan(PROTO2 + body + NONE + STOP)
    assert len(findings) == 1
    assert findings[0].extra["count"] == 5000


def test_build_on_a_global_rewrites_it() -> None:
    # sets attributes on the class itself (the numpy.prod.a = 'os' trick)
    data = PROTO2 + global_op("numpy", "prod") + b"}" + b"b" + STOP
    assert "global-mutation" in rules(scan(data))


# -- evasions that break naive walkers -------------------------------------------------------


def test_stacked_pickles_are_all_walked() -> None:
    benign = pickle.dumps(["a", "b"], protocol=2)
    findings = scan(benign + OS_SYSTEM_V4)
    (finding,) = [f for f in findings if f.rule == "unsafe-import"]
    assert finding.location is not None and finding.location.startswith("pickle 2, byte")


def test_stream_broken_after_the_payload_still_reports_it() -> None:
    data = PROTO2 + call(global_op("builtins", "exec"), "import os") + b"\xff\xff"
    findings = scan(data)
    assert imports(findings) == {"builtins.exec"}
    assert "malformed-pickle" in rules(findings)
    assert worst(findings) is Severity.CRITICAL


def test_malformed_pickle_alone_does_not_fail() -> None:
    findings = scan(b"cmod\n\xf8\n")  # picklescan's not_a_pickle.bin: pickle cannot load it
    assert rules(findings) == {"malformed-pickle"}
    assert worst(findings) is Severity.MEDIUM


def test_missing_memo_key_after_the_payload() -> None:
    data = proto4(call(stack_global("os", "system")) + b"h\x09h\x0a" + STACK_GLOBAL)
    findings = scan(data[:-1])
    assert imports(findings) == {"os.system"}
    assert "malformed-pickle" in rules(findings)


def test_stack_global_of_a_memoised_int_is_unresolved() -> None:
    body = binint1(7) + b"q\x00" + POP + b"h\x00" + short_binunicode("system") + STACK_GLOBAL
    findings = scan(proto4(body))
    assert rules(findings) == {"unresolved-import"}
    assert worst(findings) is Severity.HIGH


def test_stack_global_fed_by_a_call_result_is_unresolved() -> None:
    inner = call(stack_global("collections", "OrderedDict"))
    findings = scan(proto4(inner + short_binunicode("system") + STACK_GLOBAL))
    assert "unresolved-import" in rules(findings)


def test_stack_global_of_bytes_is_graded_and_unresolved() -> None:
    data = proto4(short_binbytes(b"os") + short_binbytes(b"system") + STACK_GLOBAL)
    findings = scan(data)
    assert imports(findings) == {"os.system"}
    assert "unresolved-import" in rules(findings)


def frame_differential(hidden: bytes) -> bytes:
    """CPython issue 154848: FRAME says 2 bytes, the BINBYTES inside claims 0x107."""
    data = b"\x80\x05" + NONE + MARK + frame(2) + b"B" + struct.pack("<I", 0x107)
    return data + b"\x00\x00" + (hidden + MARK).ljust(256 + 5, NONE) + b"1" + STOP


def test_frame_differential_payload_is_caught() -> None:
    hidden = global_op("os", "system") + unicode0("id") + TUPLE1 + REDUCE
    data = frame_differential(hidden)
    assert b"os\nsystem" in data  # pickletools shows it only as BINBYTES content
    findings = scan(data)
    assert "frame-mismatch" in rules(findings)
    assert imports(findings) == {"os.system"}


def test_aligned_frames_of_real_pickles_pass() -> None:
    data = pickle.dumps({"k": list(range(20_000)), "s": "x" * 70_000}, protocol=5)
    assert scan(data) == []


@pytest.mark.parametrize("outer", [4, 11], ids=["header-straddles", "frame-inside-frame"])
def test_new_frame_before_the_old_one_ends_is_flagged(outer: int) -> None:
    data = b"\x80\x04" + frame(outer) + NONE + frame(1) + POP + NONE + STOP
    assert "frame-mismatch" in rules(scan(data))


def test_trailing_junk_after_a_complete_pickle_is_low() -> None:
    findings = scan(pickle.dumps([1, 2]) + b"\x00garbage")
    assert rules(findings) == {"trailing-data"}
    assert worst(findings) is Severity.LOW


def test_returns_the_offset_past_the_last_complete_stream() -> None:
    first = pickle.dumps(1)
    ctx = ScanContext(path="x", policy=POLICY)
    assert scan_pickle_bytes(first + first + b"\x00", ctx) == 2 * len(first)
    assert scan_pickle_bytes(b"xx" + first, ctx, start=2, max_streams=1) == 2 + len(first)


# -- torch legacy format ----------------------------------------------------------------------


def torch_legacy(tmp_path: Path, obj: object) -> Path:
    torch = pytest.importorskip("torch")
    path = tmp_path / "legacy.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    return path


def scan_file(path: Path) -> list[Finding]:
    ctx = ScanContext(path=path.name, policy=POLICY)
    with LocalFile(path) as source:
        scan_pickle_source(source, ctx)
    return ctx.findings


def test_legacy_torch_walks_five_pickles_and_stops(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = torch_legacy(tmp_path, {"w": torch.zeros(256, 1024)})  # 1 MiB of raw tensor bytes
    with path.open("ab") as out:  # torch.load never unpickles past the storages
        out.write(OS_SYSTEM_V4)
    assert scan_file(path) == []


def test_legacy_torch_payload_in_the_main_pickle(tmp_path: Path) -> None:
    path = torch_legacy(tmp_path, {"w": Evil()})
    assert worst(scan_file(path)) is Severity.CRITICAL


# -- joblib -------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_joblib_arrays_are_skipped_to_reach_the_payload(tmp_path: Path, protocol: int) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    path = tmp_path / "model.joblib"
    joblib.dump([np.arange(1000.0), np.ones((7, 3), dtype="<i2"), Evil()], path, protocol=protocol)
    findings = scan_file(path)
    assert {"posix.system", "os.system"} & imports(findings)
    assert "unparsed-data" not in rules(findings)


def test_joblib_object_arrays_are_walked_inline(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    path = tmp_path / "obj.joblib"
    joblib.dump([np.array([1, "a", None], dtype=object), np.zeros(3), Evil()], path)
    assert {"posix.system", "os.system"} & imports(scan_file(path))


def test_benign_joblib_file_passes(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    path = tmp_path / "arrays.joblib"
    joblib.dump({"a": np.arange(10), "b": np.zeros((3, 3), dtype="U5"), "n": 3}, path)
    assert worst(scan_file(path)) <= Severity.MEDIUM


def test_joblib_array_of_unknown_length_fails_closed() -> None:
    wrapper = stack_global("joblib.numpy_pickle", "NumpyArrayWrapper") + EMPTY_TUPLE + b"\x81"
    state = b"}" + MARK + short_binunicode("shape") + NONE + b"u"
    findings = scan(proto4(wrapper + state + b"b"))
    assert "unparsed-data" in rules(findings)
    assert worst(findings) is Severity.HIGH


# -- bounds -------------------------------------------------------------------------------------


def test_opcode_bound() -> None:
    data = PROTO2 + NONE + (b"2" + POP) * 1000 + STOP
    findings = scan(data, Limits(max_opcodes=100))
    assert rules(findings) == {"limit-exceeded"}


def test_stack_bound() -> None:
    findings = scan(PROTO2 + NONE * 50_000 + STOP, Limits(max_stack_depth=10_000))
    assert rules(findings) == {"limit-exceeded"}


def test_memo_bound() -> None:
    body = NONE + b"".join(b"r" + struct.pack("<I", i) for i in range(50_000))
    findings = scan(PROTO2 + body + STOP, Limits(max_memo=10_000))
    assert rules(findings) == {"limit-exceeded"}


def test_billion_laughs_stays_cheap() -> None:
    # each level is a tuple of ten copies of the one below: 10**200 leaves if expanded
    body = short_binunicode("lol") + b"q\x00"
    for level in range(1, 200):
        body += (
            MARK + b"h" + bytes([(level - 1) % 256]) + b"2" * 9 + b"t" + b"q" + bytes([level % 256])
        )
    started = time.perf_counter()
    assert scan(proto4(body)) == []
    assert time.perf_counter() - started < 1.0


# -- real checkpoints ---------------------------------------------------------------------------


def data_pkl(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith("data.pkl")]
        return archive.read(name)


def test_real_torch_checkpoints_pass(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    optimizer = torch.optim.Adam(model.parameters())
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    with warnings.catch_warnings():  # quantized tensors are deprecated, still found in the wild
        warnings.simplefilter("ignore", UserWarning)
        qint8 = torch.quantize_per_tensor(torch.rand(4), 0.1, 0, torch.qint8)
        per_channel = torch.quantize_per_channel(
            torch.rand(2, 3), torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.quint8
        )
    state = {
        "fp32": torch.zeros(3),
        "bf16": torch.zeros(3, dtype=torch.bfloat16),
        "fp16": torch.zeros(3, dtype=torch.float16),
        "int8": torch.zeros(3, dtype=torch.int8),
        "qint8": qint8,
        "per_channel": per_channel,
        "param": torch.nn.Parameter(torch.zeros(2)),
        "nested": collections.OrderedDict(a=collections.OrderedDict(b=torch.ones(1))),
        "sparse": torch.zeros(3, 3).to_sparse(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "misc": {
            "set": {1},
            "frozen": frozenset([2]),
            "complex": 1j,
            "bytes": b"x",
            "range": range(3),
        },
        "size": torch.Size([1, 2]),
        "device": torch.device("cpu"),
    }
    path = tmp_path / "ckpt.pt"
    torch.save(state, path)
    assert scan(data_pkl(path)) == []
    legacy = torch_legacy(tmp_path, state)
    assert scan_file(legacy) == []


def test_full_module_pickle_warns(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), path)
    findings = scan(data_pkl(path))
    assert worst(findings) is Severity.MEDIUM
    assert "weights_only=False" in findings[0].message


def test_training_args_warn(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("accelerate")
    transformers = pytest.importorskip("transformers")
    path = tmp_path / "training_args.bin"
    torch.save(transformers.TrainingArguments(output_dir=str(tmp_path / "out")), path)
    findings = scan(data_pkl(path))
    assert worst(findings) is Severity.MEDIUM
    assert "transformers.training_args.TrainingArguments" in imports(findings, "metadata-import")


def test_scan_pickle_source_reads_a_byte_source() -> None:
    ctx = ScanContext(path="x.pkl", policy=POLICY)
    scan_pickle_source(BytesSource(OS_SYSTEM_V4), ctx)
    assert worst(ctx.findings) is Severity.CRITICAL


# -- properties ---------------------------------------------------------------------------------

SEEDS = [
    pickle.dumps({"a": [1, 2.5, "x", b"y", None, True], "b": (1, 2), "c": {1, 2}}, protocol=p)
    for p in range(6)
] + [OS_SYSTEM_V0, OS_SYSTEM_V4, frame_differential(global_op("os", "system") + STOP)]

FAST = settings(
    max_examples=150, deadline=500, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@FAST
@given(st.binary(max_size=512))
def test_random_bytes_never_escape(data: bytes) -> None:
    ctx = ScanContext(path="x", policy=POLICY)
    end = scan_pickle_bytes(data, ctx)
    assert 0 <= end <= len(data)
    scan_pickle_source(BytesSource(data), ScanContext(path="x", policy=POLICY))


@FAST
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10_000),
)
def test_mutated_pickles_never_escape(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for at, value in edits:
        data[at % len(data)] = value
    ctx = ScanContext(path="x", policy=POLICY)
    scan_pickle_bytes(bytes(data[: max(1, cut % (len(data) + 1))]), ctx)
    scan_pickle_bytes(io.BytesIO(bytes(data)).getbuffer(), ctx)
