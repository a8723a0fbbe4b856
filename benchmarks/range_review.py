"""Bytes transferred and time to verdict for a 1 GB and a 5 GB pull request, ranges vs download."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import shutil
import socketserver
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, JustifyMethod
from rich.table import Table

if TYPE_CHECKING:
    from checks.cache import ResultCache
    from reviewbot.models import ContributionRef
    from reviewbot.platforms.base import PlatformClient
    from reviewbot.review_cache import ReviewCache
    from reviewbot.service import ReviewInputs
    from tests.fakes.big_models import BuiltModel
    from tests.fakes.fake_github import FakeGitHub
    from tests.fakes.fake_hub import FakeHub

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"  # the recorded GitHub responses the fake GitHub is built from
APP_ID = 123456
INSTALLATION = 4242
REMOTE_MIN_BYTES = 1 << 20  # the service's default: files this big are read by range
CARD = b"---\nlicense: apache-2.0\n---\n\n# A big fine-tune\n\nA benchmark contribution.\n"

SCENARIOS = ("full", "cold", "cached", "recheck")
LABELS = {
    "full": "full download",
    "cold": "range reads, cold",
    "cached": "range reads, cached blobs",
    "recheck": "re-check, unchanged PR",
}
CASES = {"torch": "torch zip, GitHub", "llama": "5 safetensors shards, Hub"}


@dataclass
class Run:
    """One review: its time to a posted verdict and what the fakes served meanwhile."""

    seconds: float
    bytes: int
    requests: int  # file-content requests (raw contents, LFS objects, Hub resolves)
    http: int  # every request to either fake: API calls and file requests
    verdict: str
    by_file: dict[str, int]  # bytes per file
    requests_by_file: dict[str, int]


@dataclass
class Result:
    """Every run of one scenario on one pull request kind."""

    case: str
    scenario: str
    files: dict[str, int]  # the pull request's files and their sizes
    runs: list[Run] = field(default_factory=list)
    comment: str = ""  # the verdict comment of the first run

    @property
    def size(self) -> int:
        return sum(self.files.values())

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def fastest(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def bytes(self) -> int:
        return self.runs[0].bytes


@dataclass
class Fakes:
    """Both fakes, always counted together: a GitHub pull request must not touch the Hub."""

    github: FakeGitHub
    hub: FakeHub

    def reset(self) -> None:
        self.github.reset_counters()
        self.hub.reset_counters()

    def bytes(self) -> int:
        return self.github.bytes_served + self.hub.bytes_served

    def requests(self) -> int:
        return self.github.file_requests + self.hub.file_requests

    def http(self) -> int:
        """Requests either fake has logged so far: API calls and file requests alike."""
        return len(self.github.log) + len(self.hub.requests)

    def by_file(self, names: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
        """Bytes and requests per file, keyed by the pull request's paths (not oids or repos)."""
        return (
            _per_file([self.github.bytes_by_path, self.hub.bytes_by_path], names),
            _per_file([self.github.requests_by_path, self.hub.requests_by_path], names),
        )


def _per_file(counts: list[dict[str, int]], names: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, n in itertools.chain.from_iterable(c.items() for c in counts):
        name = names.get(key) or key.split("/", 2)[-1]  # an LFS oid; or owner/repo/path
        out[name] = out.get(name, 0) + n
    return out


@dataclass
class Case:
    """One kind of pull request on its platform, and how to open a fresh one with its blobs."""

    name: str
    model: BuiltModel
    platform: PlatformClient
    open_pull: Callable[[], ContributionRef]
    comment: Callable[[ContributionRef], str]  # the verdict comment as posted
    names: dict[str, str]  # LFS oid -> the path that committed it
    warm: ResultCache  # per-file results of the first, untimed review
    reviews: ReviewCache  # whole reviews: holds the first review
    primed: ContributionRef | None = None  # the pull request of the first review


def app_keys() -> tuple[str, str]:
    """A fresh GitHub App key pair (private PEM, public PEM), as the service tests make one."""
    from tests.fakes.fake_github import app_key_pair

    return app_key_pair()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if abs(n) < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.2f} GiB"


def percent(part: int, whole: int) -> str:
    share = 100 * part / whole
    if part == 0:
        return "0%"
    return f"{share:.4f}%" if share < 0.01 else f"{share:.3f}%" if share < 1 else f"{share:.0f}%"


