"""Symbolic pickle walker: every import a pickle stream would make, found without unpickling it."""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import struct
from dataclasses import dataclass, field
from typing import Any

from checks.findings import Severity
from checks.io.source import ByteSource, note_read
from checks.weights.context import ScanContext
from checks.weights.limits import Limits

# torch.save's legacy (non-zip) format starts with this pickle of its magic number.
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
TORCH_LEGACY_STREAMS = 5  # magic, protocol, sys_info, the object, storage keys; then raw bytes

HIGHEST_PROTOCOL = 5
# unpack_from reads a memoryview in place: far cheaper than slicing it for int.from_bytes.
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_NO_FRAME = 1 << 62
_SHORT = 4096  # longer strings stay opaque: no importable name is that long
_SHORT_BYTES = 256
_CHECK_EVERY = 0x3FF  # opcodes between checks of the stack and memo bounds
_PATCH_ROUNDS = 8  # re-walks that follow the C unpickler across misaligned frames
_PATCH_MAX_BYTES = 64 << 20
_FIRST_WINDOW = 64 << 10  # one range block; legacy pickles that need more grow it fourfold

# Opcode bytes the walker needs by name outside its main loop.
_BINSTRING, _LONG4, _FRAME, _GLOBAL, _INST = 0x54, 0x8B, 0x95, 0x63, 0x69

# For frame checks: fixed argument widths, counted arguments (length width, payload read in one
# piece by the C unpickler as it is by pickle.py), and opcodes that read newline-ended lines.
_FIXED_WIDTH = {
    0x4A: 4, 0x4B: 1, 0x4D: 2, 0x47: 8, 0x68: 1, 0x6A: 4, 0x71: 1, 0x72: 4,
    0x80: 1, 0x82: 1, 0x83: 2, 0x84: 4,
}  # fmt: skip
_COUNTED = {
    0x54: (4, False), 0x55: (1, False), 0x58: (4, False), 0x8C: (1, False), 0x8D: (8, False),
    0x8A: (1, False), 0x8B: (4, False),
    0x42: (4, True), 0x43: (1, True), 0x8E: (8, True), 0x96: (8, True),
}  # fmt: skip
_LINE_COUNT = {
    0x46: 1, 0x49: 1, 0x4C: 1, 0x50: 1, 0x53: 1, 0x56: 1, 0x67: 1, 0x70: 1, 0x63: 2, 0x69: 2,
}  # fmt: skip


class _Opaque:
    """A value the walker does not track (a call result, a float, a list, a long string)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<opaque>"


_ANY = _Opaque()


class _Ref:
    """An imported global. ``role`` marks the few whose calls the walker follows."""

    __slots__ = ("module", "name", "role")

    def __init__(self, module: str, name: str, role: str) -> None:
        self.module, self.name, self.role = module, name, role


class _Dict:
    """A dict's keys and values, flat; only joblib's array wrapper state is ever read back."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items


class _DType:
    """A numpy.dtype(descr, ...) call; BUILD fills in its state tuple."""

    __slots__ = ("descr", "state")

    def __init__(self, descr: object) -> None:
        self.descr = descr
        self.state: object = None


