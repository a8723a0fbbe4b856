"""Identifies a LICENSE text by normalised word similarity against the reference texts we ship."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

from checks.licence.model_terms import titles as model_titles

# Dice similarity over word counts at or above this names the licence; below it we say "unknown".
THRESHOLD = 0.95

_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n", re.DOTALL)
_SPDX_FIELD = re.compile(r"^spdx-id:\s*(\S+)", re.MULTILINE)
_COPYRIGHT_LINE = re.compile(r"^\W*(copyright\b|\(c\)|©).*$", re.IGNORECASE | re.MULTILINE)
_PLACEHOLDER = re.compile(r"\[[^\]\n]{1,60}\]|<[^>\n]{1,60}>|\{[^}\n]{1,60}\}")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[a-z0-9]+")
_SPELLING = {"licence": "license", "licences": "licenses"}
_RESERVED = re.compile(r"all rights reserved\.?", re.IGNORECASE)
# The first short line naming a licence is its title; variants retitle freely, so it is dropped.
_TITLE_LINE = re.compile(r"\A\W*[^\n]{0,80}\blicen[cs]e\b[^\n]{0,40}\n", re.IGNORECASE)

# Model licences are identified by their titles (model_licences.toml): their texts are not ours to
# ship. Most specific first, since "Attribution-NonCommercial" prefixes its -ShareAlike variant.
_CC_TITLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.IGNORECASE))
    for key, pattern in (
        ("cc-by-nc-sa-4.0", r"Attribution-NonCommercial-ShareAlike 4\.0 International"),
        ("cc-by-nc-nd-4.0", r"Attribution-NonCommercial-NoDerivatives 4\.0 International"),
        ("cc-by-nc-4.0", r"Attribution-NonCommercial 4\.0 International"),
        ("cc-by-nd-4.0", r"Attribution-NoDerivatives 4\.0 International"),
    )
)


@cache
def _titles() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return model_titles() + _CC_TITLES


@dataclass(frozen=True)
class Match:
    key: str  # an SPDX id for reference texts, a Hub id for model licences
    score: float
    method: str  # "title" or "dice"


def normalise(text: str) -> Counter[str]:
    text = _FRONT_MATTER.sub("", text.replace("\r\n", "\n").lstrip("\ufeff"))
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _TITLE_LINE.sub(" ", text.lstrip())
    text = _COPYRIGHT_LINE.sub(" ", text)
    text = _RESERVED.sub(" ", text)
    text = _PLACEHOLDER.sub(" ", text)
    words = _WORD.findall(text.lower().replace("’", "'"))
    # List markers ("1.", "b)") vary between copies of one licence; they carry no meaning.
    return Counter(_SPELLING.get(w, w) for w in words if len(w) > 1 and not w.isdigit())


def dice(a: Counter[str], b: Counter[str]) -> float:
    total = sum(a.values()) + sum(b.values())
    if total == 0:
        return 0.0
    return 2 * sum((a & b).values()) / total


@cache
def references() -> dict[str, Counter[str]]:
    refs: dict[str, Counter[str]] = {}
    folder = resources.files("checks.licence").joinpath("texts")
    for entry in folder.iterdir():
        if not entry.name.endswith(".txt"):
            continue
        raw = entry.read_text("utf-8")
        meta = _FRONT_MATTER.match(raw)
        spdx = _SPDX_FIELD.search(meta.group("meta")) if meta else None
        if spdx is not None:
            refs[spdx.group(1)] = normalise(raw)
    return refs


@cache
def _reference_titles() -> dict[str, tuple[str, ...]]:
    """Each shipped text's first line (its title as printed), normalised, to the ids it opens."""
    titles: dict[str, list[str]] = {}
    folder = resources.files("checks.licence").joinpath("texts")
    for entry in folder.iterdir():
        raw = entry.read_text("utf-8") if entry.name.endswith(".txt") else ""
        meta = _FRONT_MATTER.match(raw)
        spdx = _SPDX_FIELD.search(meta.group("meta")) if meta else None
        line = _title_of(raw)
        if spdx is not None and ("license" in line.split() or "attribution" in line.split()):
            titles.setdefault(line, []).append(spdx.group(1))
    return {line: tuple(keys) for line, keys in titles.items()}


def _title_of(text: str) -> str:
    body = _FRONT_MATTER.sub("", text.replace("\r\n", "\n").lstrip("\ufeff"))
    first = next((ln for ln in body.splitlines() if _WORD.search(ln.lower())), "")
    words: list[str] = []
    for word in _WORD.findall(first.lower()):
        word = _SPELLING.get(word, word)
        if word != "the" and word not in words:
            words.append(word)
    return " ".join(words)


def named(text: str) -> Match | None:
    """The licence a text's title line names, scored against that licence's words.

    A text that opens like the MIT License but scores below THRESHOLD says something else.
    """
    keys = _reference_titles().get(_title_of(text))
    if not keys:
        return None
    words = normalise(text)
    scored = [(dice(words, references()[k]), k) for k in keys]
    score, key = max(scored)
    return Match(key, round(score, 4), "title")


def identify(text: str) -> Match | None:
    """The best reference match at or above THRESHOLD, or a model licence named by its title."""
    head = _FRONT_MATTER.sub("", text.lstrip("\ufeff"))[:3000]
    for key, title in _titles():
        if title.search(head):
            return Match(key, 1.0, "title")
    words = normalise(text)
    if not words:
        return None
    best_key, best = "", 0.0
    for key, ref in references().items():
        score = dice(words, ref)
        if score > best:
            best_key, best = key, score
    if best >= THRESHOLD:
        return Match(best_key, round(best, 4), "dice")
    return None
