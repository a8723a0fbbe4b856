"""Set keys in a ``.env`` file in place: other lines kept, file mode 0600 from its first byte."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from reviewbot.setup import SetupError

MODE = 0o600
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=")
# Values that need no escaping inside double quotes for bash, python-dotenv and honcho alike.
_PLAIN = re.compile(r"^[][A-Za-z0-9_./:+=@%,-]*$")
_PEM_LINE = re.compile(r"^(-----(BEGIN|END) [A-Z ]+-----|[A-Za-z0-9+/=]+)$")


def quote(value: str) -> str:
    """``value`` as a double-quoted .env value; a PEM key's newlines become ``\\n``.

    Anything else that three readers would parse differently (quotes, ``$``, backslashes) is
    refused rather than escaped: the values written here come from GitHub and never hold them.
    """
    if "\n" in value:
        lines = value.rstrip("\n").split("\n")
        if not all(_PEM_LINE.match(line) for line in lines):
            raise SetupError("refusing to write a multi-line value that is not a PEM key")
        return '"' + "\\n".join(lines) + '\\n"'
    if not _PLAIN.match(value):
        raise SetupError("refusing to write a value with characters .env readers disagree on")
    return f'"{value}"'


def check_writable(path: Path) -> None:
    """Fail before anything is created on GitHub if the file could not be written afterwards."""
    folder = path.parent
    if path.exists() and not path.is_file():
        raise SetupError(f"{path} exists and is not a regular file")
    if not folder.is_dir():
        raise SetupError(f"no such folder for the env file: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SetupError(f"cannot create files in {folder}")
    if path.exists() and not os.access(path, os.R_OK):
        raise SetupError(f"cannot read {path}")


def update(path: Path, values: Mapping[str, str], *, remove: Iterable[str] = ()) -> None:
    """Set ``values`` (replacing earlier lines for those keys) and drop the keys in ``remove``.

    The new contents go to a temporary file created 0600 beside ``path``, which then replaces it
    atomically: a reader sees the old file or the new one, and never a world-readable secret.
    """
    drop = set(values) | set(remove)
    kept: list[str] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _ASSIGNMENT.match(line)
            if match is None or match["key"] not in drop:
                kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    lines = (
        kept + ([""] if kept else []) + [f"{key}={quote(value)}" for key, value in values.items()]
    )
    text = "\n".join(lines) + "\n"
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write into a file someone else made (or linked) there first.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    try:
        os.fchmod(fd, MODE)  # the umask may have taken bits away; set exactly rw for the owner
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            fd = -1
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if fd != -1:
            os.close(fd)
        temp.unlink(missing_ok=True)
        raise