class _Wrapper:
    """A joblib NumpyArrayWrapper: the array's bytes follow its BUILD in the file."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: object = None


_ROLES = {
    ("numpy", "dtype"): "dtype",
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): "wrapper",
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"): "wrapper",
    ("copyreg", "_reconstructor"): "reconstructor",
    ("copy_reg", "_reconstructor"): "reconstructor",
}


class _Malformed(Exception):
    """The stream breaks here: the unpickler would raise."""


class _Stop(Exception):
    """The walk cannot go on soundly; the reason is already recorded."""


Tally = dict[Any, list[int]]  # key -> [count, first offset]


def _note(tally: Tally, key: Any, offset: int) -> None:
    entry = tally.get(key)
    if entry is None:
        tally[key] = [1, offset]
    else:
        entry[0] += 1


@dataclass
class _Pass:
    """What one walk over one stream saw."""

    imports: Tally = field(default_factory=dict)
    unresolved: Tally = field(default_factory=dict)
    extensions: Tally = field(default_factory=dict)
    mutations: Tally = field(default_factory=dict)
    frames: Tally = field(default_factory=dict)
    unparsed: Tally = field(default_factory=dict)
    end: int = -1  # just past STOP; -1 when the stream did not complete
    error: str | None = None
    error_at: int = -1
    limit: str | None = None
    opcodes: int = 0
    divergence: tuple[int, int, int, int] | None = None  # read start, frame end, header, body
    array_skips: int = 0


class _Walker:
    """One pass over one stream. ``joblib`` follows joblib's inline arrays as joblib.load does."""

    def __init__(self, data: memoryview, limits: Limits, *, joblib: bool) -> None:
        self.data = data
        self.size = len(data)
        self.limits = limits
        self.joblib = joblib
        self.out = _Pass()
        self.refs: dict[tuple[str, str], _Ref] = {}

    # -- symbols ---------------------------------------------------------------------------------

    def ref(self, module: str, name: str, at: int) -> _Ref:
        key = (module, name)
        _note(self.out.imports, key, at)
        found = self.refs.get(key)
        if found is None:
            found = self.refs[key] = _Ref(module, name, _ROLES.get(key, ""))
        return found

    def stack_global(self, module: object, name: object, at: int) -> object:
        if type(module) is str and type(name) is str:
            return self.ref(module, name, at)
        if isinstance(module, str | bytes) and isinstance(name, str | bytes):
            # pickle refuses bytes here; a custom unpickler might not, so grade the names too
            self.ref(_latin1(module), _latin1(name), at)
        _note(self.out.unresolved, f"{_describe(module)}, {_describe(name)}", at)
        return _ANY

    # -- the walk --------------------------------------------------------------------------------

    def walk(self, start: int) -> _Pass:
        out = self.out
        with contextlib.suppress(_Stop):
            out.end = self._loop(start)
        return out

    def _loop(self, start: int) -> int:
        data, size, out = self.data, self.size, self.out
        stack: list[Any] = []
        marks: list[int] = []
        memo: dict[int, Any] = {}
        push, pop, mark = stack.append, stack.pop, marks.append
        anyv = _ANY
        u16, u32, i32, u64 = _U16, _U32, _I32, _U64
        check_every, short = _CHECK_EVERY, _SHORT
        limits = self.limits
        pos = op_start = start
        fend = _NO_FRAME  # end of the current frame
        frame_hdr = frame_body = -1
        ops = 0
        try:
            for ops in range(limits.max_opcodes):  # the count is read after the loop
                op_start = pos
                op = data[pos]
                pos += 1
                # Ordered by how often each opcode appears in real checkpoints.
                if op == 0x72:  # LONG_BINPUT
                    memo[u32(data, pos)[0]] = stack[-1]
                    pos += 4
                elif op == 0x68:  # BINGET
                    push(memo[data[pos]])
                    pos += 1
                elif op == 0x4B:  # BININT1
                    push(data[pos])
                    pos += 1
                elif op == 0x28:  # MARK
                    mark(len(stack))
                elif op == 0x58:  # BINUNICODE
                    n = u32(data, pos)[0]
                    pos += 4
                    if n <= short and pos + n <= size:  # the common case, inline
                        push(str(data[pos : pos + n], "utf-8", "surrogatepass"))
                    else:
                        push(_utf8(data, pos, n, size))
                    pos += n
                elif op == 0x74:  # TUPLE
                    m = marks.pop()
                    t = tuple(stack[m:])
                    del stack[m:]
                    push(t)
                elif op == 0x85:  # TUPLE1
                    stack[-1] = (stack[-1],)
                elif op == 0x52:  # REDUCE
                    args = pop()
                    f = stack[-1]
                    stack[-1] = _call(f, args) if type(f) is _Ref and f.role else anyv
                elif op == 0x51:  # BINPERSID
                    stack[-1] = anyv
                elif op == 0x89:  # NEWFALSE
                    push(False)
                elif op == 0x29:  # EMPTY_TUPLE
                    push(())
                elif op == 0x71:  # BINPUT
                    memo[data[pos]] = stack[-1]
                    pos += 1
                elif op == 0x94:  # MEMOIZE
                    memo[len(memo)] = stack[-1]
                elif op == 0x6A:  # LONG_BINGET
                    push(memo[u32(data, pos)[0]])
                    pos += 4
                elif op == 0x8C:  # SHORT_BINUNICODE
                    n = data[pos]
                    pos += 1
                    push(_utf8(data, pos, n, size))
                    pos += n
                elif op == 0x86:  # TUPLE2
                    b = pop()
                    stack[-1] = (stack[-1], b)
                elif op == 0x87:  # TUPLE3
                    c = pop()
                    b = pop()
                    stack[-1] = (stack[-1], b, c)
                elif op == 0x75:  # SETITEMS
                    m = marks.pop()
                    if m == 0:
                        raise _Malformed("SETITEMS with nothing to set items on")
                    d = stack[m - 1]
                    if type(d) is _Dict:
                        d.items.extend(stack[m:])
                    del stack[m:]
                elif op == 0x73:  # SETITEM
                    v = pop()
                    k = pop()
                    d = stack[-1]
                    if type(d) is _Dict:
                        d.items += (k, v)
                elif op == 0x4A:  # BININT
                    push(i32(data, pos)[0])
                    pos += 4
                elif op == 0x4D:  # BININT2
                    push(u16(data, pos)[0])
                    pos += 2
                elif op == 0x4E:  # NONE
                    push(None)
                elif op == 0x88:  # NEWTRUE
                    push(True)
                elif op == 0x7D:  # EMPTY_DICT
                    push(_Dict([]))
                elif op == 0x5D or op == 0x8F:  # EMPTY_LIST, EMPTY_SET
                    push(anyv)
                elif op == 0x61:  # APPEND
                    pop()
                    stack[-1]  # the target must exist, as pickle checks
                elif op == 0x65 or op == 0x90:  # APPENDS, ADDITEMS
                    m = marks.pop()
                    if m == 0:
                        raise _Malformed("APPENDS with nothing to append to")
                    del stack[m:]
                elif op == 0x81:  # NEWOBJ
                    pop()
                    stack[-1] = _new(stack[-1])
                elif op == 0x92:  # NEWOBJ_EX
                    pop()
                    pop()
                    stack[-1] = _new(stack[-1])
                elif op == 0x62:  # BUILD
                    state = pop()
                    target = stack[-1]
                    kind = type(target)
                    if kind is _Ref:
                        _note(out.mutations, (target.module, target.name), op_start)
                    elif kind is _DType or kind is _Wrapper:
                        target.state = state
                        if kind is _Wrapper and self.joblib:
                            if op_start < fend < _NO_FRAME and pos != fend:
                                self.stop_frames(op_start, "a joblib array starts inside a frame")
                            fend = _NO_FRAME
                            pos = self.skip_array(target, pos)
                            stack[-1] = anyv
                elif op == 0x93:  # STACK_GLOBAL
                    name = pop()
                    stack[-1] = self.stack_global(stack[-1], name, op_start)
                elif op == 0x8A:  # LONG1
                    n = data[pos]
                    pos += 1
                    push(int.from_bytes(data[pos : pos + n], "little", signed=True))
                    pos += n
                elif op == 0x63:  # GLOBAL
                    module, pos = _line(data, pos, size)
                    name, pos = _line(data, pos, size)
                    push(self.ref(_name(module, "utf-8"), _name(name, "utf-8"), op_start))
                elif op == 0x32:  # DUP
                    push(stack[-1])
                elif op == 0x30:  # POP
                    if marks and marks[-1] == len(stack):
                        marks.pop()
                    else:
                        pop()
                elif op == 0x31:  # POP_MARK
                    m = marks.pop()
                    del stack[m:]
                elif op == 0x64:  # DICT
                    m = marks.pop()
                    d = _Dict(stack[m:])
                    del stack[m:]
                    push(d)
                elif op == 0x6C or op == 0x91:  # LIST, FROZENSET
                    m = marks.pop()
                    del stack[m:]
                    push(anyv)
                elif op == 0x6F:  # OBJ
                    m = marks.pop()
                    cls = stack[m]
                    del stack[m:]
                    push(_new(cls))
                elif op == 0x69:  # INST
                    module, pos = _line(data, pos, size)
                    name, pos = _line(data, pos, size)
                    cls = self.ref(_name(module, "ascii"), _name(name, "ascii"), op_start)
                    m = marks.pop()
                    del stack[m:]
                    push(_new(cls))
                elif op == 0x47:  # BINFLOAT
                    push(anyv)
                    pos += 8
                elif op == 0x55:  # SHORT_BINSTRING
                    n = data[pos]
                    pos += 1
                    push(_text(data, pos, n, size))
                    pos += n
                elif op == 0x54:  # BINSTRING
                    n = i32(data, pos)[0]
                    pos += 4
                    if n < 0:
                        raise _Malformed("BINSTRING with a negative length")
                    push(_text(data, pos, n, size))
                    pos += n
                elif op == 0x8D:  # BINUNICODE8
                    n = u64(data, pos)[0]
                    pos += 8
                    push(_utf8(data, pos, n, size))
                    pos += n
                elif op == 0x43:  # SHORT_BINBYTES
                    n = data[pos]
                    pos += 1
                    push(_bytes(data, pos, n, size))
                    pos += n
                elif op == 0x42:  # BINBYTES
                    n = u32(data, pos)[0]
                    pos += 4
                    push(_bytes(data, pos, n, size))
                    pos += n
                elif op == 0x8E or op == 0x96:  # BINBYTES8, BYTEARRAY8
                    n = u64(data, pos)[0]
                    pos += 8
                    push(_bytes(data, pos, n, size))
                    pos += n
                elif op == 0x8B:  # LONG4
                    n = i32(data, pos)[0]
                    pos += 4
                    if n < 0 or pos + n > size:
                        raise _Malformed("LONG4 with a bad length")
                    push(
                        int.from_bytes(data[pos : pos + n], "little", signed=True)
                        if n <= 64
                        else anyv
                    )
                    pos += n
                elif op == 0x95:  # FRAME
                    n = u64(data, pos)[0]
                    pos += 8
                    if pos + n > size:
                        raise _Malformed("FRAME longer than the data left")
                    if op_start < fend < _NO_FRAME:
                        if pos > fend:  # the FRAME header itself straddles the old frame's end
                            self.crossed(op_start, fend, frame_hdr, frame_body)
                        elif pos < fend:
                            self.frame_issue(op_start, "a FRAME begins before the previous ends")
                            if pos + n <= fend:
                                continue  # the C unpickler keeps reading the frame it has
                            if out.divergence is None:
                                out.divergence = (pos, fend, frame_hdr, frame_body)
                    fend, frame_hdr, frame_body = pos + n, op_start + 1, pos
                    continue
                elif op == 0x80:  # PROTO
                    if data[pos] > HIGHEST_PROTOCOL:
                        raise _Malformed(f"unsupported pickle protocol {data[pos]}")
                    pos += 1
                elif op == 0x2E:  # STOP
                    if pos < fend < _NO_FRAME:
                        self.frame_issue(op_start, "the stream stops with bytes left in its frame")
                    out.opcodes = ops + 1
                    return pos
                elif op == 0x82 or op == 0x83 or op == 0x84:  # EXT1, EXT2, EXT4
                    width = 1 << (op - 0x82)
                    code = int.from_bytes(data[pos : pos + width], "little")
                    pos += width
                    if code <= 0:
                        raise _Malformed("EXT code <= 0")
                    _note(out.extensions, code, op_start)
                    push(anyv)
                elif op == 0x97:  # NEXT_BUFFER
                    push(anyv)
                elif op == 0x98:  # READONLY_BUFFER
                    stack[-1]  # needs an object, as pickle checks
                elif op == 0x67:  # GET
                    key, pos = _line(data, pos, size)
                    push(memo[int(key)])
                elif op == 0x70:  # PUT
                    key, pos = _line(data, pos, size)
                    index = int(key)
                    if index < 0:
                        raise _Malformed("negative PUT index")
                    memo[index] = stack[-1]
                elif op == 0x53:  # STRING
                    raw, pos = _line(data, pos, size)
                    push(_quoted(raw))
                elif op == 0x56:  # UNICODE
                    raw, pos = _line(data, pos, size)
                    push(_short(str(raw, "raw_unicode_escape")))
                elif op == 0x49 or op == 0x4C:  # INT, LONG
                    raw, pos = _line(data, pos, size)
                    push(_int(raw))
                elif op == 0x46 or op == 0x50:  # FLOAT, PERSID
                    _, pos = _line(data, pos, size)
                    push(anyv)
                else:
                    raise _Malformed(f"invalid opcode 0x{op:02x}")
                if pos > fend:
                    if op_start < fend:
                        self.crossed(op_start, fend, frame_hdr, frame_body)
                    fend = _NO_FRAME
                if not ops & check_every:
                    self.check_bounds(len(stack), len(marks), len(memo))
            out.limit = f"more than {limits.max_opcodes} opcodes in one stream"
        except _Stop:
            raise
        except (IndexError, KeyError, ValueError, TypeError, struct.error, _Malformed) as exc:
            out.error, out.error_at = _explain(exc, pos, size), op_start
        except MemoryError:  # pragma: no cover - bounded above, but never let it escape
            out.limit = "out of memory while walking the stream"
        out.opcodes = ops
        return -1

    # -- helpers the loop calls rarely ---------------------------------------------------------

    def check_bounds(self, depth: int, marks: int, memo: int) -> None:
        limits = self.limits
        if depth > limits.max_stack_depth or marks > limits.max_stack_depth:
            self.out.limit = f"stack deeper than {limits.max_stack_depth}"
            raise _Stop
        if memo > limits.max_memo:
            self.out.limit = f"memo larger than {limits.max_memo} entries"
            raise _Stop

    def frame_issue(self, at: int, what: str) -> None:
        _note(self.out.frames, what, at)

    def stop_frames(self, at: int, what: str) -> None:
        self.frame_issue(at, what)
        raise _Stop

    def crossed(self, op_start: int, fend: int, hdr: int, body: int) -> None:
        """An opcode ran past its frame's end; record whether one read straddles it."""
        straddle = _straddling_read(self.data, op_start, fend, self.size)
        if straddle is None:
            return  # every read fits on one side: pickle.py and the C unpickler agree
        read_start, drops = straddle
        self.frame_issue(op_start, "a read crosses the end of its FRAME")
        if drops and self.out.divergence is None:
            self.out.divergence = (read_start, fend, hdr, body)

    def skip_array(self, wrapper: _Wrapper, pos: int) -> int:
        """Step over the array bytes joblib writes right after a wrapper's BUILD."""
        layout = _array_layout(wrapper)
        if layout is None:
            _note(self.out.unparsed, "joblib array", pos)
            raise _Stop
        nbytes, padded, has_objects = layout
        self.out.array_skips += 1
        if has_objects:  # joblib pickles object arrays inline, as a stream of their own
            inner = _Walker(self.data, self.limits, joblib=False)
            inner.refs = self.refs
            inner.out = self.out
            end = inner._loop(pos)
            if end < 0:
                raise _Stop
            return end
        if padded:
            pos += 1 + self.data[pos]
        if pos + nbytes > self.size:
            raise _Malformed("a joblib array runs past the end of the data")
        return pos + nbytes


