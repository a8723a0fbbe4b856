"""Writing .env: keys replaced in place, other lines kept, mode 0600, values read back intact."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from reviewbot.setup import SetupError, envfile
from tests.service.web_helpers import TEST_KEY

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuEPz+/9=\nAbCd\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    old = os.umask(0)
    try:
        envfile.update(path, {"GITHUB_APP_ID": "7"})
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert dotenv_values(path) == {"GITHUB_APP_ID": "7"}
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left behind


def test_other_lines_stay_and_set_keys_are_replaced(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# reviewbot settings\nREDIS_URL=redis://localhost:6379/0\nexport GITHUB_APP_ID=1\n"
        "GITHUB_PRIVATE_KEY_PATH=./old.pem\n\nHF_TOKEN=hf_abc # trailing comment\n\n"
    )
    path.chmod(0o644)
    envfile.update(
        path,
        {"GITHUB_APP_ID": "99", "GITHUB_PRIVATE_KEY": PEM},
        remove=("GITHUB_PRIVATE_KEY_PATH",),
    )
    text = path.read_text()
    assert text.startswith("# reviewbot settings\nREDIS_URL=redis://localhost:6379/0\n")
    assert "HF_TOKEN=hf_abc # trailing comment\n" in text
    assert text.count("GITHUB_APP_ID") == 1 and "GITHUB_PRIVATE_KEY_PATH" not in text
    assert mode(path) == 0o600
    values = dotenv_values(path)
    assert values["GITHUB_APP_ID"] == "99"
    assert values["GITHUB_PRIVATE_KEY"] == PEM  # python-dotenv, as pydantic-settings reads it
    assert values["REDIS_URL"] == "redis://localhost:6379/0"


def test_a_pem_is_one_line_with_escaped_newlines() -> None:
    assert envfile.quote(TEST_KEY.replace("not-a-real-key", "QUJD")) == (
        '"-----BEGIN RSA PRIVATE KEY-----\\nQUJD\\n-----END RSA PRIVATE KEY-----\\n"'
    )


@pytest.mark.parametrize("value", ['a"b', "a$b", "a\\b", "a b", "line\nnot a pem", "`x`"])
def test_values_readers_would_disagree_on_are_refused(value: str) -> None:
    with pytest.raises(SetupError):
        envfile.quote(value)


def test_the_target_must_be_writable_before_anything_is_created(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="no such folder"):
        envfile.check_writable(tmp_path / "missing" / ".env")
    (tmp_path / "dir.env").mkdir()
    with pytest.raises(SetupError, match="not a regular file"):
        envfile.check_writable(tmp_path / "dir.env")
    envfile.check_writable(tmp_path / ".env")
