"""The HDF5 reader's child process: opens one untrusted file with h5py under a memory cap."""

from __future__ import annotations

import sys
from typing import Any

# The answer's first line says what follows: a config, none, or why the file cannot be read.
CONFIG = b"config"
NONE = b"none"
INVALID = b"invalid"
TOO_BIG = b"too-big"


def read_model_config(path: str, max_bytes: int) -> bytes:
    """The framed answer for the file at ``path``: a status line, then the payload."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            return _model_config(handle, max_bytes)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:  # h5py's errors on bad files
        return INVALID + b"\n" + str(exc).encode("utf-8", "replace")[:500]


def _model_config(handle: Any, max_bytes: int) -> bytes:
    if "model_config" not in handle.attrs:
        return NONE + b"\n"  # weights only: nothing runs on load
    size = handle.attrs.get_id("model_config").get_storage_size()
    if size > max_bytes:
        return TOO_BIG + b"\n" + str(size).encode()
    value = handle.attrs["model_config"]  # str or bytes, by how the writer stored it
    if isinstance(value, bytes):
        return CONFIG + b"\n" + bytes(value)
    return CONFIG + b"\n" + str(value).encode("utf-8", "replace")  # anything else fails as JSON


def main(argv: list[str]) -> int:
    path, max_bytes, memory = argv[0], int(argv[1]), int(argv[2])
    if memory > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    answer = read_model_config(path, max_bytes)
    sys.stdout.buffer.write(answer)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