def times(full: float, this: float) -> str:
    """How many times ``full`` is ``this``; a dash for nothing at all."""
    if this <= 0:
        return "–"
    return f"{full / this:,.0f}×" if full / this >= 10 else f"{full / this:.1f}×"


@contextlib.contextmanager
def fakes_running(work: Path, public_key: str) -> Iterator[Fakes]:
    """The fake GitHub and the fake Hub on loopback ports, for the benchmark's duration."""
    from tests.fakes import fake_github, fake_hub

    with contextlib.ExitStack() as stack:
        github = stack.enter_context(
            contextlib.contextmanager(fake_github.serve)(SHARED, APP_ID, public_key)
        )
        hub = stack.enter_context(contextlib.contextmanager(fake_hub.serve)(work / "hub"))
        yield Fakes(github, hub)


def make_cases(
    only: str | None, fakes: Fakes, models: dict[str, BuiltModel], private_key: str
) -> list[Case]:
    from checks.cache import MemoryResultCache
    from reviewbot.models import ContributionRef, Platform
    from reviewbot.platforms.github import GitHubPlatform
    from reviewbot.platforms.hub import HubPlatform
    from reviewbot.review_cache import MemoryReviewCache

    apache = (ROOT / "checks" / "licence" / "texts" / "apache-2.0.txt").read_bytes()
    context = {"README.md": CARD, "LICENSE": apache}
    numbers = itertools.count(1)  # a new repository per pull request: a new head commit
    cases = []
    if only in (None, "torch"):
        torch = models["torch"]

        def github_pull() -> ContributionRef:
            repo = f"acme/torch-{next(numbers)}"
            fakes.github.add_repo(repo, files=context, installation_id=INSTALLATION)
            lfs = frozenset(torch.files)
            head = fakes.github.open_pull(repo, 1, dict(torch.files), lfs=lfs)
            return ContributionRef(
                Platform.GITHUB, repo, 1, head_sha=head, installation_id=INSTALLATION
            )

        gh = GitHubPlatform(
            app_id=APP_ID, private_key=private_key, api_url=fakes.github.base_url, paced=False
        )

        def github_comment(ref: ContributionRef) -> str:
            return str(fakes.github.comments(ref.repo, ref.number)[-1]["body"])

        names = {blob.sha256: path for path, blob in torch.files.items()}
        warm, reviews = MemoryResultCache(), MemoryReviewCache()
        cases.append(Case("torch", torch, gh, github_pull, github_comment, names, warm, reviews))
    if only in (None, "llama"):
        llama = models["llama"]

        def hub_pull() -> ContributionRef:
            repo = f"org/llama-{next(numbers)}"
            fakes.hub.add_repo(repo, context)
            return ContributionRef(Platform.HF, repo, fakes.hub.open_pr(repo, dict(llama.files)))

        def hub_comment(ref: ContributionRef) -> str:
            return str(fakes.hub.comments(ref.repo, ref.number)[-1]["data"]["latest"]["raw"])

        hub = HubPlatform(endpoint=fakes.hub.endpoint, token="hf_bench_token_0000")  # noqa: S106
        warm, reviews = MemoryResultCache(), MemoryReviewCache()
        cases.append(Case("llama", llama, hub, hub_pull, hub_comment, {}, warm, reviews))
    return cases


def inputs_for(scenario: str, case: Case, endpoint: str) -> ReviewInputs:
    from checks.cache import MemoryResultCache
    from reviewbot.review import HubAccess
    from reviewbot.service import ReviewInputs

    hub = HubAccess(endpoint)
    if scenario == "full":  # the old way: every file downloaded whole
        return ReviewInputs(hub, remote_min_bytes=None, result_cache=None, review_cache=None)
    if scenario == "cold":
        return ReviewInputs(
            hub, result_cache=MemoryResultCache(), remote_min_bytes=REMOTE_MIN_BYTES
        )
    if scenario == "cached":  # the blobs' results are known; the pull request is new
        return ReviewInputs(hub, result_cache=case.warm, remote_min_bytes=REMOTE_MIN_BYTES)
    return ReviewInputs(  # recheck: the very review is known
        hub, result_cache=case.warm, review_cache=case.reviews, remote_min_bytes=REMOTE_MIN_BYTES
    )


