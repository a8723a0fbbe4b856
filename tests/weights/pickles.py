"""Builders for hand-assembled (often hostile) pickle streams; tests write them, never load them."""

from __future__ import annotations

import struct

PROTO2 = b"\x80\x02"
PROTO4 = b"\x80\x04"
STOP = b"."
MARK = b"("
TUPLE1 = b"\x85"
REDUCE = b"R"
EMPTY_TUPLE = b")"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
POP = b"0"
BUILD = b"b"
NONE = b"N"


def short_binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def binunicode8(text: str) -> bytes:
    raw = text.encode()
    return b"\x8d" + struct.pack("<Q", len(raw)) + raw


def unicode0(text: str) -> bytes:
    return b"V" + text.encode("raw_unicode_escape") + b"\n"


def string0(text: str) -> bytes:
    return b"S'" + text.encode() + b"'\n"


def binstring(text: str) -> bytes:
    raw = text.encode()
    return b"T" + struct.pack("<i", len(raw)) + raw


def short_binstring(text: str) -> bytes:
    raw = text.encode()
    return b"U" + bytes([len(raw)]) + raw


def short_binbytes(raw: bytes) -> bytes:
    return b"C" + bytes([len(raw)]) + raw


def binint1(value: int) -> bytes:
    return b"K" + bytes([value])


def global_op(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stack_global(module: str, name: str) -> bytes:
    return short_binunicode(module) + short_binunicode(name) + STACK_GLOBAL


def call(func: bytes, arg: str = "id") -> bytes:
    """``func(arg)``: a callable already pushed, then a one-string tuple and REDUCE."""
    return func + short_binunicode(arg) + TUPLE1 + REDUCE


def proto4(body: bytes) -> bytes:
    return PROTO4 + body + STOP


def frame(length: int) -> bytes:
    return b"\x95" + struct.pack("<Q", length)


OS_SYSTEM_V4 = proto4(call(stack_global("os", "system")))
OS_SYSTEM_V0 = global_op("os", "system") + b"(" + string0("id") + b"tR."
