"""Which repository files a loader reads as instructions, by path alone: cheap, asked per file."""

from __future__ import annotations

from pathlib import PurePosixPath

# Configs whose ``auto_map`` makes transformers' trust_remote_code import repository modules.
AUTO_MAP_FILES = frozenset(
    {"config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json"}
)
# transformers' trust_remote_code imports the modules auto_map names; by convention they are
# these. A contribution's hubconf.py is run by torch.hub.load, custom_generate/generate.py by
# generate(custom_generate=...).
_REMOTE_CODE_PREFIXES = (
    "modeling_", "configuration_", "tokenization_", "processing_", "image_processing_",
    "feature_extraction_", "video_processing_",
)  # fmt: skip


def loader_of(name: str) -> str | None:
    """The loader that would run the Python file at repository path ``name``, if any."""
    path = PurePosixPath(name)
    if path.suffix != ".py":
        return None
    if path.name == "hubconf.py":
        return "torch.hub.load"
    if path.parts[-2:] == ("custom_generate", "generate.py"):
        return "generate(custom_generate=...)"
    if path.name.startswith(_REMOTE_CODE_PREFIXES):
        return "trust_remote_code=True (through auto_map)"
    return None


# transformers reads chat templates from these files too, beside tokenizer_config.json.
TEMPLATE_FILE = "chat_template.jinja"
NAMED_TEMPLATES_DIR = "additional_chat_templates"
PROCESSOR_TEMPLATES = "chat_template.json"


def template_file_kind(name: str) -> str | None:
    """``"jinja"`` for a template file a loader reads, ``"processor"`` for a processor's
    ``chat_template.json``, None for anything else (``name`` is a repository path)."""
    path = PurePosixPath(name)
    if path.name == TEMPLATE_FILE or (
        path.parent.name == NAMED_TEMPLATES_DIR and path.suffix == ".jinja"
    ):
        return "jinja"
    if path.name == PROCESSOR_TEMPLATES:
        return "processor"
    return None
