"""TorchScript archives written by the real torch.jit.save; hostile ones edit their code bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from checks.findings import Finding, Severity
from checks.weights.imports import ImportPolicy
from checks.weights.scanner import FileScan, scan_path

# Hand-assembled hostile pickle; written to disk and scanned, never loaded.
EVAL_PICKLE = (
    b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R."
)


class Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The debug pickle keeps this source line; the scan must not read it as code:
        # os.system("rm -rf /") and torch.save(x, "/tmp/x") are only words here.
        return torch.relu(self.lin(x)) + 1.0


class Saver(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.save(x, "loaded.bin")
        return x


# torch names the code file after the module that defines the class: this one.
OWN_CODE = f"/{__name__.replace('.', '/')}.py"
OWN_CLASS = f"c__torch__.{__name__}\nSmall\n".encode()


def jit_save(path: Path, module: torch.nn.Module, extra: dict[str, bytes] | None = None) -> Path:
    torch.jit.save(torch.jit.script(module), str(path), _extra_files=extra or {})
    return path


def edit_member(path: Path, suffix: str, old: bytes, new: bytes) -> Path:
    """Rewrite the first member ending in ``suffix``, replacing ``old`` with ``new``."""
    with zipfile.ZipFile(path) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    target = next(name for name, _ in members if name.endswith(suffix))
    data = dict(members)[target]
    assert old in data, data.decode(errors="replace")
    out = path.with_name(f"edited-{path.name}")
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in members:
            zf.writestr(name, body.replace(old, new) if name == target else body)
    return out


def scan(path: Path) -> FileScan:
    return scan_path(path, path.name, ImportPolicy.default())


def worst(result: FileScan) -> Severity:
    return max((f.severity for f in result.findings), default=Severity.INFO)


def by_rule(result: FileScan, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return jit_save(tmp_path_factory.mktemp("ts") / "small.pt", Small())


def test_benign_module_passes_with_its_program_noted(small: Path) -> None:
    result = scan(small)
    assert result.format == "torchscript"
    (program,) = by_rule(result, "torchscript-program")
    assert program.severity == Severity.MEDIUM
    assert {"aten::relu", "aten::linear", "aten::add"} <= set(program.extra["operations"])
    assert any(name.endswith(OWN_CODE) for name in program.extra["files"])
    # The archive's own classes (data.pkl) and the debug pickles' list builders are not imports.
    assert worst(result) == Severity.MEDIUM, [f.message for f in result.findings]


def test_reasons_come_from_the_code_not_the_debug_pickle(small: Path) -> None:
    with zipfile.ZipFile(small) as zf:
        debug = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".debug_pkl"))
    assert b"os.system" in debug  # the source text is there, and must not be read as code
    result = scan(small)
    assert not [f for f in result.findings if "os.system" in f.message or "save" in f.message]


def test_a_scripted_torch_save_is_critical(tmp_path: Path) -> None:
    path = jit_save(tmp_path / "saver.pt", Saver())
    with zipfile.ZipFile(path) as zf:
        code = next(zf.read(n) for n in zf.namelist() if n.endswith(OWN_CODE)).decode()
    line = 1 + code[: code.index("torch.save(")].count("\n")
    result = scan(path)
    (op,) = by_rule(result, "torchscript-operation")
    assert op.severity == Severity.CRITICAL
    assert "aten::save" in op.message and "file access" in op.message
    assert (op.location or "").endswith(f"{OWN_CODE}, line {line}")


def test_a_custom_operator_namespace_fails(small: Path) -> None:
    result = scan(edit_member(small, OWN_CODE, b"torch.relu(", b"ops.evil.relu("))
    (op,) = by_rule(result, "torchscript-operation")
    assert op.severity == Severity.HIGH
    assert "evil::relu" in op.message and "native library" in op.message
    assert "evil::relu" in by_rule(result, "torchscript-program")[0].extra["operations"]


def test_load_library_is_critical(small: Path) -> None:
    hostile = b'    _x = torch.ops.load_library("libevil.so")\n    return _0\n'
    result = scan(edit_member(small, OWN_CODE, b"    return _0\n", hostile))
    assert any(
        f.rule == "torchscript-operation"
        and f.severity == Severity.CRITICAL
        and "loads a native library" in f.message
        for f in result.findings
    ), [f.message for f in result.findings]


def test_collective_operators_are_network_access(small: Path) -> None:
    result = scan(edit_member(small, OWN_CODE, b"torch.relu(", b"ops.c10d.broadcast_("))
    (op,) = by_rule(result, "torchscript-operation")
    assert op.severity == Severity.HIGH and "network access" in op.message


def test_custom_class_reference_fails(small: Path) -> None:
    result = scan(edit_member(small, OWN_CODE, b"torch.relu(", b"torch.classes.evil.Box("))
    (op,) = by_rule(result, "torchscript-operation")
    assert op.severity == Severity.HIGH and "class evil::Box" in op.message


def test_python_calls_in_edited_code_are_critical(small: Path) -> None:
    result = scan(edit_member(small, OWN_CODE, b"torch.relu(", b"os.system("))
    assert any(
        f.rule == "code-runs-on-load" and f.severity == Severity.CRITICAL for f in result.findings
    )


def test_unparsable_code_cannot_be_shown_safe(small: Path) -> None:
    result = scan(edit_member(small, OWN_CODE, b"def forward", b"def ((forward"))
    assert by_rule(result, "torchscript-unparsable")[0].severity == Severity.HIGH


def test_hostile_global_in_data_pkl_still_fails(small: Path) -> None:
    # Only TorchScript's own classes and builders pass: any other global is graded as usual.
    result = scan(edit_member(small, "data.pkl", OWN_CLASS, b"cposix\nsystem\n"))
    assert any(f.rule == "unsafe-import" and "posix.system" in f.message for f in result.findings)


def test_extra_files_are_listed_and_scanned(tmp_path: Path) -> None:
    extra = {"notes.txt": b"trained on cats", "payload.pkl": EVAL_PICKLE}
    result = scan(jit_save(tmp_path / "extra.pt", Small(), extra))
    (listed,) = by_rule(result, "torchscript-extra-files")
    assert listed.extra["files"] == ["extra/extra/notes.txt", "extra/extra/payload.pkl"]
    assert any(
        f.severity == Severity.CRITICAL and (f.location or "").startswith("extra/extra/payload.pkl")
        for f in result.findings
    )


@pytest.mark.parametrize(
    ("code", "target"),
    [
        ("torch.ops.aten.save(x, 'p')", "aten::save"),
        ("ops.aten.from_file('/etc/passwd')", "aten::from_file"),
        ("torch.ops.myns.op.default(x)", "myns::op"),
        ("torch.linalg.norm(x)", "aten::linalg_norm"),
        ("__torch__.torch.classes.evil.Box()", "class evil::Box"),
    ],
)
def test_operator_spellings_resolve(code: str, target: str) -> None:
    import ast

    from checks.weights.torchscript.ops import references

    assert [r.target for r in references(ast.parse(code))] == [target]


def test_torchscript_policy_grades_custom_classes_in_pickles() -> None:
    from checks.weights.torchscript.policy import TorchScriptPolicy

    policy = TorchScriptPolicy(ImportPolicy.default())
    quantized = policy.classify("__torch__.torch.classes.quantized", "LinearPackedParamsBase")
    assert quantized.severity == Severity.INFO
    assert policy.classify("__torch__.torch.classes.evil", "Box").severity == Severity.HIGH
    assert policy.classify("__torch__.mymodel", "Net").severity == Severity.INFO
    assert policy.classify("torch.jit._pickle", "build_intlist").severity == Severity.INFO
    assert policy.classify("torch.jit._pickle", "other").severity == Severity.CRITICAL