# -- value helpers (module level: cheaper to call from the loop) -----------------------------------


def _utf8(data: memoryview, pos: int, n: int, size: int) -> object:
    if pos + n > size:
        raise _Malformed("string runs past the end of the data")
    if n > _SHORT:
        return _ANY
    return str(data[pos : pos + n], "utf-8", "surrogatepass")


def _text(data: memoryview, pos: int, n: int, size: int) -> object:
    """A Python 2 string; latin-1 decodes any bytes, so it never stops where pickle goes on."""
    if pos + n > size:
        raise _Malformed("string runs past the end of the data")
    if n > _SHORT:
        return _ANY
    return str(data[pos : pos + n], "latin-1")


def _bytes(data: memoryview, pos: int, n: int, size: int) -> object:
    if pos + n > size:
        raise _Malformed("bytes run past the end of the data")
    return bytes(data[pos : pos + n]) if n <= _SHORT_BYTES else _ANY


def _short(text: str) -> object:
    return text if len(text) <= _SHORT else _ANY


def _latin1(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("latin-1")


def _line(data: memoryview, pos: int, size: int) -> tuple[bytes, int]:
    """The bytes of a newline-ended argument (without the newline) and the offset after it."""
    step = 256
    scan = pos
    while scan < size:
        end = min(size, scan + step)
        found = bytes(data[scan:end]).find(b"\n")
        if found >= 0:
            nl = scan + found
            return bytes(data[pos:nl]), nl + 1
        scan = end
        step = min(step * 4, 1 << 20)
    raise _Malformed("line argument without a newline")


def _name(raw: bytes, encoding: str) -> str:
    if not raw:
        raise _Malformed("empty module or class name")
    return raw.decode(encoding)


def _quoted(raw: bytes) -> object:
    if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b"'", b'"'):
        raise _Malformed("the STRING opcode argument must be quoted")
    return _short(codecs.escape_decode(raw[1:-1])[0].decode("latin-1"))