def review(
    case: Case, ref: ContributionRef, inputs: ReviewInputs, reason: str, fakes: Fakes
) -> Run:
    """Time ``review_contribution`` to a posted verdict; count what the fakes served meanwhile."""
    from reviewbot.service import review_contribution

    fakes.reset()
    http = fakes.http()
    started = time.perf_counter()
    outcome = review_contribution(ref, reason=reason, platform=case.platform, inputs=inputs)
    seconds = time.perf_counter() - started
    if outcome.status != "posted" or outcome.verdict is None:
        raise RuntimeError(f"{case.name}: review {outcome.status}: {outcome.detail}")
    by_file, requests_by_file = fakes.by_file(case.names)
    return Run(
        seconds,
        fakes.bytes(),
        fakes.requests(),
        fakes.http() - http,
        outcome.verdict,
        by_file,
        requests_by_file,
    )


def bench(
    cases: list[Case], fakes: Fakes, repeat: int, full_repeat: int, console: Console
) -> dict[tuple[str, str], Result]:
    """Every scenario ``repeat`` times (full download ``full_repeat``), round-robin, rotating."""
    endpoint = fakes.hub.endpoint
    for case in cases:  # untimed: warms both caches, the App token and the imports
        case.primed = case.open_pull()
        warmup = inputs_for("recheck", case, endpoint)
        run = review(case, case.primed, warmup, "review", fakes)
        console.print(f"[dim]{case.name}: first review {run.seconds:.2f} s, {human(run.bytes)}")
    results = {
        (c.name, s): Result(c.name, s, {p: b.size for p, b in c.model.files.items()})
        for c in cases
        for s in SCENARIOS
    }
    for r in range(repeat):
        for case in cases:
            for scenario in SCENARIOS[r % 4 :] + SCENARIOS[: r % 4]:
                if scenario == "full" and r >= full_repeat:
                    continue
                recheck = scenario == "recheck"
                ref = case.primed if recheck else case.open_pull()
                assert ref is not None
                inputs = inputs_for(scenario, case, endpoint)
                run = review(case, ref, inputs, "recheck" if recheck else "review", fakes)
                result = results[case.name, scenario]
                result.runs.append(run)
                result.comment = result.comment or case.comment(ref)
                console.print(
                    f"[dim][{r + 1}/{repeat}] {case.name:5} {LABELS[scenario]:26} "
                    f"{run.seconds:7.2f} s {human(run.bytes):>11} {run.verdict}"
                )
    return {k: v for k, v in results.items() if v.runs}


def bytes_text(result: Result) -> str:
    seen = sorted({r.bytes for r in result.runs})
    return human(seen[0]) if len(seen) == 1 else f"{human(seen[0])}–{human(seen[-1])} (varies)"


def report(results: dict[tuple[str, str], Result], console: Console) -> None:
    table = Table(title="Time to verdict and bytes transferred, per pull request")
    columns: list[tuple[str, JustifyMethod]] = [
        ("pull request", "left"), ("scenario", "left"), ("verdict", "left"),
        ("transferred", "right"), ("% of PR", "right"), ("file / all requests", "right"),
        ("median s", "right"), ("min s", "right"), ("runs", "right"),
        ("time: full ÷ this", "right"), ("bytes: full ÷ this", "right"),
    ]  # fmt: skip
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for case in CASES:
        full = results.get((case, "full"))
        for scenario in SCENARIOS:
            result = results.get((case, scenario))
            if result is None:
                continue
            verdicts = sorted({r.verdict for r in result.runs})
            table.add_row(
                f"{human(result.size)} {CASES[case]}",
                LABELS[scenario],
                "/".join(verdicts),
                bytes_text(result),
                percent(result.bytes, result.size),
                f"{result.runs[0].requests} / {result.runs[0].http}",
                f"{result.median:.3f}",
                f"{result.fastest:.3f}",
                str(len(result.runs)),
                times(full.median, result.median) if full else "?",
                times(full.bytes, result.bytes) if full else "?",
            )
        table.add_section()
    console.print(table)

    detail = Table(title="Where the bytes came from (first run of each range-read scenario)")
    for name in ("pull request", "scenario", "file", "requests", "bytes", "% of file"):
        detail.add_column(name, justify="right" if name in ("requests", "bytes") else "left")
    for (case, scenario), result in results.items():
        if scenario == "full":
            continue
        first = result.runs[0]
        for path, n in sorted(first.by_file.items()):
            size = result.files.get(path)
            share = percent(n, size) if size else "(context)"
            requests = str(first.requests_by_file.get(path, 0))
            detail.add_row(case, LABELS[scenario], path, requests, human(n), share)
    console.print(detail)
    for line in surprises(results):
        console.print(f"[bold yellow]note:[/] {line}")


