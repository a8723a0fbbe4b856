"""The dashboard's charts as inline SVG, drawn on the server: no script, nothing fetched."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from reviewbot.history.store import WeekCount

COLOURS = {"fail": "#c62828", "error": "#6a1b9a", "warn": "#ef6c00", "pass": "#2e7d32"}
# Upper bounds of the push-to-verdict histogram's buckets, in seconds (the last is open).
BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
_W, _H, _PAD = 480, 180, 28


def _frame(title: str, body: str, height: int = _H) -> Markup:
    # Every label in ``body`` went through ``escape``; the rest is numbers and fixed markup.
    return Markup(  # noqa: S704
        f'<svg class="chart" role="img" viewBox="0 0 {_W} {height}" width="{_W}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )


def _empty(title: str) -> Markup:
    return _frame(
        title, f'<text x="{_W // 2}" y="{_H // 2}" text-anchor="middle">no data yet</text>'
    )


def verdicts_per_week(weeks: Sequence[WeekCount]) -> Markup:
    """Stacked bars: one per week, a segment per verdict."""
    title = "Verdicts per week"
    if not weeks:
        return _empty(title)
    by_week: dict[str, dict[str, int]] = {}
    for row in weeks:
        by_week.setdefault(row.week, {})[row.verdict] = row.count
    tallest = max(sum(v.values()) for v in by_week.values())
    slot = (_W - 2 * _PAD) / len(by_week)
    parts: list[str] = []
    for i, (week, counts) in enumerate(sorted(by_week.items())):
        x = _PAD + i * slot
        y = float(_H - _PAD)
        for verdict in ("pass", "warn", "error", "fail"):
            n = counts.get(verdict, 0)
            if not n:
                continue
            h = n / tallest * (_H - 2 * _PAD)
            y -= h
            parts.append(
                f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{max(slot - 4, 1):.1f}" '
                f'height="{h:.1f}" fill="{COLOURS.get(verdict, "#777")}">'
                f"<title>{escape(week)}: {n} {escape(verdict)}</title></rect>"
            )
        if len(by_week) <= 12 or i % max(len(by_week) // 6, 1) == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{_H - 8}" font-size="10" '
                f'text-anchor="middle">{escape(week[5:])}</text>'
            )
    parts.append(f'<text x="4" y="14" font-size="10">max {tallest}</text>')
    for i, verdict in enumerate(("fail", "error", "warn", "pass")):
        x = _W - 4 * 58 + i * 58
        parts.append(
            f'<rect x="{x}" y="5" width="10" height="10" fill="{COLOURS[verdict]}"/>'
            f'<text x="{x + 14}" y="14" font-size="10">{verdict}</text>'
        )
    return _frame(title, "".join(parts))


def top_rules(rules: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars: the rules behind the most verdicts, most first."""
    title = "Rules that fire most"
    if not rules:
        return _empty(title)
    row = 20
    height = _PAD + row * len(rules)
    most = max(n for _, n in rules)
    label = 200
    parts = []
    for i, (rule, n) in enumerate(rules):
        y = 8 + i * row
        width = n / most * (_W - label - 40)
        parts.append(
            f'<text x="{label - 6}" y="{y + 13}" font-size="11" text-anchor="end">'
            f"{escape(rule[:34])}</text>"
            f'<rect x="{label}" y="{y + 2}" width="{width:.1f}" height="{row - 6}" fill="#1565c0">'
            f"<title>{escape(rule)}: {n}</title></rect>"
            f'<text x="{label + width + 4:.1f}" y="{y + 13}" font-size="11">{n}</text>'
        )
    return _frame(title, "".join(parts), height)


def push_to_verdict(counts: Sequence[int]) -> Markup:
    """A histogram of the seconds from a push to its verdict: one count per ``BUCKETS`` bound,
    then the rest (``HistoryStore.push_to_verdict_histogram(BUCKETS)``)."""
    title = "Time from push to verdict"
    if not any(counts):
        return _empty(title)
    names = [*(f"<{_duration(top)}" for top in BUCKETS), f"≥{_duration(BUCKETS[-1])}"]
    most = max(counts)
    slot = (_W - 2 * _PAD) / len(counts)
    parts = []
    for i, (name, n) in enumerate(zip(names, counts, strict=True)):
        h = n / most * (_H - 2 * _PAD)
        x = _PAD + i * slot
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{_H - _PAD - h:.1f}" width="{slot - 4:.1f}" '
            f'height="{h:.1f}" fill="#00838f"><title>{escape(name)}: {n}</title></rect>'
            f'<text x="{x + slot / 2:.1f}" y="{_H - 8}" font-size="10" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
        if n:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{_H - _PAD - h - 3:.1f}" font-size="10" '
                f'text-anchor="middle">{n}</text>'
            )
    return _frame(title, "".join(parts))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds >= 60 else f"{seconds:g}s"
