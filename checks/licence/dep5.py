"""`.reuse/dep5` (the Debian copyright format REUSE read before REUSE.toml): files to licences."""

from __future__ import annotations

from pathlib import Path

DEP5 = ".reuse/dep5"
MAX_DEP5 = 1024 * 1024


def load_dep5(root: Path) -> tuple[list[tuple[list[str], str]], str | None]:
    """(globs, expression) per Files paragraph, in file order, and an error if unreadable."""
    path = root / DEP5
    if not path.is_file():
        return [], None
    if path.stat().st_size > MAX_DEP5:
        return [], f"{DEP5} is larger than {MAX_DEP5} bytes; not read"
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        return [], f"{DEP5} is not UTF-8 ({exc})"
    out: list[tuple[list[str], str]] = []
    for paragraph in text.replace("\r\n", "\n").split("\n\n"):
        fields = _fields(paragraph)
        files, licence = fields.get("files"), fields.get("license")
        if files and licence:
            # Only the first line of License: is the expression; the rest is the licence text.
            out.append((files.split(), licence.splitlines()[0].strip()))
    return out, None


def _fields(paragraph: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in paragraph.splitlines():
        if line.startswith("#"):
            continue
        if line[:1] in (" ", "\t") and key is not None:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            key = name.strip().lower()
            fields[key] = value.strip()
    return fields