def _int(raw: bytes) -> object:
    text = raw.strip().rstrip(b"L")
    try:
        return int(text, 0) if text not in (b"00", b"01") else text == b"01"
    except ValueError:
        return _ANY  # pickle's own parser may be laxer; never stop where it goes on


def _call(f: _Ref, args: object) -> object:
    if f.role == "dtype":
        descr = args[0] if type(args) is tuple and args else None
        return _DType(descr)
    if f.role == "wrapper":
        return _Wrapper()
    if f.role == "reconstructor" and type(args) is tuple and args:
        cls = args[0]
        if type(cls) is _Ref and cls.role == "wrapper":
            return _Wrapper()
    return _ANY


def _new(cls: object) -> object:
    if type(cls) is _Ref and cls.role == "wrapper":
        return _Wrapper()
    return _ANY


def _describe(value: object) -> str:
    if isinstance(value, str | bytes):
        return repr(value[:60])
    if type(value) is _Ref:
        return f"the global {value.module}.{value.name}"
    if isinstance(value, bool | int):
        return f"the int {value!r}"
    return "an unknown value"


def _explain(exc: BaseException, pos: int, size: int) -> str:
    if isinstance(exc, _Malformed):
        return str(exc)
    if isinstance(exc, struct.error):
        return "the data ends inside an opcode argument"
    if isinstance(exc, IndexError):
        if pos >= size:
            return "the data ends before the STOP opcode"
        return "stack underflow or missing MARK"
    if isinstance(exc, KeyError):
        return f"memo key {exc.args[0]!r} is read before it is written"
    if isinstance(exc, UnicodeDecodeError):
        return "a name or string is not valid text"
    return f"bad opcode argument ({type(exc).__name__})"


