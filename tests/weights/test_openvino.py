"""OpenVINO IR scan: models saved by the real openvino library, hostile XML assembled as text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.base import CheckResult, Contribution
from checks.findings import Severity, Verdict
from checks.io.source import BytesSource
from checks.weights.check import WeightScanCheck
from checks.weights.context import ScanContext
from checks.weights.openvino import scan_openvino
from checks.weights.scan_files import scan_files

ov = pytest.importorskip("openvino")
ops = pytest.importorskip("openvino.opset13")


def _save(folder: Path) -> Path:
    x = ops.parameter([1, 4], np.float32, name="x")
    w = ops.constant(np.full((4, 4), 0.5, np.float32))
    y = ops.relu(ops.matmul(x, w, False, False))
    ov.save_model(ov.Model([y], [x], "tiny"), folder / "model.xml", compress_to_fp16=False)
    return folder / "model.xml"


def _scan(folder: Path) -> CheckResult:
    files = sorted(folder.iterdir())
    return scan_files([(p, p.relative_to(folder.parent).as_posix()) for p in files])


def _rules(result: CheckResult) -> list[tuple[str, Severity]]:
    return sorted((f.rule, f.severity) for f in result.findings)


def _edit(xml: Path, old: str, new: str) -> None:
    text = xml.read_text()
    assert old in text
    xml.write_text(text.replace(old, new, 1))


def test_saved_model_passes_with_its_weights(tmp_path: Path) -> None:
    folder = tmp_path / "ir"
    folder.mkdir()
    _save(folder)
    result = _scan(folder)
    assert _rules(result) == [("openvino-weights", Severity.INFO)]
    assert "model.bin" in result.findings[0].message
    formats = {f.path: f.format for f in result.files}
    assert formats["ir/model.xml"] == "openvino-ir"
    assert formats["ir/model.bin"] in ("openvino-weights", "unknown")
    assert Verdict.of(f.severity for f in result.findings) is Verdict.PASS


def test_through_the_check_on_a_contribution(tmp_path: Path) -> None:
    xml = _save(tmp_path)
    _edit(xml, 'offset="0" size="64"', 'offset="32" size="64"')
    contribution = Contribution(root=tmp_path, files=["model.bin", "model.xml"])
    result = WeightScanCheck().run(contribution)
    overrun = [f for f in result.findings if f.rule == "openvino-weights-overrun"]
    assert len(overrun) == 1 and overrun[0].severity is Severity.HIGH
    assert overrun[0].path == "model.xml"
    assert "up to byte 96" in overrun[0].message and "only 64" in overrun[0].message


def test_missing_bin_is_a_finding(tmp_path: Path) -> None:
    folder = tmp_path / "ir"
    folder.mkdir()
    _save(folder)
    (folder / "model.bin").unlink()
    result = _scan(folder)
    assert ("openvino-weights-missing", Severity.MEDIUM) in _rules(result)


@pytest.mark.parametrize("opset", ["extension", "my_custom_ops", "opset99", ""])
def test_unknown_op_sets_are_named(tmp_path: Path, opset: str) -> None:
    folder = tmp_path / "ir"
    folder.mkdir()
    xml = _save(folder)
    _edit(xml, 'type="ReLU" version="opset1"', f'type="MyOp" version="{opset}"')
    result = _scan(folder)
    custom = [f for f in result.findings if f.rule == "openvino-custom-opset"]
    assert len(custom) == 1 and custom[0].severity is Severity.MEDIUM
    assert "MyOp" in custom[0].message
    if opset:
        assert repr(opset) in custom[0].message


def test_non_numeric_offset_is_invalid(tmp_path: Path) -> None:
    folder = tmp_path / "ir"
    folder.mkdir()
    xml = _save(folder)
    _edit(xml, 'offset="0"', 'offset="-8"')
    assert ("openvino-invalid", Severity.HIGH) in _rules(_scan(folder))


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE net [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<net name="x" version="11"><layers><layer id="0" name="&leak;" type="Parameter"
version="opset1"/></layers></net>
"""


def _laughs(levels: int = 10) -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)
    ]
    body = "\n".join(entities)
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE net [\n{body}\n]>\n<net name="&lol{levels - 1};"/>'
    ).encode()


@pytest.mark.parametrize("data", [XXE, _laughs()], ids=["xxe", "billion-laughs"])
def test_dtd_and_entities_are_refused(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "model.xml").write_bytes(data)
    result = scan_files([(tmp_path / "model.xml", "model.xml")])
    assert _rules(result) == [("openvino-xml-dtd", Severity.HIGH)]


def test_truncated_xml_is_invalid(tmp_path: Path) -> None:
    folder = tmp_path / "ir"
    folder.mkdir()
    xml = _save(folder)
    xml.write_bytes(xml.read_bytes()[:700])
    assert ("openvino-invalid", Severity.HIGH) in _rules(_scan(folder))


def test_other_xml_is_plain_text(tmp_path: Path) -> None:
    (tmp_path / "notes.xml").write_text('<?xml version="1.0"?><notes><n>hi</n></notes>')
    result = scan_files([(tmp_path / "notes.xml", "notes.xml")])
    assert result.findings == []
    assert result.files[0].format == "text"


def test_pickle_named_xml_fails(tmp_path: Path) -> None:
    (tmp_path / "model.xml").write_bytes(b"\x80\x04\x8c\x02os\x8c\x06system\x93.")
    rules = _rules(scan_files([(tmp_path / "model.xml", "model.xml")]))
    assert ("name-mismatch", Severity.HIGH) in rules


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_verdict(data: bytes) -> None:
    ctx = ScanContext(path="model.xml", policy=None)
    fmt = scan_openvino(BytesSource(b"<net>" + data), ctx, "model.xml")
    assert fmt in ("openvino-ir", "text")
    assert ctx.findings


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet='<>/="& !-[]DOCTYPEntiylayerdatofsz0123456789', max_size=300))
def test_any_xml_ish_text_gives_a_verdict(text: str) -> None:
    ctx = ScanContext(path="model.xml", policy=None)
    assert scan_openvino(BytesSource(text.encode()), ctx, "model.xml") in ("openvino-ir", "text")
