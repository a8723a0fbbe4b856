"""`python -m checks.licence DIR`: the licence check alone over a folder, for benchmarks."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from checks.base import Contribution
from checks.licence.check import LicenceCheck


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else ".").resolve()
    files: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel = os.path.relpath(folder, root)
        files.extend(n if rel == "." else f"{rel}/{n}".replace(os.sep, "/") for n in names)
    result = LicenceCheck().run(Contribution(root=root, files=sorted(files)))
    rules: dict[str, int] = {}
    for finding in result.findings:
        rules[finding.rule] = rules.get(finding.rule, 0) + 1
    json.dump({"files": len(files), "findings": rules, "notes": result.notes}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
