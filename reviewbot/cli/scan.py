"""`reviewbot scan`: weight files and folders, http(s) URLs and Hub repositories."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reviewbot.cli.output import emit, exit_code, progress
from reviewbot.cli.settings import local_settings
from reviewbot.errors import UsageError


def add_scan_command(sub: Any) -> None:
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
    scan.set_defaults(func=cmd_scan)


def cmd_scan(args: argparse.Namespace) -> int:
    from checks.report import CheckSummary, build_report
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
    from checks.weights.scan_files import add_scan, scan_files

    expanded = expand_paths(local)
    with progress(len(expanded.files), enabled=not args.no_progress) as advance:
        result = scan_files(expanded.files, want_sha256=args.hash, progress=advance)
    if expanded.links:
        from checks.weights.symlinks import symlink_finding

        result.findings.extend(
            symlink_finding(link, display, folder) for link, display, folder in expanded.links
        )
    if remote:
        from checks.weights.context import DeferredPolicy
        from reviewbot.remote import scan_specs

        # Only remote files have a sha256 known before reading, so only they use the cache
        # (and a local scan never imports redis).
        settings = local_settings()
        cache_url = args.cache or settings.redis_url
        cache = None
        if cache_url:
            from reviewbot.result_cache import RedisResultCache

            cache = RedisResultCache(cache_url)
        for scan in scan_specs(
            remote,
            DeferredPolicy(),
            endpoint=settings.hf_endpoint,
            token=settings.hf_token.get_secret_value() if settings.hf_token else None,
            want_sha256=args.hash,
            cache=cache,
        ):
            add_scan(result, scan, scan.path)
    report = build_report(
        result.findings, result.files, [CheckSummary("weights", "weight-file scan")]
    )
    emit(report, args.format)
    return exit_code(report)