def _straddling_read(
    data: memoryview, op_start: int, fend: int, size: int
) -> tuple[int, bool] | None:
    """The first read of the opcode at ``op_start`` that straddles ``fend``.

    Returns (read start, whether the C unpickler drops the frame's tail for it) or None when
    every read lies wholly inside or wholly after the frame.
    """
    op = data[op_start]
    p = op_start + 1
    width = _FIXED_WIDTH.get(op)
    if width is not None or op == _FRAME:
        width = width or 8
        if p < fend < p + width:
            return p, True
        if op != _FRAME:
            return None
        n = int.from_bytes(data[p : p + 8], "little")
        p += 8
        return (p, True) if p < fend < p + n else None
    counted = _COUNTED.get(op)
    if counted is not None:
        k, whole = counted
        if p < fend < p + k:
            return p, True
        n = int.from_bytes(data[p : p + k], "little", signed=op in (_BINSTRING, _LONG4))
        p += k
        # BINBYTES payloads are read with readinto(), which carries straight on
        return (p, not whole) if p < fend < p + n else None
    for _ in range(_LINE_COUNT.get(op, 0)):
        try:
            _, after = _line(data, p, size)
        except _Malformed:
            return None
        if p < fend < after:
            return p, True
        p = after
    return None


def _array_layout(wrapper: _Wrapper) -> tuple[int, bool, bool] | None:
    """(array bytes, whether a padding byte leads them, whether it holds objects), or None."""
    state = wrapper.state
    if type(state) is not _Dict:
        return None
    fields = _str_keys(state)
    shape, dtype = fields.get("shape"), fields.get("dtype")
    if type(shape) is not tuple or type(dtype) is not _DType:
        return None
    count = 1
    for dim in shape:
        if type(dim) is not int or dim < 0:
            return None
        count *= dim
    itemsize = _itemsize(dtype)
    has_objects = _has_objects(dtype, 0)
    if itemsize is None or has_objects is None:
        return None
    padded = fields.get("numpy_array_alignment_bytes") is not None
    return count * itemsize, padded, has_objects


