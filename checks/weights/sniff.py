"""Tell a file's format from its first bytes, never from its name."""

from __future__ import annotations

import struct
from pathlib import PurePosixPath

from checks.io.source import ByteSource

HEAD_BYTES = 4096

# Protocol 0/1 pickles have no header; these are the opcodes such a stream can start with.
_PROTO0_FIRST = frozenset(b"(ciIlLFSVNt])}JKMGTUX\x88\x89\x8aPg")

TEXT_SUFFIXES = frozenset(
    {
        ".json",
        ".md",
        ".txt",
        ".yaml",
        ".yml",
        ".toml",
        ".py",
        ".cfg",
        ".ini",
        ".jinja",
        ".j2",
        ".model",
        ".tiktoken",
        ".csv",
        ".html",
        ".sh",
    }
)
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".p", ".joblib", ".dat", ".data", ".dill"})
TORCH_SUFFIXES = frozenset({".pt", ".pth", ".bin", ".ckpt", ".tar", ".mar"})

_MSGPACK_MAPS = frozenset({*range(0x81, 0x90), 0xDE, 0xDF})
# TensorFlow's protobuf files have no magic; a SavedModel folder fixes their names.
TF_PROTO_FILES = {
    "saved_model.pb": "saved-model",
    "saved_model.pbtxt": "saved-model-text",  # loaded when no saved_model.pb sits beside it
    "keras_metadata.pb": "keras-metadata",
}

# Compressed forms only joblib writes: lzma "alone" streams and pre-0.10 "ZF" zlib files.
JOBLIB_ONLY = ("lzma", "joblib-zfile")

# What each name promises. A name not listed promises nothing.
EXPECTED_BY_SUFFIX: dict[str, frozenset[str]] = {
    ".safetensors": frozenset({"safetensors"}),
    ".gguf": frozenset({"gguf"}),
    ".npy": frozenset({"numpy"}),
    ".npz": frozenset({"zip"}),
    ".h5": frozenset({"hdf5"}),
    ".hdf5": frozenset({"hdf5"}),
    ".keras": frozenset({"zip"}),
    ".zip": frozenset({"zip"}),
    ".7z": frozenset({"7z"}),
    ".gz": frozenset({"gzip"}),
    ".pt": frozenset({"zip", "pickle", "tar"}),
    ".pth": frozenset({"zip", "pickle", "tar"}),
    ".ckpt": frozenset({"zip", "pickle", "tar"}),
    ".bin": frozenset({"zip", "pickle", "tar", "unknown"}),
    ".pkl": frozenset({"pickle", "zip", "gzip", "bzip2", "xz", "zlib", "lz4", *JOBLIB_ONLY}),
    ".pickle": frozenset({"pickle", "zip", "gzip", "bzip2", "xz", "zlib", "lz4", *JOBLIB_ONLY}),
    ".joblib": frozenset({"pickle", "gzip", "bzip2", "xz", "zlib", "lz4", *JOBLIB_ONLY}),
    ".png": frozenset({"png"}),
    ".onnx": frozenset({"onnx"}),
    ".pdparams": frozenset({"pickle"}),
    ".pdopt": frozenset({"pickle"}),
    ".pdmodel": frozenset({"paddle-program"}),
    ".xml": frozenset({"openvino-ir", "text"}),
    ".msgpack": frozenset({"msgpack"}),
    ".distcp": frozenset({"distcp"}),
}
for _suffix in TEXT_SUFFIXES:
    EXPECTED_BY_SUFFIX.setdefault(_suffix, frozenset({"text"}))

# Formats that can carry code to run on load; inside a name that promises plain data they lie.
CODE_CAPABLE = frozenset(
    {"pickle", "zip", "tar", "7z", "gzip", "bzip2", "xz", "zlib", "lz4", *JOBLIB_ONLY}
)


def suffix_of(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def sniff(source: ByteSource, name: str) -> str:
    head = source.read_at(0, HEAD_BYTES)
    return sniff_bytes(head, source.size, name)


def sniff_bytes(head: bytes, size: int, name: str) -> str:
    """One of: safetensors zip 7z gzip bzip2 xz zlib lz4 lzma joblib-zfile tar numpy gguf hdf5
    png pickle onnx onnx-data paddle-program openvino-ir msgpack saved-model saved-model-text
    keras-metadata text empty unknown."""
    if not head:
        return "empty"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if _looks_like_lzma_alone(head):
        return "lzma"
    if head[:4] == b"ZF0x":
        return "joblib-zfile"
    if head[:6] == b"\x93NUMPY":
        return "numpy"
    if head[:4] == b"GGUF":
        return "gguf"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if name.lower().endswith((".onnx.data", ".onnx_data")):
        # Raw tensor bytes an ONNX model points at: floats that happen to look like a pickle
        # opcode are still floats, and ONNX never unpickles them.
        return "onnx-data"
    # Flax's state dict: a msgpack map (fixmap, map16 or map32), told apart from a pickle by name.
    if suffix_of(name) == ".msgpack" and (head[0] in _MSGPACK_MAPS or head == b"\x80"):
        return "msgpack"
    if _looks_like_safetensors(head, size):
        return "safetensors"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return "zlib"
    tf_proto = TF_PROTO_FILES.get(PurePosixPath(name).name.lower())
    if tf_proto is not None:
        return tf_proto
    suffix = suffix_of(name)
    # ONNX has no magic: onnx.save writes ir_version (field 1, a varint) first.
    if suffix == ".onnx" and head[0] == 0x08:
        return "onnx"
    # A paddle ProgramDesc has no magic either: its blocks (field 1, length-delimited) come first.
    if suffix == ".pdmodel" and head[0] == 0x0A:
        return "paddle-program"
    # Every .xml goes to the OpenVINO reader, which refuses DTDs and entities before anything
    # else and calls XML that is not an IR plain text.
    if suffix == ".xml" and (_is_text(head) or head[:2] in (b"\xff\xfe", b"\xfe\xff")):
        return "openvino-ir"
    if suffix in TEXT_SUFFIXES and _is_text(head):
        return "text"
    # Plain text that happens to start with an opcode byte stays text unless its name
    # says pickle or it opens the way protocol 0/1 pickles do (an import or a MARK).
    if (
        head[0] in _PROTO0_FIRST
        and b"." in head
        and (not _is_text(head) or suffix in PICKLE_SUFFIXES | TORCH_SUFFIXES or head[0] in b"c(")
    ):
        return "pickle"
    if head[:1] == b"\x80":  # PROTO with a protocol no pickle has yet: still pickle-shaped
        return "pickle"
    if _is_text(head):
        return "text"
    return "unknown"


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (length,) = struct.unpack_from("<Q", head)
    return 2 <= length <= size - 8 and head[8:9] == b"{"


def _looks_like_lzma_alone(head: bytes) -> bool:
    """An .lzma ("alone") header as joblib writes it: the default properties byte, a sane
    dictionary size, and an unknown or plausible uncompressed size. Protocol 0 pickles that
    open with EMPTY_LIST never follow it with a zero byte, which is no opcode."""
    if len(head) < 13 or head[:2] != b"\x5d\x00":
        return False
    dict_size: int = struct.unpack_from("<I", head, 1)[0]
    size: int = struct.unpack_from("<Q", head, 5)[0]
    return 1 << 12 <= dict_size <= 1 << 30 and (size == (1 << 64) - 1 or size < 1 << 48)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is still text.
        return exc.start >= len(head) - 4
    return True
