"""What a derivative owes each base licence: which licences it may carry, what it must ship."""

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


@dataclass(frozen=True)
class Terms:
    key: str
    title: str
    accepts: Callable[[str | None], bool]
    requirement: str  # what an acceptable licence looks like, for the finding
    obligations: tuple[Obligation, ...] = ()


def _phrase(text: str) -> re.Pattern[str]:
    """Matches the phrase whatever the whitespace, quotes or ©/(c) spelling."""
    parts = [re.escape(w) for w in text.split()]
    pattern = r"\s+".join(parts).replace(r"©", r"(?:©|\(c\))")
    return re.compile(pattern, re.IGNORECASE)


_META = "Copyright © Meta Platforms, Inc. All Rights Reserved."
_LLAMA = {
    "llama2": (
        "Llama 2",
        "LLAMA 2 COMMUNITY LICENSE AGREEMENT",
        f"Llama 2 is licensed under the LLAMA 2 Community License, {_META}",
        None,
        None,
    ),
    "llama3": (
        "Meta Llama 3",
        "META LLAMA 3 COMMUNITY LICENSE AGREEMENT",
        f"Meta Llama 3 is licensed under the Meta Llama 3 Community License, {_META}",
        "Built with Meta Llama 3",
        "Llama 3",
    ),
    **{
        key: (
            f"Llama {v}",
            f"LLAMA {v} COMMUNITY LICENSE AGREEMENT",
            f"Llama {v} is licensed under the Llama {v} Community License, {_META}",
            "Built with Llama",
            "Llama",
        )
        for key, v in (
            ("llama3.1", "3.1"),
            ("llama3.2", "3.2"),
            ("llama3.3", "3.3"),
            ("llama4", "4"),
        )
    },
}

RAIL = frozenset(
    {
        "openrail",
        "openrail++",
        "bigscience-openrail-m",
        "creativeml-openrail-m",
        "bigscience-bloom-rail-1.0",
        "bigcode-openrail-m",
    }
)
_NC_OTHER = frozenset({"fair-noncommercial-research-license", "other:tongyi-qianwen-research"})


def _same(*keys: str) -> Callable[[str | None], bool]:
    return lambda child: child in keys


def _llama(key: str) -> Terms:
    product, title, notice, built, prefix = _LLAMA[key]
    obligations = [
        Obligation(
            f"a copy of the {title.title()}",
            Where.ANY_FILE,
            _phrase(title),
            f"ship the base model's LICENSE file (it starts “{title}”)",
        ),
        Obligation(
            f"the Notice text “{notice}”",
            Where.NOTICE_FILE,
            _phrase(notice),
            f"add a NOTICE file containing: {notice}",
        ),
    ]
    if built:
        obligations.append(
            Obligation(
                f"“{built}” displayed",
                Where.CARD,
                _phrase(built),
                f"add the line “{built}” to the model card",
            )
        )
    if prefix:
        obligations.append(
            Obligation(
                f"a model name that begins with “{prefix}”",
                Where.NAME,
                re.compile(
                    r"^" + r"[\s_-]*".join(map(re.escape, prefix.split())) + r"(?![a-z])",
                    re.IGNORECASE,
                ),
                f"rename the model so that its name begins with “{prefix}”",
            )
        )
    return Terms(
        key, f"{product} Community License", _same(key), f"`license: {key}`", tuple(obligations)
    )


_GEMMA = Terms(
    "gemma",
    "Gemma Terms of Use",
    _same("gemma"),
    "`license: gemma`",
    (
        Obligation(
            "a copy of the Gemma Terms of Use",
            Where.ANY_FILE,
            _phrase("Gemma Terms of Use"),
            "ship the Gemma Terms of Use (ai.google.dev/gemma/terms) with the model",
        ),
        Obligation(
            "the use restrictions passed on (Gemma Prohibited Use Policy)",
            Where.ANY_FILE,
            re.compile(r"prohibited[\s_]use[\s_]policy", re.IGNORECASE),
            "state in the card or licence that use is subject to the Gemma Prohibited Use "
            "Policy (ai.google.dev/gemma/prohibited_use_policy)",
        ),
        Obligation(
            "the Notice text “Gemma is provided under and subject to the Gemma Terms of Use…”",
            Where.NOTICE_FILE,
            _phrase("Gemma is provided under and subject to the Gemma Terms of Use"),
            "add a NOTICE file containing: Gemma is provided under and subject to the Gemma "
            "Terms of Use found at ai.google.dev/gemma/terms",
        ),
    ),
)

