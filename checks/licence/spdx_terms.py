"""What a derivative owes an SPDX-listed base licence, from its ScanCode category, not by hand."""

from __future__ import annotations

import re
from functools import cache

from checks.findings import Severity
from checks.licence.compatibility import COPYLEFT, WEAK_COPYLEFT, category
from checks.licence.spdx import hub_to_spdx
from checks.licence.terms import Obligation, Terms, Where

# Hub ids the Hub lists without an SPDX id although one names the same licence.
_SPDX_OF = {
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "gfdl": "GFDL-1.3-or-later",
    "gpl": "GPL-2.0-or-later",
    "lgpl": "LGPL-2.1-or-later",
    "bsd": "BSD-3-Clause",
}
# Generic Hub ids: a base under "gpl" takes any GPL version as the derivative's licence.
_FAMILIES = frozenset({"gpl", "lgpl", "gfdl", "bsd"})
_PUBLIC_DOMAIN, _PERMISSIVE = "Public Domain", "Permissive"  # ScanCode category names


def spdx_of(key: str) -> str:
    """The SPDX id a Hub licence id stands for (``LicenseRef-<id>`` when there is none)."""
    return _SPDX_OF.get(key) or hub_to_spdx(key)


def licence_category(key: str) -> str | None:
    """The ScanCode category of a Hub licence id, when license-expression's index has it."""
    return category(spdx_of(key)) or category(f"LicenseRef-scancode-{key}")


@cache
def spdx_terms(key: str) -> Terms | None:
    """Terms for a base licence known by its category: public domain and permissive licences
    accept any derivative licence (permissive ones with their text kept); copyleft and weak
    copyleft ones keep the derivative under themselves. None for anything else."""
    kind = licence_category(key)
    spdx = spdx_of(key)
    if kind == _PUBLIC_DOMAIN:
        return Terms(key, spdx, lambda child: True, "any licence", version=f"SPDX {spdx}")
    if kind == _PERMISSIVE:
        return Terms(
            key,
            spdx,
            lambda child: True,
            "any licence, with the base's licence text and copyright notice kept",
            (_text_kept(key, spdx),),
            version=f"SPDX {spdx}",
        )
    if kind in (COPYLEFT, WEAK_COPYLEFT):
        family = key if key in _FAMILIES else None
        weak = kind == WEAK_COPYLEFT
        return Terms(
            key,
            spdx,
            lambda child: child is not None and _same(child, key, family),
            f"`license: {key}`"
            + (f" (or another {family.upper()} version)" if family else "")
            + f": {spdx} is {'weak ' if weak else ''}copyleft, and a fine-tune or other "
            "modification of the weights is covered by it",
            (_text_kept(key, spdx),),
            restrictions=(
                f"{'weak ' if weak else ''}copyleft: modified versions are distributed under "
                f"{spdx} itself, with its text",
            ),
            version=f"SPDX {spdx}",
        )
    return None


def _same(child: str, key: str, family: str | None) -> bool:
    if child == key or spdx_of(child) == spdx_of(key):
        return True
    return family is not None and re.match(rf"^{family}(?:-\d|$)", child) is not None


def _text_kept(key: str, spdx: str) -> Obligation:
    family = key if key in _FAMILIES else None
    return Obligation(
        f"a copy of the {spdx} licence text and the base's copyright notice",
        Where.ANY_FILE,
        re.compile(r"(?!)"),  # met only by a text identified as this licence by its content
        f"ship the base model's {spdx} licence text (a LICENSE or LICENSE.base file) with its "
        "copyright line",
        Severity.MEDIUM,
        identifies=(family or spdx).lower(),
    )
