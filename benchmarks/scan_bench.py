"""Weight-file scanner benchmark: reviewbot against picklescan, modelscan, fickling, modelaudit."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scan_corpus.build import Sample, build

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
CORPUS = WORK / "corpus"
BENCH_VENV = HERE / ".venv"
# reviewbot as users get it: a regular (wheel) install of this tree, like the peers' installs.
REVIEWBOT_VENV = HERE / ".venv-reviewbot"
BENCH_BIN = BENCH_VENV / "bin"

# Versions measured for docs/benchmarks.md; bump together with the table.
PINS = [
    "picklescan==1.0.5",
    "modelscan==0.8.8",
    "fickling==0.1.12",
    "typing_extensions==4.16.0",  # fickling 0.1.12's wheel forgets to declare it
    "modelaudit==0.2.54",
    "h5py==3.16.0",  # modelscan's and modelaudit's Keras HDF5 scanners need it
    "jinja2==3.1.6",
    "py7zr==1.1.4",  # LGPL: used only here, to write the 7z sample
]
PEER_DISTS = ["picklescan", "modelscan", "fickling", "modelaudit"]
QUIET_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",  # modelaudit's documented opt-out
    "NO_ANALYTICS": "1",  # modelaudit honours this too
    "DO_NOT_TRACK": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "NO_COLOR": "1",
    "TERM": "dumb",
}
CLASS_ORDER = [
    "small zip",
    "100 MB zip",
    "1 GB zip",
    "small legacy",
    "1 GB legacy",
    "50k-tensor",
    "npy",
    "safetensors",
    "other",
    "hostile pickle",
    "hostile container",
]


@dataclass
class Tool:
    """A scanner as a user runs it: one command line and the rule for "flagged"."""

    name: str
    argv: Callable[[Path], list[str]]
    rule: str
    flagged: Callable[[int, str], bool] = lambda rc, out: rc == 1


@dataclass
class Outcome:
    """Every run of one tool on one file."""

    times: list[float] = field(default_factory=list)
    rc: int | None = None
    flagged: bool = False
    timed_out: bool = False
    detail: str = ""
    rules: list[str] = field(default_factory=list)


def ensure_bench_venv() -> dict[str, str]:
    """Create benchmarks/.venv with the pinned peers; return {dist: version} of what installed."""
    py = BENCH_BIN / "python"
    marker = BENCH_VENV / ".bench-pins"
    if not py.exists():
        print("creating benchmarks/.venv", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    if not marker.exists() or marker.read_text() != "\n".join(PINS):
        for pin in PINS:
            print(f"  pip install {pin}", file=sys.stderr, flush=True)
            done = subprocess.run(
                [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", pin],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                print(f"  could not install {pin}; going on without it", file=sys.stderr)
        marker.write_text("\n".join(PINS))
    query = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for d in sys.argv[1:]:\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    names = [p.split("==")[0] for p in PINS] + ["numpy"]
    res = subprocess.run([str(py), "-c", query, *names], capture_output=True, text=True)
    return dict(json.loads(res.stdout or "{}"))


def ensure_reviewbot_venv() -> Path:
    """Install this tree (not editable) into benchmarks/.venv-reviewbot; return its command."""
    py = REVIEWBOT_VENV / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if not py.exists():
        print("creating benchmarks/.venv-reviewbot", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(REVIEWBOT_VENV)], check=True)
        subprocess.run([*pip, str(HERE.parent)], check=True)
    else:  # dependencies are there already: refresh reviewbot itself from the tree
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(HERE.parent)], check=True)
    return REVIEWBOT_VENV / "bin" / "reviewbot"


def picklescan_flagged(rc: int, out: str) -> bool:
    match = re.search(r"Dangerous globals:\s*(\d+)", out)
    return rc == 1 or bool(match and int(match.group(1)) > 0)


def make_tools(versions: dict[str, str], only: set[str] | None) -> list[Tool]:
    """The five scanners (picklescan twice: default and --strict)."""
    reviewbot = ensure_reviewbot_venv()
    fickling_json = WORK / "run" / "fickling.json"
    tools = [
        Tool(
            "reviewbot",
            lambda p: [str(reviewbot), "scan", "--format", "json", "--no-progress", str(p)],
            "exit 1 (verdict fail); a benign file passes on exit 0 (pass or warn)",
        )
    ]
    if "picklescan" in versions:
        exe = str(BENCH_BIN / "picklescan")
        rule = "exit 1, or 'Dangerous globals: N>0' in the summary; passes on exit 0"
        tools.append(
            Tool("picklescan", lambda p, exe=exe: [exe, "-p", str(p)], rule, picklescan_flagged)
        )
        tools.append(
            Tool(
                "picklescan --strict",
                lambda p, exe=exe: [exe, "--strict", "-p", str(p)],
                rule + " (suspicious globals promoted to dangerous)",
                picklescan_flagged,
            )
        )
    if "modelscan" in versions:
        exe = str(BENCH_BIN / "modelscan")
        tools.append(
            Tool(
                "modelscan",
                lambda p, exe=exe: [exe, "-p", str(p)],
                "exit 1 (issues found); 2/3 are errors or 'no supported files', not a catch",
            )
        )
    if "fickling" in versions:
        exe = str(BENCH_BIN / "fickling")
        tools.append(
            Tool(
                "fickling",
                lambda p, exe=exe: [
                    exe,
                    "--check-safety",
                    "--json-output",
                    str(fickling_json),
                    str(p),
                ],
                "CLI --check-safety exits 1; exit 2 (cannot parse) is an error, not a catch",
            )
        )
    if "modelaudit" in versions:
        exe = str(BENCH_BIN / "modelaudit")
        tools.append(
            Tool(
                "modelaudit",
                lambda p, exe=exe: [exe, "scan", "--no-cache", "--format", "json", str(p)],
                "exit 1 (security issues found); exit 2 (scan errors) is not a catch",
            )
        )
    if only:
        tools = [t for t in tools if t.name in only or t.name.split()[0] in only]
    return tools


def reviewbot_detail(out: str) -> tuple[str, list[str]]:
    """The verdict, the first findings and the distinct rules of reviewbot's JSON report."""
    try:
        report = json.loads(out)
    except ValueError:
        return (out.strip().splitlines()[-1][:200] if out.strip() else "(no output)"), []
    findings = report.get("findings", [])
    worst = [f"{f.get('severity')}:{f.get('rule')}: {f.get('message')}" for f in findings]
    rules = sorted({f"{f.get('rule')}" for f in findings})
    return f"{report.get('verdict')}; " + " | ".join(worst[:3]), rules


