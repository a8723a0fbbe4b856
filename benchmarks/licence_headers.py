"""Times the licence check against `reuse lint` over a generated 10,000-file tree, whole-process."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "licence-tree"
REUSE = HERE / ".venv-reuse" / "bin" / "reuse"

# (suffix, comment prefix, suffix after): a mix like a model repo with training code.
KINDS = [
    (".py", "#", ""), (".sh", "#", ""), (".cu", "//", ""), (".cpp", "//", ""), (".ts", "//", ""),
    (".rs", "//", ""), (".go", "//", ""), (".java", "//", ""), (".yaml", "#", ""),
    (".toml", "#", ""), (".md", "<!--", " -->"), (".html", "<!--", " -->"),
]  # fmt: skip
BODY = "x = 1\n" * 60


def build(root: Path, count: int) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / "LICENSES").mkdir(parents=True)
    apache = (ROOT / "checks/licence/texts/apache-2.0.txt").read_text("utf-8").split("---", 2)[2]
    (root / "LICENSES/Apache-2.0.txt").write_text(apache)
    for i in range(count):
        suffix, start, end = KINDS[i % len(KINDS)]
        folder = root / f"pkg{i // 500}" / f"mod{(i // 50) % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        # Every 20th file lacks a header, so both tools have something to report.
        header = "" if i % 20 == 0 else (
            f"{start} SPDX-FileCopyrightText: 2026 Example{end}\n"
            f"{start} SPDX-License-Identifier: Apache-2.0{end}\n"
        )  # fmt: skip
        (folder / f"file{i}{suffix}").write_text(header + BODY)


def timed(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        times.append(time.perf_counter() - start)
    return times


def _runs(times: list[float]) -> list[float]:
    return [round(t, 2) for t in times]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    build(WORK, args.files)
    ours = timed([sys.executable, "-m", "checks.licence", str(WORK)], args.runs)
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; {time.strftime('%Y-%m-%d')}")
    print(f"tree: {args.files} files; runs: {args.runs}")
    print(f"reviewbot licence check: median {statistics.median(ours):.2f} s  {_runs(ours)}")
    if REUSE.exists():
        theirs = timed([str(REUSE), "--root", str(WORK), "lint"], args.runs)
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(f"reuse lint:              median {statistics.median(theirs):.2f} s  {_runs(theirs)}")
        print(f"ratio reuse / ours: {ratio:.1f}x")
    else:
        print("reuse lint: not installed (python -m venv benchmarks/.venv-reuse && "
              "benchmarks/.venv-reuse/bin/pip install reuse)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
