"""The `reviewbot` command line: scan files, review a folder, try the demo.

Exit codes: 0 nothing fails the review, 1 something does, 2 usage error.
Imports stay inside the commands so that `reviewbot scan` never loads torch, celery or the web app.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reviewbot import __version__
from reviewbot.errors import UsageError

if TYPE_CHECKING:
    from checks.report import Report
    from reviewbot.review import HubAccess

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
PROGRESS_THRESHOLD = 8  # files; fewer finish before a bar would be worth drawing


def main(argv: Sequence[str] | None = None) -> int:
    _utf8_streams()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.debug or args.command != "scan":
        # `scan` logs nothing unless asked: importing logging is a noticeable part of start-up.
        _configure_logging(debug=args.debug)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"reviewbot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code


def _utf8_streams() -> None:
    """Reports are UTF-8 whatever the locale says; the renderers already made every name visible,
    so a character that still cannot be encoded is a bug shown as an escape, never raw bytes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # absent on a replaced stream
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="backslashreplace")


def _configure_logging(*, debug: bool) -> None:
    import logging

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="reviewbot: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewbot",
        description="Review contributions to open-model repositories: unsafe weight files, "
        "licences, quick evals.",
    )
    parser.add_argument("--debug", action="store_true", help="log details, tracebacks included")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser("scan", help="scan weight files and folders (recursively)")
    scan.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a file or folder, an http(s):// URL of one file, or hf://ORG/MODEL[@REVISION]",
    )
    scan.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    scan.add_argument(
        "--hash", action="store_true", help="fill in each file's sha256 (reads every byte)"
    )
    scan.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    scan.add_argument(
        "--cache",
        metavar="REDIS_URL",
        default=None,
        help="reuse per-file results of remote scans from Redis (default: $REDIS_URL, if set)",
    )
    scan.set_defaults(func=_cmd_scan)

    review = sub.add_parser(
        "review", help="run every check on a local model folder as a contribution"
    )
    review.add_argument("folder", type=Path, metavar="DIR")
    review.add_argument(
        "--base",
        metavar="BASE",
        help="the base model: a local folder, or a Hub id (ORG/NAME[@REVISION]) to download",
    )
    review.add_argument("--format", choices=("markdown", "json"), default="markdown")
    review.add_argument("--hash", action="store_true", help="fill in each file's sha256")
    review.add_argument(
        "--model-evals",
        action="store_true",
        help="also run tier-2 evals (torch in a sandbox; needs reviewbot[evals])",
    )
    review.add_argument(
        "--offline",
        action="store_true",
        help="never contact the Hub (base models' cards are then not fetched)",
    )
    review.set_defaults(func=_cmd_review)

    demo = sub.add_parser("demo", help="build a sample contribution and print its verdict comment")
    demo.add_argument("--out", type=Path, default=Path("demo-contribution"), metavar="DIR")
    demo.add_argument("--format", choices=("markdown", "json"), default="markdown")
    demo.set_defaults(func=_cmd_demo)

    from reviewbot.action import add_action_command
    from reviewbot.cli_service import add_service_commands
    from reviewbot.hooks import add_hook_command

    add_hook_command(sub)
    add_action_command(sub)
    add_service_commands(sub)
    return parser