def run_all(
    tools: list[Tool], samples: list[Sample], reps: int, timeout: float
) -> dict[tuple[str, str], Outcome]:
    """Run every tool on every file, interleaving tools per file and rotating their order."""
    env = {**os.environ, **QUIET_ENV}
    rundir = WORK / "run"
    rundir.mkdir(parents=True, exist_ok=True)
    results = {(t.name, s.rel): Outcome() for t in tools for s in samples}
    total = reps * len(samples)
    for rep in range(reps):
        for i, sample in enumerate(samples):
            done = rep * len(samples) + i + 1
            if sys.stderr.isatty():
                print(f"\r  run {done}/{total} {sample.rel:<60}", end="", file=sys.stderr)
            elif done % 20 == 0 or done == total:
                print(f"  run {done}/{total}", file=sys.stderr, flush=True)
            k = (i + rep) % len(tools)
            for tool in tools[k:] + tools[:k]:
                res = results[(tool.name, sample.rel)]
                if res.timed_out:
                    continue
                argv = tool.argv(CORPUS / sample.rel)
                start = time.perf_counter()
                try:
                    proc = subprocess.run(
                        argv,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=env,
                        cwd=rundir,
                        timeout=timeout,
                    )
                except subprocess.TimeoutExpired:
                    res.timed_out = True
                    res.times.append(timeout)
                    res.detail = f"timed out after {timeout:.0f} s"
                    continue
                res.times.append(time.perf_counter() - start)
                out = proc.stdout.decode(errors="replace")
                res.rc = proc.returncode
                res.flagged = tool.flagged(proc.returncode, out)
                if tool.name == "reviewbot":
                    res.detail, res.rules = reviewbot_detail(out)
                elif not res.detail:
                    tail = [ln for ln in out.strip().splitlines() if ln.strip()]
                    res.detail = tail[-1][:160] if tail else ""
    print(file=sys.stderr)
    return results


def symbol(sample: Sample, res: Outcome) -> str:
    """✓ right answer, ✗ wrong answer, E error exit with no finding, T timeout."""
    if res.timed_out:
        return "T"
    if sample.expect == "hostile":
        return "✓" if res.flagged else ("✗" if res.rc == 0 else "E")
    if res.flagged:
        return "✗"
    return "✓" if res.rc == 0 else "E"


