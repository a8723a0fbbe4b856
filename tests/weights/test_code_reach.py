"""What repository code reaches: hidden, aliased and indirect routes to the system are critical."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.weights.code.names import loader_of
from checks.weights.code.reach import dangerous_calls


def reached(source: str) -> dict[str, str]:
    return {what: why for _, what, why in dangerous_calls(ast.parse(source))}


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("import atexit, os\natexit.register(os.system, 'id')\n", "os.system"),
        ("import threading, os\nthreading.Timer(1, os.system, ['id']).start()\n", "os.system"),
        ("import subprocess as sp\nrun = sp.Popen\nrun(['id'])\n", "subprocess.Popen"),
        ("__builtins__['exec']('print(1)')\n", "builtins.exec"),
        ("import builtins\ngetattr(builtins, 'eval')('1')\n", "builtins.eval"),
        ("import os\ngetattr(os, 'system')('id')\n", "os.system"),
        ("import sys\nsys.modules['os'].system('id')\n", "os.system"),
        ("import sys\nm = sys.modules['subprocess']\nm.run(['id'])\n", "subprocess"),
        ("import sys\nname = 'o' + 's'\nsys.modules[name].system('id')\n", "sys.modules"),
        ("g = __builtins__\n", "__builtins__"),
        ("import os\nos.environ['LD_PRELOAD'] = '/tmp/x.so'\n", "os.environ['LD_PRELOAD']"),
        ("import os\nos.environ.update({'PYTHONPATH': '/tmp'})\n", "os.environ['PYTHONPATH']"),
        ("import os\nos.environ.setdefault('PATH', '/tmp')\n", "os.environ['PATH']"),
        ("open('/etc/passwd').read()\n", "open('/etc/passwd')"),
        ("with open('/tmp/evil.sh', 'w') as f:\n    f.write('x')\n", "open('/tmp/evil.sh')"),
        ("open('../../outside.txt')\n", "open('../../outside.txt')"),
        ("import os\nopen(os.path.join('/root', '.ssh', 'id_rsa'))\n",
         "open(os.path.join('/root', '.ssh', 'id_rsa'))"),
        ("from pathlib import Path\nPath('~/.bashrc').expanduser().write_text('x')\n",
         "pathlib.Path('~/.bashrc')"),
        ("from pathlib import Path\nPath.home().joinpath('.bashrc').write_text('x')\n",
         "pathlib.Path.home"),
        ("import os\nk = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n",
         "os.path.expanduser"),
        ("import torch\ntorch.load('extra.bin', weights_only=False)\n",
         "torch.load(weights_only=False)"),
        ("import numpy as np\nnp.load('a.npy', allow_pickle=True)\n",
         "numpy.load(allow_pickle=True)"),
        ("import yaml\nyaml.load(open('c.yaml'), Loader=yaml.UnsafeLoader)\n",
         "yaml.load(Loader=yaml.UnsafeLoader)"),
        ("import pickle\npickle.load(open('blob.bin', 'rb'))\n", "pickle.load"),
        ("import dill\ndill.loads(b'')\n", "dill.loads"),
        ("import types, marshal\ntypes.FunctionType(marshal.loads(b''), {})\n",
         "types.FunctionType"),
        ("import runpy\nrunpy.run_path('payload.py')\n", "runpy.run_path"),
        ("import pydoc\npydoc.locate('os.system')('id')\n", "pydoc.locate"),
        ("import torch\ntorch.hub.load('someone/else', 'model')\n", "torch.hub.load"),
        ("import webbrowser\nwebbrowser.open('http://x.example')\n", "webbrowser.open"),
        ("import asyncio\nasyncio.create_subprocess_shell('id')\n",
         "asyncio.create_subprocess_shell"),
    ],
)  # fmt: skip
def test_indirect_routes_to_the_system_are_found(source: str, what: str) -> None:
    assert what in reached(source), reached(source)


@pytest.mark.parametrize(
    "source",
    [
        "def build(compile=False):\n    return dict(compile=compile)\n",
        "import sys\nif 'flash_attn' in sys.modules:\n    pass\n",
        "import sys\nfa = sys.modules['flash_attn']\n",
        "import subprocess\ntry:\n    pass\nexcept subprocess.CalledProcessError:\n    pass\n",
        "import socket\ndef f(s: socket.socket) -> None:\n    return None\n",
        "import os\nos.environ['TOKENIZERS_PARALLELISM'] = 'false'\n",
        "import os\nvocab = open(os.path.join(os.path.dirname(__file__), 'vocab.txt')).read()\n",
        "from shutil import copyfile\ncopyfile(vocab, os.path.join(out_dir, 'v.model'))\n",
        "import torch\nstate = torch.load('w.bin', weights_only=True, map_location='cpu')\n",
        "import numpy as np\nnp.load('a.npy')\n",
        "import yaml\nyaml.safe_load(open('c.yaml'))\n",
        "model.eval()\nmodel.compile()\n",
    ],
)  # fmt: skip
def test_ordinary_model_code_reaches_nothing(source: str) -> None:
    assert reached(source) == {}


@pytest.mark.slow
def test_transformers_own_model_files_reach_only_what_they_must() -> None:
    """Every modeling, configuration and tokenization file transformers ships, read as remote
    code: the auto classes import by name and two tokenizers read a KyTea model from the home
    folder; nothing else is reached."""
    spec = importlib.util.find_spec("transformers")
    assert spec is not None and spec.origin is not None
    models = Path(spec.origin).parent / "models"
    expected = {"tokenization_xlm.py", "tokenization_flaubert.py"}
    read, flagged = 0, {}
    for path in models.rglob("*.py"):
        if loader_of(path.name) is None:
            continue
        read += 1
        found = dangerous_calls(ast.parse(path.read_bytes()))
        if found and path.parent.name != "auto":
            flagged[path.name] = {what for _, what, _ in found}
    assert read > 500
    assert set(flagged) <= expected, flagged
    assert all(whats == {"os.path.expanduser"} for whats in flagged.values()), flagged


def test_code_nested_too_deeply_to_read_fails_closed() -> None:
    source = "import sys\nx = sys.modules" + "['a']" * 1500 + "\n"
    try:
        tree = ast.parse(source)
    except RecursionError:
        pytest.skip("this Python cannot parse it either")
    (found,) = dangerous_calls(tree)
    assert "too deeply" in found[1]


_PIECES = [
    "import os", "import sys as s", "from subprocess import run as r", "x = os.system",
    "s.modules['os'].system('id')", "getattr(os, 'popen')", "__builtins__['eval']", "r(['id'])",
    "open('/etc/' + name)", "os.environ['PATH'] = p", "def f(exec):\n    return exec",
    "try:\n    pass\nexcept os.error:\n    pass", "y = [z for z in sys.modules]", "lambda: os",
    "class C(os.PathLike):\n    pass", "@os.fspath\ndef g(): ...", "a[b][c].d(e=f)",
    "print(f'{os.system}')", "del os.environ['LD_PRELOAD']", "os.environ |= {'PATH': 1}",
]  # fmt: skip


@given(st.lists(st.sampled_from(_PIECES), max_size=12))
@settings(max_examples=300, deadline=None)
def test_any_mix_of_constructs_gets_an_answer_never_an_exception(pieces: list[str]) -> None:
    found = dangerous_calls(ast.parse("\n".join(pieces)))
    assert all(isinstance(line, int) and what and why for line, what, why in found)
