"""The exact text a base licence's obligation asks for, as a fix: a NOTICE line, a card line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from checks.fixes import Fix, insert_line
from checks.licence.card import CARD
from checks.licence.terms import Obligation, Where

# model_licences.toml words its fixes this way; the quoted text is what a derivative must ship.
_NOTICE_TEXT = re.compile(r"^add a NOTICE file containing: (.+)$")
_CARD_LINE = re.compile(r"^add the line “(.+)” to the model card$")


def obligation_fix(ob: Obligation, docs: Mapping[str, str]) -> Fix | None:
    """The edit that meets ``ob`` (None when it is not a text to add: a rename, a LICENSE copy)."""
    if ob.where is Where.NOTICE_FILE and (match := _NOTICE_TEXT.match(ob.fix)):
        notices = sorted(p for p in docs if PurePosixPath(p).name.lower().startswith("notice"))
        if not notices:
            return Fix("NOTICE", 0, "", match.group(1))
        text = docs[notices[0]]
        return insert_line(notices[0], text, match.group(1), after=len(text.splitlines()))
    if ob.where is Where.CARD and (match := _CARD_LINE.match(ob.fix)) and CARD in docs:
        text = docs[CARD]
        # at the end, a paragraph of its own: the card's prose is the contributor's
        return insert_line(CARD, text, "\n" + match.group(1), after=len(text.splitlines()))
    return None
