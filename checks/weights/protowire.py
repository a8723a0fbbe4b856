"""A bounded protobuf wire-format reader over a byte source: fields by offset, payloads unread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
MAX_FIELD_NUMBER = (1 << 29) - 1
MAX_VARINT_BYTES = 10
CHUNK = 64 << 10  # one read serves many small fields; a skipped payload is never read


class WireError(Exception):
    """The bytes are not valid protobuf; the message says where."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field: a scalar ``value``, or (wire type LEN) a payload at ``start``..``end``."""

    number: int
    wire_type: int
    value: int
    start: int
    end: int


class WireReader:
    """Walks messages through ``read_at`` in bounded windows.

    Every field visited is charged against ``max_fields`` and every message entered against
    ``max_depth``, so a hostile file ends in ``LimitExceeded``, never in a hang; a truncated or
    overlong encoding raises ``WireError``.
    """

    def __init__(self, source: ByteSource, *, max_fields: int, max_depth: int) -> None:
        self.source = source
        self.size = source.size
        self.max_fields = max_fields
        self.max_depth = max_depth
        self.fields_seen = 0
        self._buf = b""
        self._at = 0

    def _window(self, offset: int, n: int) -> bytes:
        if not (self._at <= offset and offset + n <= self._at + len(self._buf)):
            self._buf = self.source.read_at(offset, max(n, CHUNK))
            self._at = offset
        return self._buf[offset - self._at : offset - self._at + n]

    def _varint(self, pos: int, end: int, what: str) -> tuple[int, int]:
        # Most tags and lengths are one byte already in the window: skip the slicing.
        index = pos - self._at
        if pos < end and 0 <= index < len(self._buf) and self._buf[index] < 0x80:
            return self._buf[index], pos + 1
        raw = self._window(pos, min(MAX_VARINT_BYTES, end - pos))
        result = 0
        for i, byte in enumerate(raw):
            result |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if i == MAX_VARINT_BYTES - 1 and byte > 1:
                    raise WireError(f"{what} at byte {pos} overflows 64 bits")
                return result, pos + i + 1
        if len(raw) == MAX_VARINT_BYTES:
            raise WireError(f"{what} at byte {pos} runs over {MAX_VARINT_BYTES} bytes")
        raise WireError(f"the data ends inside {what} at byte {pos}")

    def fields(self, start: int, end: int, depth: int = 0) -> Iterator[Field]:
        """The fields of the message at ``start``..``end`` (a whole file: 0..size)."""
        if depth > self.max_depth:
            raise LimitExceeded(f"protobuf messages nested deeper than {self.max_depth} levels")
        pos = start
        while pos < end:
            self._charge()
            tag, pos = self._varint(pos, end, "a field tag")
            number, wire = tag >> 3, tag & 7
            if not 1 <= number <= MAX_FIELD_NUMBER:
                raise WireError(f"field number {number} at byte {pos} is out of range")
            if wire == VARINT:
                value, after = self._varint(pos, end, f"field {number}")
                yield Field(number, wire, value, pos, after)
            elif wire in (I64, I32):
                after = pos + (8 if wire == I64 else 4)
                if after > end:
                    raise WireError(f"the data ends inside field {number} at byte {pos}")
                value = int.from_bytes(self._window(pos, after - pos), "little")
                yield Field(number, wire, value, pos, after)
            elif wire == LEN:
                length, pos = self._varint(pos, end, f"the length of field {number}")
                after = pos + length
                if after > end:
                    raise WireError(
                        f"field {number} at byte {pos} claims {length} bytes, past the end of "
                        f"its message at byte {end}"
                    )
                yield Field(number, wire, length, pos, after)
            elif wire == SGROUP:  # deprecated groups: skipped whole, as a parser skips unknowns
                after = self._skip_group(number, pos, end, depth + 1)
            else:
                raise WireError(f"field {number} at byte {pos} has invalid wire type {wire}")
            pos = after

    def _skip_group(self, number: int, pos: int, end: int, depth: int) -> int:
        if depth > self.max_depth:
            raise LimitExceeded(f"protobuf groups nested deeper than {self.max_depth} levels")
        while pos < end:
            self._charge()
            tag, pos = self._varint(pos, end, "a field tag")
            inner, wire = tag >> 3, tag & 7
            if wire == EGROUP:
                if inner != number:
                    raise WireError(f"group {number} closed as {inner} at byte {pos}")
                return pos
            if wire == SGROUP:
                pos = self._skip_group(inner, pos, end, depth + 1)
            elif wire == VARINT:
                pos = self._varint(pos, end, f"field {inner}")[1]
            elif wire in (I64, I32):
                pos += 8 if wire == I64 else 4
            elif wire == LEN:
                length, pos = self._varint(pos, end, f"the length of field {inner}")
                pos += length
            else:
                raise WireError(f"field {inner} at byte {pos} has invalid wire type {wire}")
        raise WireError(f"group {number} is never closed")

    def _charge(self) -> None:
        self.fields_seen += 1
        if self.fields_seen > self.max_fields:
            raise LimitExceeded(f"more than {self.max_fields} protobuf fields")

    def message(self, field: Field, what: str, depth: int) -> Iterator[Field]:
        """The fields of the embedded message ``field``, one level deeper than ``depth``."""
        self.expect(field, LEN, what)
        return self.fields(field.start, field.end, depth + 1)

    def data(self, field: Field, what: str, limit: int) -> bytes:
        """A length-delimited payload's first ``limit`` bytes (the rest is never read)."""
        self.expect(field, LEN, what)
        n = min(field.end - field.start, limit)
        return self._window(field.start, n) if n <= CHUNK else self.source.read_at(field.start, n)

    def text(self, field: Field, what: str, limit: int) -> str:
        raw = self.data(field, what, limit)
        text = raw.decode("utf-8", "replace")
        return text + "…" if field.end - field.start > limit else text

    @staticmethod
    def expect(field: Field, wire_type: int, what: str) -> None:
        if field.wire_type != wire_type:
            raise WireError(
                f"{what} (field {field.number} at byte {field.start}) has wire type "
                f"{field.wire_type}, not {wire_type}"
            )
