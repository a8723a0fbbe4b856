"""Tier-1 NaN scan and delta throughput against a raw read of the same files: cold, warm, HTTP."""

from __future__ import annotations

import gc
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests
from safetensors.numpy import save_file

from checks.base import Contribution, RemoteBlob
from checks.evals.check import QuickEvalCheck
from checks.evals.files import local_folder
from checks.evals.tensors import analyse
from checks.evals.weightset import load_weights

SHAPES = {"wte": (50257, 768), "wpe": (1024, 768)} | {
    f"h.{i}.{part}": shape
    for i in range(12)
    for part, shape in {
        "attn.c_attn": (768, 2304),
        "attn.c_proj": (768, 768),
        "mlp.c_fc": (768, 3072),
        "mlp.c_proj": (3072, 768),
    }.items()
}


def build(folder: Path) -> tuple[Path, Path]:
    """Two GPT-2-small-sized fp32 checkpoints: a base and a 1% fine-tune of it."""
    rng = np.random.default_rng(0)
    base = {k: (rng.standard_normal(s, dtype=np.float32) * 0.02) for k, s in SHAPES.items()}
    (folder / "base").mkdir()
    (folder / "contrib").mkdir()
    save_file(base, str(folder / "base" / "model.safetensors"))
    for v in base.values():
        v += rng.standard_normal(v.shape, dtype=np.float32) * 0.0002
    save_file(base, str(folder / "contrib" / "model.safetensors"))
    return folder / "base", folder / "contrib"


def evict(paths: list[Path]) -> None:
    gc.collect()
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def raw_read(paths: list[Path]) -> None:
    buf = bytearray(16 << 20)
    for path in paths:
        with path.open("rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass


def timed(fn: Callable[[], object], files: list[Path], cold: bool) -> float:
    best = float("inf")
    for _ in range(3):
        if cold:
            evict(files)
        else:
            fn()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        base_dir, contrib_dir = build(Path(tmp))
        files = [contrib_dir / "model.safetensors", base_dir / "model.safetensors"]
        os.sync()
        size = sum(p.stat().st_size for p in files)
        scan = lambda: _analyse(contrib_dir, None)  # noqa: E731
        delta = lambda: _analyse(contrib_dir, base_dir)  # noqa: E731
        print(f"machine: {os.cpu_count()} cores, {_cpu()}, python {sys.version.split()[0]}")
        print(f"two fp32 checkpoints of {files[0].stat().st_size / 1e6:.0f} MB each")
        for cache in ("cold", "warm"):
            cold = cache == "cold"
            t_scan_raw = timed(lambda: raw_read(files[:1]), files, cold)
            t_scan = timed(scan, files, cold)
            t_raw = timed(lambda: raw_read(files), files, cold)
            t_delta = timed(delta, files, cold)
            one = files[0].stat().st_size
            print(
                f"{cache}: raw read 1 file {one / t_scan_raw / 1e9:.2f} GB/s, NaN scan "
                f"{one / t_scan / 1e9:.2f} GB/s ({t_scan_raw / t_scan:.2f}x of raw); "
                f"raw read 2 files {size / t_raw / 1e9:.2f} GB/s, "
                f"scan+delta {size / t_delta / 1e9:.2f} GB/s "
                f"({t_raw / t_delta:.2f}x of raw)"
            )
        remote(base_dir, contrib_dir)


def remote(base_dir: Path, contrib_dir: Path) -> None:
    """The contribution's weights behind a loopback range server, read by the tier-1 check."""
    from tests.fakes.range_server import serve

    rel = "model.safetensors"
    size = (contrib_dir / rel).stat().st_size
    with serve(contrib_dir) as server:
        blob = {rel: RemoteBlob(server.url(rel), size=size)}
        empty = Path(tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR")))

        def check(base: Path | None) -> None:
            c = Contribution(root=empty, files=[rel], base=base, remote=blob)
            QuickEvalCheck().run(c)

        def get() -> None:
            with requests.get(server.url(rel), stream=True, timeout=60) as response:
                for _ in response.iter_content(4 << 20):
                    pass

        t_get = timed(get, [], cold=False)
        t_scan = timed(lambda: check(None), [], cold=False)
        t_delta = timed(lambda: check(base_dir), [], cold=False)
        empty.rmdir()
    print(
        f"remote (loopback HTTP, warm): one GET {size / t_get / 1e9:.2f} GB/s, NaN scan "
        f"{size / t_scan / 1e9:.2f} GB/s ({t_get / t_scan:.2f}x of the GET), scan+delta vs a "
        f"local base {size / t_delta / 1e9:.2f} GB/s ({t_get / t_delta:.2f}x)"
    )


def _analyse(contrib: Path, base: Path | None) -> None:
    with load_weights(local_folder(contrib)) as mine:
        if base is None:
            analyse(mine, None)
            return
        with load_weights(local_folder(base)) as theirs:
            analyse(mine, theirs)


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
