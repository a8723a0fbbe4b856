"""The JSON report: the contract other tools parse (see README)."""

from __future__ import annotations

import json

from checks.report import Report
from reviewbot import __version__
from reviewbot.render.visible import visible_report


def render_json(report: Report) -> str:
    data = visible_report(report).to_dict()
    data["tool"] = {"name": "reviewbot", "version": __version__}
    return json.dumps(data, indent=2, ensure_ascii=False)
