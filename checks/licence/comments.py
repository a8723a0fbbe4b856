"""Comment syntax per file type, so a missing header can be shown as the exact line to add."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

TAG = "SPDX-License-Identifier:"


@dataclass(frozen=True)
class CommentStyle:
    """A single-line comment form: ``prefix`` text ``suffix``."""

    name: str
    prefix: str
    suffix: str = ""

    def line(self, expression: str) -> str:
        tail = f" {self.suffix}" if self.suffix else ""
        return f"{self.prefix} {TAG} {expression}{tail}"


HASH = CommentStyle("hash", "#")
SLASH = CommentStyle("slash", "//")
C_BLOCK = CommentStyle("c-block", "/*", "*/")
HTML = CommentStyle("html", "<!--", "-->")
DASH = CommentStyle("double-dash", "--")
LISP = CommentStyle("lisp", ";;")
JINJA = CommentStyle("jinja", "{#", "#}")
TEX = CommentStyle("tex", "%")
VIM = CommentStyle("vim", '"')

_BY_SUFFIX: dict[str, CommentStyle] = {
    # Python, shell and configuration files
    **dict.fromkeys((".py", ".pyi", ".pyx", ".pxd", ".sh", ".bash", ".zsh", ".fish", ".ksh"), HASH),
    **dict.fromkeys((".yaml", ".yml", ".toml", ".cfg", ".ini", ".conf", ".cmake"), HASH),
    **dict.fromkeys((".r", ".rb", ".pl", ".pm", ".ps1", ".mk", ".nix", ".tf", ".graphql"), HASH),
    **dict.fromkeys((".jl", ".ex", ".exs", ".nim", ".cr", ".dockerfile", ".bzl", ".star"), HASH),
    # C family, CUDA, JavaScript/TypeScript, Rust, Go, JVM and friends
    **dict.fromkeys((".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".inl"), SLASH),
    **dict.fromkeys((".cu", ".cuh", ".m", ".mm", ".metal", ".cl", ".proto"), SLASH),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"), SLASH),
    **dict.fromkeys((".rs", ".go", ".java", ".kt", ".kts", ".scala", ".swift", ".dart"), SLASH),
    **dict.fromkeys((".cs", ".fs", ".groovy", ".gradle", ".zig", ".php", ".v", ".sv"), SLASH),
    **dict.fromkeys((".css", ".scss", ".less"), C_BLOCK),
    **dict.fromkeys((".html", ".htm", ".xhtml", ".xml", ".md", ".markdown", ".vue"), HTML),
    **dict.fromkeys((".svelte", ".rst.html"), HTML),
    **dict.fromkeys((".sql", ".lua", ".hs", ".elm", ".ada", ".adb"), DASH),
    **dict.fromkeys((".el", ".lisp", ".clj", ".cljs", ".scm", ".rkt", ".asm"), LISP),
    **dict.fromkeys((".jinja", ".jinja2", ".j2"), JINJA),
    **dict.fromkeys((".tex", ".sty", ".cls", ".bib", ".erl", ".hrl"), TEX),
    ".vim": VIM,
}

_BY_NAME: dict[str, CommentStyle] = {
    **dict.fromkeys(("Dockerfile", "Containerfile", "Makefile", "GNUmakefile", "makefile"), HASH),
    **dict.fromkeys(("CMakeLists.txt", "Gemfile", "Rakefile", "Justfile", "justfile"), HASH),
    **dict.fromkeys(("BUILD", "BUILD.bazel", "WORKSPACE", "Pipfile", "Vagrantfile"), HASH),
    **dict.fromkeys((".gitattributes", ".dockerignore", ".editorconfig", ".gitmodules"), HASH),
    **dict.fromkeys((".pre-commit-config.yaml", ".bashrc", ".profile"), HASH),
}

# Files that cannot hold a comment: REUSE covers them with a `.license` sidecar or REUSE.toml,
# and on the Hub the model card's `license:` covers them too.
UNCOMMENTABLE_SUFFIXES = frozenset(
    {
        ".json", ".jsonl", ".ipynb", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf",
        ".ggml", ".onnx", ".h5", ".hdf5", ".keras", ".npy", ".npz", ".msgpack", ".pkl",
        ".pickle", ".joblib", ".model", ".tflite", ".pb", ".mlmodel", ".ot", ".llamafile",
        ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico", ".svg", ".pdf",
        ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z",
        ".parquet", ".arrow", ".feather", ".csv", ".tsv",
        ".wav", ".mp3", ".flac", ".ogg", ".mp4", ".webm",
    }
)  # fmt: skip

WEIGHT_SUFFIXES = frozenset(
    {
        ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".onnx", ".h5",
        ".keras", ".npy", ".npz", ".msgpack", ".pkl", ".pickle", ".joblib", ".tflite", ".pb",
    }
)  # fmt: skip


def style_for(path: str) -> CommentStyle | None:
    """The comment style of a file, or None when it has no known comment syntax."""
    pure = PurePosixPath(path)
    name = pure.name
    style = _BY_NAME.get(name)
    if style is not None:
        return style
    if name.startswith(("Dockerfile.", "Containerfile.")) or name.endswith(".Dockerfile"):
        return HASH
    return _BY_SUFFIX.get(pure.suffix.lower())


def suffix_of(path: str) -> str:
    return PurePosixPath(path).suffix.lower()