_RAIL_RESTRICTIONS = Obligation(
    "the use restrictions (Attachment A) carried as enforceable terms",
    Where.ANY_FILE,
    re.compile(r"attachment\s+a|use\s+restrictions", re.IGNORECASE),
    "ship the base's OpenRAIL licence text, including its use restrictions (Attachment A)",
)

_APACHE_TEXT = Obligation(
    "a copy of the Apache License 2.0 and its notices",
    Where.ANY_FILE,
    re.compile(r"apache\s+license,?\s+version\s+2\.0", re.IGNORECASE),
    "ship the Apache-2.0 licence text (a LICENSE file) and keep the base's NOTICE file, "
    "if it has one",
    Severity.MEDIUM,
)
_MIT_TEXT = Obligation(
    "the MIT copyright and permission notice",
    Where.ANY_FILE,
    _phrase("Permission is hereby granted, free of charge"),
    "ship the base model's MIT licence text with its copyright line",
    Severity.MEDIUM,
)

_TONGYI = Terms(
    "other:tongyi-qianwen",
    "Tongyi Qianwen License Agreement",
    _same("other:tongyi-qianwen"),
    "`license: other` with `license_name: tongyi-qianwen`",
    (
        Obligation(
            "a copy of the Tongyi Qianwen License Agreement",
            Where.ANY_FILE,
            _phrase("Tongyi Qianwen LICENSE AGREEMENT"),
            "ship the base model's LICENSE file",
        ),
        Obligation(
            "the Notice text “Tongyi Qianwen is licensed under the Tongyi Qianwen LICENSE "
            "AGREEMENT…”",
            Where.NOTICE_FILE,
            _phrase("Tongyi Qianwen is licensed under the Tongyi Qianwen LICENSE AGREEMENT"),
            "add a NOTICE file containing: Tongyi Qianwen is licensed under the Tongyi Qianwen "
            "LICENSE AGREEMENT, Copyright (c) Alibaba Cloud. All Rights Reserved.",
        ),
    ),
)

_CC_VERSION = re.compile(r"^cc-by(?P<parts>(?:-nc|-sa|-nd)*)-(?P<version>\d\.\d)$")


def _cc(key: str) -> Terms | None:
    m = _CC_VERSION.match(key)
    if m is None:
        return None
    parts, version = m.group("parts"), m.group("version")
    title = f"CC {key.upper()[3:]}".replace("-", " ", 1)
    if "-nd" in parts:
        return Terms(
            key,
            title,
            lambda child: False,
            "no licence at all: NoDerivatives forbids sharing adapted material",
        )
    if "-nc" in parts and "-sa" in parts:
        return Terms(
            key,
            title,
            lambda c: c is not None and _cc_at_least(c, "-nc-sa", version),
            f"a CC BY-NC-SA licence of version {version} or later (ShareAlike, NonCommercial)",
        )
    if "-nc" in parts:
        return Terms(
            key,
            title,
            lambda c: (
                c is not None and ((c.startswith("cc-by-nc-") and "-nd" not in c) or c in _NC_OTHER)
            ),
            "a non-commercial licence such as `cc-by-nc-4.0` (permissive licences like "
            "apache-2.0 or "
            "mit would drop the NonCommercial term)",
        )
    if "-sa" in parts:
        compatible = {"gpl-3.0", "gpl-3.0-only", "gpl-3.0-or-later"} if version == "4.0" else set()
        return Terms(
            key,
            title,
            lambda c: c is not None and (_cc_at_least(c, "-sa", version) or c in compatible),
            f"CC BY-SA {version} or later (ShareAlike), or a licence CC lists as compatible",
        )
    return Terms(key, title, lambda c: True, "any licence, with attribution kept")


def _cc_at_least(child: str, parts: str, version: str) -> bool:
    m = _CC_VERSION.match(child)
    return m is not None and m.group("parts") == parts and m.group("version") >= version


def terms_for(key: str | None) -> Terms | None:
    """The terms of a base licence key (``card.licence_key``), or None when we do not know them."""
    if key is None:
        return None
    if key in _LLAMA:
        return _llama(key)
    if key == "gemma":
        return _GEMMA
    if key in RAIL:
        return Terms(
            key,
            f"{key} (OpenRAIL family)",
            lambda c: c in RAIL,
            "an OpenRAIL-family licence that carries the same use restrictions",
            (_RAIL_RESTRICTIONS,),
        )
    if key in {"apache-2.0", "mit"}:
        return Terms(
            key,
            key,
            lambda c: True,
            "any licence",
            (_APACHE_TEXT if key == "apache-2.0" else _MIT_TEXT,),
        )
    if key == "other:tongyi-qianwen":
        return _TONGYI
    if key.startswith("cc-by"):
        return _cc(key)
    return None
