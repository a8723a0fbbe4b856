"""Protobuf wire-format bytes assembled by hand, for files no installable library writes here."""

from __future__ import annotations

from collections.abc import Iterable


def varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1  # negative int64 values are ten bytes, as protobuf writes them
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def uint(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def blob(number: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return tag(number, 2) + varint(len(raw)) + raw


def message(number: int, fields: Iterable[bytes]) -> bytes:
    return blob(number, b"".join(fields))
