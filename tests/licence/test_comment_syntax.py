"""One case per comment syntax: a missing header names the line to add; adding it satisfies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.licence.conftest import Files, run_check

CARD = "---\nlicense: apache-2.0\n---\n# Model\n"

CASES = [
    ("train.py", "print('hi')\n", "# SPDX-License-Identifier: Apache-2.0"),
    ("run.sh", "#!/bin/sh\necho hi\n", "# SPDX-License-Identifier: Apache-2.0"),
    ("kernel.c", "int main(void) { return 0; }\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("kernel.cpp", "int main() {}\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("attn.cu", "__global__ void k() {}\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("ops.h", "#pragma once\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("app.js", "console.log(1);\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("app.ts", "const x: number = 1;\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("lib.rs", "fn main() {}\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("main.go", "package main\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("Main.java", "class Main {}\n", "// SPDX-License-Identifier: Apache-2.0"),
    ("config.yaml", "a: 1\n", "# SPDX-License-Identifier: Apache-2.0"),
    ("settings.toml", "a = 1\n", "# SPDX-License-Identifier: Apache-2.0"),
    ("Dockerfile", "FROM python:3.11\n", "# SPDX-License-Identifier: Apache-2.0"),
    ("Makefile", "all:\n\ttrue\n", "# SPDX-License-Identifier: Apache-2.0"),
    ("index.html", "<p>hi</p>\n", "<!-- SPDX-License-Identifier: Apache-2.0 -->"),
    ("docs/usage.md", "# Usage\n", "<!-- SPDX-License-Identifier: Apache-2.0 -->"),
    ("chat_template.jinja", "{{ messages }}\n", "{# SPDX-License-Identifier: Apache-2.0 #}"),
    ("style.css", "p {}\n", "/* SPDX-License-Identifier: Apache-2.0 */"),
    ("query.sql", "select 1;\n", "-- SPDX-License-Identifier: Apache-2.0"),
]


@pytest.mark.parametrize(("name", "body", "line"), CASES, ids=[c[0] for c in CASES])
def test_missing_header_shows_the_line_to_add(
    tree: Callable[[Files], Path], name: str, body: str, line: str
) -> None:
    root = tree({"README.md": CARD, "LICENSE": _apache(), name: body})
    missing = [f for f in run_check(root).findings if f.path == name]
    assert [f.rule for f in missing] == ["licence-header-missing"]
    assert missing[0].extra["fix"] == line
    assert line in missing[0].message


@pytest.mark.parametrize(("name", "body", "line"), CASES, ids=[c[0] for c in CASES])
def test_the_suggested_line_satisfies_the_check(
    tree: Callable[[Files], Path], name: str, body: str, line: str
) -> None:
    text = body.replace("\n", f"\n{line}\n", 1) if body.startswith("#!") else f"{line}\n{body}"
    root = tree({"README.md": CARD, "LICENSE": _apache(), name: text})
    assert [f for f in run_check(root).findings if f.path == name] == []


def _apache() -> str:
    from importlib import resources

    return resources.files("checks.licence").joinpath("texts/apache-2.0.txt").read_text("utf-8")