def surprises(results: dict[tuple[str, str], Result]) -> list[str]:
    """What a reader of the table should not have to spot: transfers that should not happen."""
    out = []
    for (case, scenario), result in results.items():
        if len({r.bytes for r in result.runs}) > 1:
            out.append(f"{case}, {LABELS[scenario]}: bytes differ between runs")
        if scenario == "recheck" and result.bytes:
            out.append(f"{case}: the re-check transferred {result.bytes:,} bytes, expected none")
    for case in CASES:
        verdicts = {r.verdict for (c, _s), res in results.items() if c == case for r in res.runs}
        if len(verdicts) > 1:
            out.append(f"{case}: the verdict differs between scenarios: {sorted(verdicts)}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="runs per scenario (default 5)")
    parser.add_argument(
        "--full-repeat", type=int, default=3, help="runs of the full download (default 3)"
    )
    parser.add_argument("--only", choices=sorted(CASES), help="one pull request only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the runs as JSON")
    parser.add_argument(
        "--nagle",
        action="store_true",
        help="leave Nagle's algorithm on the fakes' sockets, as the test suite runs them",
    )
    args = parser.parse_args()
    if args.repeat < 1 or args.full_repeat < 0:
        parser.error("--repeat must be at least 1, --full-repeat at least 0")
    console = Console()
    if not console.is_terminal:
        console.width = 160  # the table whole in a log or a pipe

    sys.path.insert(0, str(ROOT))  # the fakes live in tests/, which is not installed
    from tests.fakes import big_models

    builders: dict[str, Callable[[], BuiltModel]] = {
        "torch": big_models.torch_checkpoint,
        "llama": big_models.sharded_safetensors,
    }
    models: dict[str, BuiltModel] = {}
    for name, build in builders.items():
        if args.only in (None, name):
            console.print(f"[dim]{name}: building or finding the model files ...")
            models[name] = build()

    # The fakes write a response's headers and body in two sends; with Nagle's algorithm on, each
    # keep-alive response then waits for the client's delayed ACK (about 40 ms on Linux), which
    # would time the fakes, not reviewbot. Real servers set TCP_NODELAY; so do these, unless asked.
    socketserver.StreamRequestHandler.disable_nagle_algorithm = not args.nagle
    private_key, public_key = app_keys()
    work = Path(tempfile.mkdtemp(prefix="reviewbot-range-bench-"))
    started = load_average()
    try:
        # nothing touches the network or the user's caches: huggingface_hub is imported after this
        os.environ["HF_HOME"] = str(work / "hf-home")
        os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
        (work / "tmp").mkdir()
        tempfile.tempdir = str(work / "tmp")  # the reviews' working folders (full downloads)
        with fakes_running(work, public_key) as fakes:
            os.environ["HF_ENDPOINT"] = fakes.hub.endpoint
            cases = make_cases(args.only, fakes, models, private_key)
            results = bench(cases, fakes, args.repeat, min(args.full_repeat, args.repeat), console)
    finally:
        tempfile.tempdir = None
        shutil.rmtree(work, ignore_errors=True)

    machine = (
        f"{os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}; "
        f"fakes' sockets {'with Nagle' if args.nagle else 'TCP_NODELAY'}; "
        f"load average {started} before, {load_average()} after; {time.strftime('%Y-%m-%d')}"
    )
    console.print(machine)
    report(results, console)
    if args.json:
        data = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine,
            "models": {
                n: {"size": m.size, "files": {p: b.size for p, b in m.files.items()}}
                for n, m in models.items()
            },
            "results": [
                {"case": r.case, "scenario": r.scenario, "pr_bytes": r.size,
                 "median_s": r.median, "min_s": r.fastest,
                 "runs": [asdict(run) for run in r.runs], "comment": r.comment}
                for r in results.values()
            ],
        }  # fmt: skip
        args.json.write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
