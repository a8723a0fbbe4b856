"""What a derivative owes each base licence: model licences from data, apache/mit and CC here."""

from __future__ import annotations

import re

from checks.findings import Severity
from checks.licence.model_terms import model_terms
from checks.licence.spdx_terms import spdx_terms
from checks.licence.terms import Obligation, Terms, Where, phrase

__all__ = ["Obligation", "Terms", "Where", "terms_for"]

_NC_OTHER = frozenset({"fair-noncommercial-research-license", "other:tongyi-qianwen-research"})


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
    phrase("Permission is hereby granted, free of charge"),
    "ship the base model's MIT licence text with its copyright line",
    Severity.MEDIUM,
)

_NC = "NonCommercial: no use primarily intended for commercial advantage (§2(a)(1))"
_SA = "ShareAlike: adaptations are shared under the same or a compatible licence (§3(b))"
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
            restrictions=("NoDerivatives: adapted material may not be shared",),
        )
    if "-nc" in parts and "-sa" in parts:
        return Terms(
            key,
            title,
            lambda c: c is not None and _cc_at_least(c, "-nc-sa", version),
            f"a CC BY-NC-SA licence of version {version} or later (ShareAlike, NonCommercial)",
            restrictions=(_NC, _SA),
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
            restrictions=(_NC,),
        )
    if "-sa" in parts:
        compatible = {"gpl-3.0", "gpl-3.0-only", "gpl-3.0-or-later"} if version == "4.0" else set()
        return Terms(
            key,
            title,
            lambda c: c is not None and (_cc_at_least(c, "-sa", version) or c in compatible),
            f"CC BY-SA {version} or later (ShareAlike), or a licence CC lists as compatible",
            restrictions=(_SA,),
        )
    return Terms(key, title, lambda c: True, "any licence, with attribution kept")


def _cc_at_least(child: str, parts: str, version: str) -> bool:
    m = _CC_VERSION.match(child)
    return m is not None and m.group("parts") == parts and m.group("version") >= version


def terms_for(key: str | None) -> Terms | None:
    """The terms of a base licence key (``card.licence_key``), or None when we do not know them."""
    if key is None:
        return None
    listed = model_terms(key)
    if listed is not None:
        return listed
    if key in {"apache-2.0", "mit"}:
        return Terms(
            key,
            key,
            lambda c: True,
            "any licence",
            (_APACHE_TEXT if key == "apache-2.0" else _MIT_TEXT,),
        )
    if key.startswith("cc-by"):
        return _cc(key)
    return spdx_terms(key)
