"""The shape of a base licence's terms: which child licences it accepts, what a derivative ships."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from checks.findings import Severity


class Where(StrEnum):
    """Where an obligation is looked for in the contribution."""

    ANY_FILE = "a top-level licence or text file"
    NOTICE_FILE = "a Notice file (NOTICE, NOTICE.txt, …)"
    CARD = "the model card"
    NAME = "the model's name"


@dataclass(frozen=True)
class Obligation:
    what: str  # said to the maintainer: "a copy of the Llama 3.1 Community License Agreement"
    where: Where
    pattern: re.Pattern[str]
    fix: str
    severity: Severity = Severity.HIGH
    identifies: str | None = None  # also met by a text identified as this licence (an SPDX id)


@dataclass(frozen=True)
class Terms:
    key: str
    title: str
    accepts: Callable[[str | None], bool]
    requirement: str  # what an acceptable licence looks like, for the finding
    obligations: tuple[Obligation, ...] = ()
    restrictions: tuple[str, ...] = ()  # terms binding every use, named when a child drops them
    version: str = ""  # the text (and date) the rules follow
    waiver_is_breach: bool = False  # a card saying the use restrictions don't apply breaks it


def phrase(text: str) -> re.Pattern[str]:
    """Matches the phrase whatever the whitespace, quotes or ©/(c) spelling."""
    parts = [re.escape(w) for w in text.split()]
    pattern = r"\s+".join(parts).replace(r"©", r"(?:©|\(c\))")
    return re.compile(pattern, re.IGNORECASE)


def name_prefix(prefix: str) -> re.Pattern[str]:
    """A model name starting with ``prefix``, its words joined by spaces, dashes or underscores."""
    words = r"[\s_-]*".join(map(re.escape, prefix.split()))
    return re.compile(r"^" + words + r"(?![a-z])", re.IGNORECASE)
