"""`reviewbot review` of a local folder as a contribution, and `reviewbot demo`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewbot.cli.output import EXIT_OK, emit, exit_code
from reviewbot.cli.settings import local_settings
from reviewbot.errors import UsageError

if TYPE_CHECKING:
    from reviewbot.review import HubAccess


def add_review_commands(sub: Any) -> None:
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
    review.set_defaults(func=cmd_review)

    demo = sub.add_parser("demo", help="build a sample contribution and print its verdict comment")
    demo.add_argument("--out", type=Path, default=Path("demo-contribution"), metavar="DIR")
    demo.add_argument("--format", choices=("markdown", "json"), default="markdown")
    demo.set_defaults(func=cmd_demo)


def cmd_review(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise UsageError(f"not a folder: {args.folder}")
    from reviewbot.review import review_folder

    hub = None if args.offline else _hub_access()
    base, base_id = resolve_base(args.base, hub)
    report = review_folder(
        args.folder,
        base=base,
        base_id=base_id,
        hub=hub,
        compute_sha256=args.hash,
        model_evals=args.model_evals,
    )
    emit(report, args.format)
    return exit_code(report)


def resolve_base(spec: str | None, hub: HubAccess | None) -> tuple[Path | None, str | None]:
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


def cmd_demo(args: argparse.Namespace) -> int:
    from reviewbot.review import review_folder
    from reviewbot.sample import build_sample

    folder = build_sample(args.out)
    print(
        f"Built a sample contribution in {folder}/ — its verdict, as it would be posted:\n",
        file=sys.stderr,
    )
    emit(review_folder(folder, hub=None), args.format)
    return EXIT_OK  # the sample is meant to fail; the demo itself succeeded


def _hub_access() -> HubAccess:
    """The Hub base models' cards come from: ``HF_ENDPOINT`` and ``HF_TOKEN`` via the settings."""
    from reviewbot.review import HubAccess

    settings = local_settings()
    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    return HubAccess(settings.hf_endpoint, token)