def _str_keys(d: _Dict) -> dict[str, object]:
    items = d.items
    return {k: v for k, v in zip(items[::2], items[1::2], strict=False) if type(k) is str}


def _state(dtype: _DType) -> tuple[Any, ...]:
    return dtype.state if type(dtype.state) is tuple else ()


def _itemsize(dtype: _DType) -> int | None:
    state = _state(dtype)
    if len(state) > 5 and type(state[5]) is int and state[5] > 0:
        return state[5]
    descr = dtype.descr
    if type(descr) is not str or len(descr) < 2 or descr[0] not in "biufcOMmSV":
        return None
    digits = descr[1:]
    return int(digits) if digits.isdigit() and int(digits) > 0 else None


def _has_objects(dtype: _DType, depth: int) -> bool | None:
    """Whether numpy would say ``dtype.hasobject``; None when the state is inconsistent."""
    if depth > 8 or type(dtype.descr) is not str:
        return None
    state = _state(dtype)
    by_fields = dtype.descr.startswith("O")
    if len(state) > 4 and type(state[4]) is _Dict:
        for value in state[4].items[1::2]:
            inner = value[0] if type(value) is tuple and value else None
            if type(inner) is not _DType:
                return None
            nested = _has_objects(inner, depth + 1)
            if nested is None:
                return None
            by_fields = by_fields or nested
    flags = state[7] if len(state) > 7 else None
    if type(flags) is int and bool(flags & 1) != by_fields:
        return None  # the flags and the layout disagree: fail closed
    return by_fields


# -- streams and findings -------------------------------------------------------------------------


def scan_pickle_source(source: ByteSource, ctx: ScanContext) -> None:
    """Scan every pickle stream of a file that sniffed as pickle (torch legacy: the first five)."""
    view = source.view()
    if view is None:
        _scan_unmapped(source, ctx)
        return
    legacy = bytes(view[: len(TORCH_LEGACY_MAGIC)]) == TORCH_LEGACY_MAGIC
    end, _ = _scan_streams(view, ctx, 0, TORCH_LEGACY_STREAMS if legacy else None)
    # The walk reads up to the end of the last stream, or (when one breaks) the whole file.
    note_read(source, end if legacy and end > 0 else source.size)


