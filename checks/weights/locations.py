"""Whether a path a file names (external data, an asset, a link target) stays in the repository."""

from __future__ import annotations

import posixpath
import re

_DRIVE = re.compile(r"^[A-Za-z]:")


def fixed_path_problem(location: str) -> str | None:
    """Why ``location`` leaves any repository whatever names it, or None for a relative path."""
    if not location:
        return "an empty path"
    if "\0" in location:
        return "a path with a NUL byte"
    if location.startswith(("\\\\", "//")):
        return "a UNC network path"
    if _DRIVE.match(location):
        return "a Windows drive path"
    if location.replace("\\", "/").startswith("/"):
        return "an absolute path"
    return None


def climbs_out(location: str, from_path: str) -> bool:
    """A relative ``location`` read beside repository path ``from_path`` resolves outside it."""
    path = location.replace("\\", "/")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), path))
    return joined == ".." or joined.startswith("../")


def unsafe_location(location: str, model_path: str) -> str | None:
    """Why a location a model file names is unsafe (a ``..`` anywhere included), or None for a
    sidecar inside the repository."""
    fixed = fixed_path_problem(location)
    if fixed is not None:
        return fixed
    if ".." in location.replace("\\", "/").split("/"):
        return "a path that climbs out with '..'"
    return "a path outside the repository" if climbs_out(location, model_path) else None
