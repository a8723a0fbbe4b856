"""Cost of reading repository code for what it reaches: transformers' own model files, timed.

Every modeling, configuration and tokenization file the installed transformers ships is read as
remote code would be: parsed with ``ast``, then walked by ``checks.weights.code.reach``. Prints
medians over ``--runs`` rounds, per file and per MB, beside the parse alone.

    python benchmarks/code_reach.py --runs 5
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import platform
import statistics
import time
from pathlib import Path

from checks.weights.code.names import loader_of
from checks.weights.code.reach import dangerous_calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spec = importlib.util.find_spec("transformers")
    if spec is None or spec.origin is None:
        raise SystemExit("transformers is not installed (it is in the dev extra)")
    models = Path(spec.origin).parent / "models"
    sources = [p.read_bytes() for p in sorted(models.rglob("*.py")) if loader_of(p.name)]
    megabytes = sum(map(len, sources)) / 1e6
    parse, reach = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        trees = [ast.parse(s) for s in sources]
        parsed = time.perf_counter()
        flagged = sum(1 for t in trees if dangerous_calls(t))
        reach.append(time.perf_counter() - parsed)
        parse.append(parsed - start)
    p, r = statistics.median(parse), statistics.median(reach)
    print(f"{len(sources)} files, {megabytes:.1f} MB, {flagged} with a finding; "
          f"{platform.python_version()}, {args.runs} runs")  # fmt: skip
    print("| step | median | per file | per MB |")
    print("|---|---|---|---|")
    for name, t in (("ast.parse", p), ("reach", r), ("both", p + r)):
        print(f"| {name} | {t:.2f} s | {t / len(sources) * 1e3:.1f} ms | {t / megabytes:.2f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