def _scan_unmapped(source: ByteSource, ctx: ScanContext) -> None:
    """A source without a memory map (a remote file): read only as far as the walk needs.

    A plain pickle file is walked to its end whatever it holds, so it is read whole (bounded).
    torch's legacy format holds five streams and then raw tensor bytes: a prefix that grows
    fourfold is walked into a scratch context until the five streams end inside it.
    """
    limit = ctx.limits.max_member_bytes
    head = source.read_at(0, min(source.size, _FIRST_WINDOW))
    legacy = head[: len(TORCH_LEGACY_MAGIC)] == TORCH_LEGACY_MAGIC
    window = len(head) if legacy else source.size
    data = bytearray(head)
    while True:
        if window > limit:
            ctx.report(
                "limit-exceeded",
                Severity.HIGH,
                f"pickle of {source.size} bytes cannot be mapped and is over the "
                f"{limit}-byte read limit; not inspected",
            )
            return
        if len(data) < window:
            data += source.read_at(len(data), window - len(data))
        if not legacy or len(data) >= source.size:
            scan_pickle_bytes(data, ctx, max_streams=TORCH_LEGACY_STREAMS if legacy else None)
            return
        scratch = dataclasses.replace(ctx, findings=[])
        end, streams = _scan_streams(memoryview(data), scratch, 0, TORCH_LEGACY_STREAMS)
        if streams == TORCH_LEGACY_STREAMS and 0 < end <= len(data):
            ctx.findings.extend(scratch.findings)
            return
        window = min(source.size, window * 4)


def scan_pickle_bytes(
    data: bytes | bytearray | memoryview,
    ctx: ScanContext,
    *,
    start: int = 0,
    max_streams: int | None = None,
) -> int:
    """Scan the pickle streams from ``start`` on; returns the offset past the last complete one."""
    return _scan_streams(data, ctx, start, max_streams)[0]


def _scan_streams(
    data: bytes | bytearray | memoryview, ctx: ScanContext, start: int, max_streams: int | None
) -> tuple[int, int]:
    """The offset past the last complete stream, and how many streams completed."""
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    cap = ctx.limits.max_pickles_per_file
    wanted = cap if max_streams is None else min(max_streams, cap)
    pos, index = start, 0
    while pos < len(view):
        if index >= wanted:
            if max_streams is None or max_streams > cap:
                ctx.report(
                    "limit-exceeded",
                    Severity.HIGH,
                    f"more than {cap} pickle streams in a row; the rest is not inspected",
                    detail=f"byte {pos}",
                )
            break
        end = _scan_stream(view, pos, index, ctx)
        if end < 0:
            break
        pos, index = end, index + 1
    return pos, index


def _scan_stream(view: memoryview, start: int, index: int, ctx: ScanContext) -> int:
    """Walk one stream the ways the loaders read it, report what it imports; its end or -1."""
    first = _Walker(view, ctx.limits, joblib=True).walk(start)
    seen = _Pass()
    _merge(seen, first, _same)
    if first.divergence is not None:
        for other, shift in _follow_c_unpickler(view, start, first, ctx.limits):
            _merge(seen, other, shift)
    if first.array_skips:  # pickle.load reads the same file without skipping joblib's arrays
        _merge(seen, _Walker(view, ctx.limits, joblib=False).walk(start), _same)
    where = _Where(index)
    imports_seen = _report_tallies(seen, where, ctx)
    if first.limit is not None:
        ctx.report(
            "limit-exceeded",
            Severity.HIGH,
            f"scan stopped at a safety bound: {first.limit}",
            detail=where(start),
        )
        return -1
    if first.end < 0 and first.error is not None:
        _report_break(view, start, first, imports_seen, where, ctx)
    return first.end


_TALLIES = ("imports", "unresolved", "extensions", "mutations", "frames", "unparsed")


def _same(offset: int) -> int:
    return offset


class _Where:
    """Formats a location; streams after the first say which one they are."""

    def __init__(self, index: int) -> None:
        self.prefix = f"pickle {index + 1}, " if index else ""

    def __call__(self, offset: int) -> str:
        return f"{self.prefix}byte {offset}"


def _merge(into: _Pass, other: _Pass, shift: Any) -> None:
    for name in _TALLIES:
        target: Tally = getattr(into, name)
        for key, (count, at) in getattr(other, name).items():
            mine = target.get(key)
            if mine is None:
                target[key] = [count, shift(at)]
            else:
                mine[0] = max(mine[0], count)
                mine[1] = min(mine[1], shift(at))