def fmt_s(value: float | None, timed_out: bool = False) -> str:
    if value is None:
        return "–"
    return f">{value:.0f}" if timed_out else f"{value:.2f}"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(ln.split()[1])
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("MemTotal")
        )
        ram = f"{mem_kb / (1 << 20):.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        ram = "RAM unknown"
    return f"{os.cpu_count()} CPUs ({cpu}), {ram}, {platform.system()} {platform.release()}"


def report(
    tools: list[Tool],
    samples: list[Sample],
    results: dict[tuple[str, str], Outcome],
    versions: dict[str, str],
    reps: int,
) -> str:
    """Markdown tables: verdicts, per-class medians, targets and reviewbot's wrong answers."""
    lines: list[str] = []
    say = lines.append
    say(f"Machine: {machine()}. Python {platform.python_version()}. Repetitions: {reps}.")
    vers = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    say(f"Peer environment: {vers or 'not installed'}.")
    say("")
    say("Flagged rules:")
    for t in tools:
        say(f"- {t.name}: {t.rule}")
    say("")
    hostile = [s for s in samples if s.expect == "hostile"]
    benign = [s for s in samples if s.expect != "hostile"]
    say("| tool | hostile caught | hostile: error exit | benign passed | benign: error exit |")
    say("|---|---|---|---|---|")
    for t in tools:
        hs = [symbol(s, results[(t.name, s.rel)]) for s in hostile]
        bs = [symbol(s, results[(t.name, s.rel)]) for s in benign]
        say(
            f"| {t.name} | {hs.count('✓')}/{len(hs)} | {hs.count('E') + hs.count('T')} "
            f"| {bs.count('✓')}/{len(bs)} | {bs.count('E') + bs.count('T')} |"
        )
    say("")
    classes = [c for c in CLASS_ORDER if any(s.cls == c for s in samples)]
    peers = [t for t in tools if t.name != "reviewbot"]
    medians: dict[tuple[str, str], tuple[float | None, bool]] = {}
    for t in tools:
        for c in classes:
            runs = [results[(t.name, s.rel)] for s in samples if s.cls == c]
            times = [x for r in runs for x in r.times]
            medians[(t.name, c)] = (
                statistics.median(times) if times else None,
                any(r.timed_out for r in runs),
            )
    has_rb = any(t.name == "reviewbot" for t in tools)
    head = "| class (files) | " + " | ".join(t.name for t in tools)
    ratio_cols = " | reviewbot ÷ fastest peer | reviewbot ÷ fastest right peer |"
    say(head + (ratio_cols if has_rb and peers else " |"))
    say("|---" * (len(tools) + 1 + (2 if has_rb and peers else 0)) + "|")
    for c in classes:
        n = sum(1 for s in samples if s.cls == c)
        row = [fmt_s(*medians[(t.name, c)]) for t in tools]
        extra = ""
        if has_rb and peers:
            rb = medians[("reviewbot", c)][0]
            in_class = [x for x in samples if x.cls == c]
            right = [
                t
                for t in peers
                if all(symbol(x, results[(t.name, x.rel)]) == "✓" for x in in_class)
            ]
            cells = []
            for group in (peers, right):
                times = [medians[(t.name, c)][0] for t in group]
                fastest = min((x for x in times if x is not None), default=None)
                cells.append(f"{rb / fastest:.2f}×" if rb and fastest else "–")
            extra = " | " + " | ".join(cells)
        say(f"| {c} ({n}) | " + " | ".join(row) + extra + " |")
    say("")
    say(
        "Median whole-process seconds per file (all runs of every file in the class). "
        "A right peer gave the right verdict on every file of the class; error exits are fast."
    )
    say("")
    if has_rb:
        rb = {s.rel: results[("reviewbot", s.rel)] for s in samples}

        def med(rel: str) -> float | None:
            r = rb.get(rel)
            return statistics.median(r.times) if r and r.times else None

        small, big = med("benign/zip_10mb.pt"), med("benign/zip_1gb.pt")
        legacy = med("benign/legacy_1gb.pt")
        if small and big:
            say(
                f"- reviewbot 1 GB zip ÷ 10 MB zip: {big / small:.2f}× (target ≤ 1.5×); "
                f"1 GB zip whole process {big:.2f} s (target < 1 s); "
                f"1 GB legacy {legacy or 0:.2f} s"
            )
        fifty = med("benign/tensors_50k.pt")
        ps = results.get(("picklescan", "benign/tensors_50k.pt"))
        if fifty and ps and ps.times:
            ps_med = statistics.median(ps.times)
            say(
                f"- 50k-tensor: reviewbot {fifty:.2f} s, picklescan {ps_med:.2f} s: "
                f"{ps_med / fifty:.1f}× faster (target ≥ 2×)"
            )
        say("")
    say("Per file (✓ right verdict, ✗ wrong verdict, E error exit without a finding, T timeout):")
    say("")
    rules = " | reviewbot rules" if has_rb else ""
    say("| file | technique | expect | " + " | ".join(t.name for t in tools) + rules + " |")
    say("|---" * (len(tools) + 3 + (1 if has_rb else 0)) + "|")
    for s in samples:
        cells = [symbol(s, results[(t.name, s.rel)]) for t in tools]
        if has_rb:
            cells.append(", ".join(results[("reviewbot", s.rel)].rules) or "–")
        say(f"| {s.rel} | {s.technique} | {s.expect} | " + " | ".join(cells) + " |")
    say("")
    if has_rb:
        wrong = [s for s in samples if symbol(s, results[("reviewbot", s.rel)]) != "✓"]
        warn_ok = [
            s
            for s in samples
            if s.expect == "warn" and not results[("reviewbot", s.rel)].detail.startswith("warn")
        ]
        say("reviewbot wrong answers:" if wrong else "reviewbot: every verdict right.")
        for s in wrong:
            r = results[("reviewbot", s.rel)]
            say(f"- {s.rel} ({s.technique}, expected {s.expect}): rc {r.rc}: {r.detail}")
        for s in warn_ok:
            r = results[("reviewbot", s.rel)]
            say(f"- note: {s.rel} expected verdict warn, got: {r.detail}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="no 1 GB files, one repetition")
    ap.add_argument("--only", action="append", help="run only this tool (repeatable)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3, quick 1)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per scan")
    ap.add_argument(
        "--report", action="store_true", help="print the tables again from the last full run"
    )
    args = ap.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    only = {o.strip() for item in args.only or [] for o in item.split(",")} or None
    need_peers = only is None or bool(only - {"reviewbot"})
    versions: dict[str, str] = {}
    if need_peers or (BENCH_BIN / "python").exists():
        versions = ensure_bench_venv() if need_peers else {}
    for dist in PEER_DISTS:
        if need_peers and dist not in versions:
            print(f"{dist} is not installed in benchmarks/.venv: skipped", file=sys.stderr)
    seven_py = BENCH_BIN / "python" if (BENCH_BIN / "python").exists() else None
    print("building the corpus (cached in benchmarks/.work/corpus)", file=sys.stderr)
    samples = build(CORPUS, args.quick, seven_py)
    tools = make_tools(versions, only)
    print(f"{len(samples)} files x {len(tools)} tools x {reps} reps", file=sys.stderr)
    saved = WORK / "results.json"
    if args.report and saved.exists():
        raw_in = json.loads(saved.read_text())
        versions = raw_in.pop("__versions__", versions)
        reps = raw_in.pop("__reps__", reps)
        results = {}
        for key, val in raw_in.items():
            tool_name, rel = key.split("::", 1)
            results[(tool_name, rel)] = Outcome(
                val["times"],
                val["rc"],
                val["flagged"],
                val.get("timed_out", False),
                val["detail"],
                val.get("rules", []),
            )
        names = {t for t, _ in results}
        tools = [t for t in make_tools(versions, None) if t.name in names]
        print(report(tools, samples, results, versions, reps))
        return 0
    results = run_all(tools, samples, reps, args.timeout)
    text = report(tools, samples, results, versions, reps)
    print(text)
    (WORK / ("results-quick.md" if args.quick else "results.md")).write_text(text + "\n")
    raw = {
        f"{tool}::{rel}": {
            "times": r.times,
            "rc": r.rc,
            "flagged": r.flagged,
            "timed_out": r.timed_out,
            "detail": r.detail,
            "rules": r.rules,
        }
        for (tool, rel), r in results.items()
    }
    if not args.quick and only is None:
        raw["__versions__"] = versions
        raw["__reps__"] = reps
    name = "results.json" if not args.quick and only is None else "results-partial.json"
    (WORK / name).write_text(json.dumps(raw, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
