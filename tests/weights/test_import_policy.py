"""The import policy allows what checkpoints need, warns on metadata and fails on primitives."""

from __future__ import annotations

import pytest

from checks.findings import Severity
from checks.weights.imports import ImportPolicy

POLICY = ImportPolicy.default()


def grade(path: str, policy: ImportPolicy = POLICY) -> Severity:
    module, _, name = path.rpartition(".")
    return policy.classify(module, name).severity


def test_everything_torch_weights_only_allows_is_allowed() -> None:
    unpickler = pytest.importorskip("torch._weights_only_unpickler")
    allowed = sorted(unpickler._get_allowed_globals())
    assert len(allowed) > 100
    assert [p for p in allowed if grade(p) is not Severity.INFO] == []


@pytest.mark.parametrize(
    "path",
    [
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.ndarray",
        "numpy.dtype",
        "builtins.frozenset",
        "builtins.slice",
        "builtins.range",
        "torch.nn.parameter.Parameter",
        "torch.storage.UntypedStorage",
        "joblib.numpy_pickle.NumpyArrayWrapper",
    ],
)
def test_checkpoint_globals_are_allowed(path: str) -> None:
    verdict = POLICY.classify(*path.rsplit(".", 1))
    assert verdict.severity is Severity.INFO
    assert verdict.rule is None


@pytest.mark.parametrize(
    "path",
    [
        "argparse.Namespace",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "datetime.datetime",
        "transformers.training_args.TrainingArguments",
        "transformers.trainer_utils.IntervalStrategy",
        "torch.nn.modules.linear.Linear",
    ],
)
def test_metadata_classes_warn(path: str) -> None:
    verdict = POLICY.classify(*path.rsplit(".", 1))
    assert verdict.severity is Severity.MEDIUM
    assert verdict.rule == "metadata-import"


@pytest.mark.parametrize(
    ("module", "name", "category"),
    [
        ("builtins", "eval", "code execution"),
        ("builtins", "exec", "code execution"),
        ("builtins", "__import__", "code execution"),
        ("builtins", "getattr", "introspection"),
        ("types", "CodeType", "code execution"),
        ("runpy", "_run_code", "code execution"),
        ("torch.utils.collect_env", "run", "code execution"),
        ("torch.jit.unsupported_tensor_ops", "execWrapper", "code execution"),
        ("numpy.testing._private.utils", "runstring", "code execution"),
        ("cloudpickle.cloudpickle", "_make_function", "code execution"),
        ("os", "system", "process execution"),
        ("posix", "system", "process execution"),
        ("nt", "system", "process execution"),
        ("subprocess", "Popen", "process execution"),
        ("asyncio.unix_events", "_UnixSubprocessTransport._start", "process execution"),
        ("uuid", "_get_command_stdout", "process execution"),
        ("pip", "main", "process execution"),
        ("sys", "exit", "process execution"),
        ("_io", "FileIO", "file access"),
        ("builtins", "open", "file access"),
        ("logging", "FileHandler", "file access"),
        ("distutils.file_util", "write_file", "file access"),
        ("socket", "create_connection", "network access"),
        ("urllib.request", "urlopen", "network access"),
        ("requests.api", "get", "network access"),
        ("webbrowser", "open", "network access"),
        ("ctypes", "CDLL", "native code"),
        ("_pickle", "loads", "nested deserialisation"),
        ("marshal", "loads", "nested deserialisation"),
        ("torch.storage", "_load_from_bytes", "nested deserialisation"),
        ("torch.serialization", "load", "nested deserialisation"),
        ("numpy", "load", "nested deserialisation"),
        ("joblib", "load", "nested deserialisation"),
        ("torch.utils.data.datapipes.utils.decoder", "basichandlers", "nested deserialisation"),
        ("operator", "attrgetter", "gadget"),
        ("_operator", "methodcaller", "gadget"),
        ("functools", "partial", "gadget"),
        ("pkgutil", "resolve_name", "code execution"),
        ("importlib", "import_module", "code execution"),
        ("_xxsubinterpreters", "run_string", "sub-interpreter"),
    ],
)
def test_primitives_are_critical_with_their_class(module: str, name: str, category: str) -> None:
    verdict = POLICY.classify(module, name)
    assert verdict.severity is Severity.CRITICAL
    assert verdict.category == category
    assert verdict.rule == "unsafe-import"
    assert verdict.message.startswith(f"{module}.{name}: ")


def test_os_system_message() -> None:
    assert POLICY.classify("os", "system").message == (
        "os.system: runs a shell command (process execution)"
    )


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("pathlib", "os.system"),
        ("torch.serialization", "os.system"),
        ("builtins", "print.__self__.__dict__.get"),
        ("collections", "OrderedDict.__reduce__"),
        ("torch._utils", "_rebuild_tensor_v2.__globals__"),
    ],
)
def test_dotted_names_are_matched_on_the_full_path(module: str, name: str) -> None:
    assert POLICY.classify(module, name).severity is Severity.CRITICAL


def test_dotted_name_in_an_allowed_module_is_unknown() -> None:
    verdict = POLICY.classify("collections", "OrderedDict.fromkeys")
    assert verdict.severity is Severity.HIGH


def test_unknown_globals_are_high() -> None:
    verdict = POLICY.classify("sklearn.linear_model._base", "LinearRegression")
    assert verdict.severity is Severity.HIGH
    assert verdict.rule == "unknown-import"
    assert verdict.message.endswith("not on the allowlist")


def test_python2_spellings_are_graded_by_what_they_map_to() -> None:
    assert POLICY.classify("__builtin__", "set").severity is Severity.INFO
    assert POLICY.classify("__builtin__", "eval").severity is Severity.CRITICAL
    reduce_ = POLICY.classify("__builtin__", "reduce")  # functools.reduce on Python 3
    assert reduce_.severity is Severity.CRITICAL
    assert reduce_.name == "functools.reduce"
    assert POLICY.classify("copy_reg", "_reconstructor").severity is Severity.CRITICAL
    assert POLICY.classify("urllib", "urlopen").severity is Severity.CRITICAL


def test_repository_policy_extends_unknown_and_metadata_only() -> None:
    policy = ImportPolicy.default(
        frozenset({"sklearn.linear_model._base.*", "argparse.Namespace", "os.system", "builtins.*"})
    )
    assert grade("sklearn.linear_model._base.LinearRegression", policy) is Severity.INFO
    assert grade("argparse.Namespace", policy) is Severity.INFO
    assert grade("os.system", policy) is Severity.CRITICAL
    assert grade("builtins.eval", policy) is Severity.CRITICAL
    # "module.*" covers undotted names only
    verdict = policy.classify("sklearn.linear_model._base", "LinearRegression.fit")
    assert verdict.severity is Severity.HIGH


def test_the_default_policy_is_shared_data() -> None:
    one, two = ImportPolicy.default(), ImportPolicy.default()
    assert one.classify("os", "system") == two.classify("os", "system")
    assert one.classify("os", "system") is one.classify("os", "system")  # cached