def _follow_c_unpickler(
    view: memoryview, start: int, first: _Pass, limits: Limits
) -> list[tuple[_Pass, Any]]:
    """Re-walk the stream as CPython's C unpickler reads it from a file object.

    Before CPython 3.13.15/3.14.7 (gh-154848) that unpickler, reading from a file without
    peek() such as the BytesIO torch.load uses, drops the unread tail of a frame when a read
    straddles the frame's end and reads on from the end. Each round cuts one such tail (and
    shortens the frame header to match) and walks again.
    """
    if len(view) - start > _PATCH_MAX_BYTES:
        return []
    data = bytearray(view[start:])
    divergence = first.divergence
    base = start
    cuts: list[tuple[int, int]] = []
    results: list[tuple[_Pass, Any]] = []
    for _ in range(_PATCH_ROUNDS):
        if divergence is None:
            break
        read_start, fend, hdr, body = (x - base for x in divergence)
        data[hdr : hdr + 8] = (read_start - body).to_bytes(8, "little")
        del data[read_start:fend]
        cuts.append((read_start, fend - read_start))
        walked = _Walker(memoryview(bytes(data)), limits, joblib=True).walk(0)
        results.append((walked, _unshift(list(cuts), start)))
        divergence, base = walked.divergence, 0
    return results


def _unshift(cuts: list[tuple[int, int]], start: int) -> Any:
    def shift(offset: int) -> int:
        for at, removed in reversed(cuts):
            if offset >= at:
                offset += removed
        return offset + start

    return shift


def _report_tallies(seen: _Pass, where: _Where, ctx: ScanContext) -> bool:
    """One finding per distinct import (and per other kind of trouble); True if any was made."""
    before = len(ctx.findings)
    for (module, name), (count, at) in sorted(seen.imports.items(), key=lambda kv: kv[1][1]):
        verdict = ctx.policy.classify(module, name)
        if verdict.rule is not None:
            ctx.report(
                verdict.rule,
                verdict.severity,
                verdict.message,
                detail=where(at),
                **{"import": f"{module}.{name}", "count": count},
            )
    for (module, name), (count, at) in seen.mutations.items():
        ctx.report(
            "global-mutation",
            Severity.HIGH,
            f"BUILD rewrites the imported object {module}.{name} itself, not an instance of it: "
            "loading changes that class, function or module for the whole process",
            detail=where(at),
            **{"import": f"{module}.{name}", "count": count},
        )
    _report_grouped(ctx, where, seen.unresolved, "unresolved-import", _unresolved_message)
    _report_grouped(ctx, where, seen.extensions, "extension-registry", _extension_message)
    _report_grouped(ctx, where, seen.frames, "frame-mismatch", _frame_message)
    _report_grouped(ctx, where, seen.unparsed, "unparsed-data", _unparsed_message)
    return len(ctx.findings) > before


def _report_grouped(ctx: ScanContext, where: _Where, tally: Tally, rule: str, message: Any) -> None:
    if not tally:
        return
    count = sum(c for c, _ in tally.values())
    first_key, (_, at) = min(tally.items(), key=lambda kv: kv[1][1])
    ctx.report(rule, Severity.HIGH, message(first_key, count), detail=where(at), count=count)


def _unresolved_message(example: object, count: int) -> str:
    return (
        f"STACK_GLOBAL takes its module and name from values the scanner cannot resolve to "
        f"strings (first: {example}; {count} in all); pickle would import whatever they hold"
    )


def _extension_message(code: object, count: int) -> str:
    return (
        f"EXT opcode loads global number {code} from the copyreg extension registry "
        f"({count} in all): what it names depends on the loading process, not on the file"
    )


def _frame_message(what: object, count: int) -> str:
    return (
        f"{what} ({count} in all): CPython's C unpickler reading a file (as torch.load does) "
        "and pickle.py/pickletools read different opcodes here; both readings were checked"
    )


def _unparsed_message(what: object, count: int) -> str:
    return (
        f"cannot work out the length of a {what} written inline; the bytes after it, which "
        "joblib.load goes on to unpickle, cannot be inspected"
    )


def _report_break(
    view: memoryview, start: int, first: _Pass, imports_seen: bool, where: _Where, ctx: ScanContext
) -> None:
    if where.prefix and not imports_seen:
        ctx.report(
            "trailing-data",
            Severity.LOW,
            f"{len(view) - start} bytes after the last complete pickle are not a pickle "
            f"({first.error})",
            detail=where(start),
        )
        return
    ctx.report(
        "malformed-pickle",
        Severity.MEDIUM,
        f"the pickle stream breaks: {first.error}; loading stops there too, so nothing after "
        "it runs",
        detail=where(first.error_at),
    )
