"""Runs the tier-2 worker in a subprocess with memory, CPU, wall-clock and network limits."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import checks

PROJECT_ROOT = Path(checks.__file__).resolve().parent.parent
WORKER = "checks.evals.tier2.worker"
# Only these reach the sandbox: no tokens, no proxies, no cache locations of the host.
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR")


@dataclass(frozen=True)
class Limits:
    address_space: int  # bytes, RLIMIT_AS: counts memory maps and every tensor buffer
    cpu_seconds: int
    wall_seconds: float
    threads: int


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool


def sandbox_env(home: Path, threads: int) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(
        {
            "HOME": str(home),
            "HF_HOME": str(home / "hf"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def run_worker(job: Path, home: Path, limits: Limits) -> Outcome:
    def apply_limits() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (limits.address_space, limits.address_space))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    proc = subprocess.Popen(
        [sys.executable, "-m", WORKER, str(job)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=home,
        env=sandbox_env(home, limits.threads),
        start_new_session=True,  # its own process group, so a timeout kills every child too
        preexec_fn=apply_limits,  # the review runs checks on one thread, so the fork is safe
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=limits.wall_seconds)
        return Outcome(proc.returncode, out, err, timed_out=False)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Outcome(proc.returncode, out, err, timed_out=True)
