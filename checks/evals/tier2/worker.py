"""Sandboxed tier-2 entry point: reads a job, evaluates base and contribution, prints JSON."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path
from typing import Any, NoReturn


def _no_network(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise OSError("network access is disabled in the evals sandbox")


def guard_network() -> None:
    """Belt and braces beside the offline env vars: any connect or lookup fails at once."""
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
    socket.create_connection = _no_network
    socket.getaddrinfo = _no_network


def main(argv: list[str]) -> int:
    guard_network()
    job: dict[str, Any] = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    started = time.perf_counter()
    import torch  # imported only here, inside the sandbox

    torch.set_num_threads(int(job["threads"]))
    from checks.evals.tier2.evaluate import evaluate

    result = evaluate(job)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