def _cmd_scan(args: argparse.Namespace) -> int:
    from checks.base import FileFacts
    from checks.report import CheckSummary, build_report
    from checks.weights.context import DeferredPolicy
    from reviewbot.files import expand_paths

    # Remote inputs are told apart by prefix here, so a local scan never imports the HTTP stack.
    remote = [p for p in args.paths if p.startswith(("http://", "https://", "hf://"))]
    local = [Path(p) for p in args.paths if p not in remote]
    missing = [str(p) for p in local if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    if remote:
        from reviewbot.remote import parse_hub_spec

        for spec in remote:
            if spec.startswith("hf://"):
                try:
                    parse_hub_spec(spec)
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
    from checks.weights.scanner import FileScan, scan_path

    files = expand_paths(local)
    policy = DeferredPolicy()
    scans: list[FileScan] = []
    with _progress(len(files), enabled=not args.no_progress) as advance:
        for file, display in files:
            scans.append(scan_path(file, display, policy, want_sha256=args.hash))
            advance(display)
    if remote:
        from reviewbot.remote import scan_specs

        # Only remote files have a sha256 known before reading, so only they use the cache
        # (and a local scan never imports redis).
        cache_url = args.cache or os.environ.get("REDIS_URL") or None
        cache = None
        if cache_url:
            from reviewbot.result_cache import RedisResultCache

            cache = RedisResultCache(cache_url)
        scans += scan_specs(
            remote,
            policy,
            endpoint=os.environ.get("HF_ENDPOINT") or None,
            token=os.environ.get("HF_TOKEN") or None,
            want_sha256=args.hash,
            cache=cache,
        )
    findings = [f for scan in scans for f in scan.findings]
    facts = [
        FileFacts(
            path=scan.path,
            format=scan.format,
            sha256=scan.sha256,
            bytes_read=scan.bytes_read,
            full_download=scan.full_download,
            cached=scan.cached,
        )
        for scan in scans
    ]
    report = build_report(findings, facts, [CheckSummary("weights", "weight-file scan")])
    _emit(report, args.format)
    return _exit_code(report)


def _cmd_review(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise UsageError(f"not a folder: {args.folder}")
    from reviewbot.review import HubAccess, review_folder

    hub = (
        None
        if args.offline
        else HubAccess(os.environ.get("HF_ENDPOINT"), os.environ.get("HF_TOKEN"))
    )
    base, base_id = _resolve_base(args.base, hub)
    report = review_folder(
        args.folder,
        base=base,
        base_id=base_id,
        hub=hub,
        compute_sha256=args.hash,
        model_evals=args.model_evals,
    )
    _emit(report, args.format)
    return _exit_code(report)


def _resolve_base(spec: str | None, hub: HubAccess | None) -> tuple[Path | None, str | None]:
    """A local folder as is; anything else names a Hub model, downloaded (weights as safetensors,
    config, tokenizer, card) into the Hub cache."""
    if spec is None:
        return None, None
    if Path(spec).is_dir():
        return Path(spec), None
    repo_id, _, revision = spec.partition("@")
    if hub is None or repo_id.count("/") != 1 or Path(spec).exists():
        raise UsageError(f"--base is neither a folder nor a Hub model id: {spec}")
    from reviewbot.base_model import download_base

    try:
        folder = download_base(
            repo_id, revision=revision or None, endpoint=hub.endpoint, token=hub.token
        )
    except Exception as exc:  # any Hub or network failure: a clear error, not a traceback
        raise UsageError(f"cannot download the base model {repo_id}: {exc}") from None
    return folder, repo_id


def _cmd_demo(args: argparse.Namespace) -> int:
    from reviewbot.review import review_folder
    from reviewbot.sample import build_sample

    folder = build_sample(args.out)
    print(
        f"Built a sample contribution in {folder}/ — its verdict, as it would be posted:\n",
        file=sys.stderr,
    )
    _emit(review_folder(folder, hub=None), args.format)
    return EXIT_OK  # the sample is meant to fail; the demo itself succeeded


def _emit(report: Report, fmt: str) -> None:
    if fmt == "text":
        from reviewbot.render.text import render_text

        render_text(report, sys.stdout)
        return
    if fmt == "json":
        from reviewbot.render.json_report import render_json

        text = render_json(report)
    elif fmt == "sarif":
        from reviewbot.render.sarif import render_sarif

        text = render_sarif(report)
    else:
        from reviewbot.render.markdown import render_markdown

        text = render_markdown(report)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _exit_code(report: Report) -> int:
    from checks.findings import Verdict

    return EXIT_FAIL if report.verdict is Verdict.FAIL else EXIT_OK


class _progress:
    """A rich progress bar on stderr when it is a terminal and there is much to scan."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total >= PROGRESS_THRESHOLD and sys.stderr.isatty()
        self._bar: object | None = None

    def __enter__(self) -> Callable[[str], None]:
        if not self.enabled:
            return lambda _name: None
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(console=Console(file=sys.stderr), transient=True)
        bar.start()
        task = bar.add_task("scanning", total=self.total)
        self._bar = bar
        return lambda name: bar.update(task, advance=1, description=name[-40:])

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
