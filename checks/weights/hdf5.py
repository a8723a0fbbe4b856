"""HDF5 files read in a child process: h5py's C parser meets untrusted bytes away from the scan."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource, LocalFile
from checks.weights import hdf5_child
from checks.weights.context import ScanContext

CRASH = "hdf5-parser-crash"
INVALID = "keras-invalid"
COPY_CHUNK = 8 << 20
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the checks package


class ChildFailed(Exception):
    """The child died, was killed, ran out of time or answered nonsense."""


def scan_hdf5(source: ByteSource, ctx: ScanContext) -> None:
    """An HDF5 file: a full-model save holds its config in the root attribute model_config."""
    try:
        answer = _read_in_child(source, ctx)
    except ChildFailed as exc:
        ctx.report(
            CRASH,
            Severity.HIGH,
            f"the HDF5 parser crashed on this file ({exc}); the file was not inspected",
        )
        return
    status, _, payload = answer.partition(b"\n")
    if status == hdf5_child.INVALID:
        message = payload.decode("utf-8", "replace")
        ctx.report(INVALID, Severity.HIGH, f"HDF5 file h5py cannot read ({message}); not inspected")
    elif status == hdf5_child.TOO_BIG:
        raise LimitExceeded(f"HDF5 model_config of {payload.decode('ascii', 'replace')} bytes")
    elif status == hdf5_child.CONFIG:
        from checks.weights.keras import scan_config_text

        scan_config_text(payload, ctx, "model_config")
    elif status != hdf5_child.NONE:
        ctx.report(
            CRASH, Severity.HIGH, "the HDF5 parser gave no answer; the file was not inspected"
        )


def _read_in_child(source: ByteSource, ctx: ScanContext) -> bytes:
    if isinstance(source, LocalFile):
        source.note_read(source.size)
        return _run_child(str(Path(source.path).resolve()), ctx)
    if source.size > ctx.limits.max_hdf5_copy_bytes:
        raise LimitExceeded(
            f"HDF5 file of {source.size} bytes is too large to copy for the contained parser"
        )
    with tempfile.TemporaryDirectory(prefix="reviewbot-h5-") as folder:
        path = os.path.join(folder, "file.h5")
        with open(path, "wb") as out:
            offset = 0
            while offset < source.size:
                chunk = source.read_at(offset, min(COPY_CHUNK, source.size - offset))
                if not chunk:
                    break
                out.write(chunk)
                offset += len(chunk)
        return _run_child(path, ctx)


def _run_child(path: str, ctx: ScanContext) -> bytes:
    limits = ctx.limits
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", HDF5_PLUGIN_PRELOAD="::")
    # -P: the working folder (maybe the contribution itself) never lands on the child's path.
    command = [sys.executable, "-P", "-m", "checks.weights.hdf5_child"]
    command += [path, str(limits.max_config_bytes), str(limits.hdf5_memory_bytes)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=limits.hdf5_timeout_s,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"no answer within {limits.hdf5_timeout_s:g} s; stopped") from exc
    if done.returncode < 0:
        raise ChildFailed(f"killed by signal {-done.returncode}")
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise ChildFailed(f"exit status {done.returncode}: {tail[0][:200]}")
    if len(done.stdout) > limits.max_config_bytes + 4096:
        raise ChildFailed("it answered more than a model_config can hold")
    return done.stdout
