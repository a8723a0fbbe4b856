"""Text files a loader follows: chat templates, ``auto_map`` configs, code it imports or runs.

The sniffer calls them text; what they make a loader do is decided here by their path, and each
parser loads only when a file needs it.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from checks.io.source import ByteSource
from checks.weights.code.names import AUTO_MAP_FILES, loader_of, template_file_kind
from checks.weights.context import ScanContext

# Configs a serving framework follows to pick the code it imports (NeMo's hydra, MLflow's pyfunc).
SERVING_CONFIGS = frozenset({"model_config.yaml", "MLmodel"})


def scan_text_file(source: ByteSource, ctx: ScanContext, name: str) -> None:
    path = PurePosixPath(name)
    if path.name in AUTO_MAP_FILES:
        from checks.weights.code.auto_map import scan_auto_map

        if path.name == "tokenizer_config.json":
            from checks.weights.chat_template import scan_tokenizer_config

            scan_tokenizer_config(source, ctx)
        scan_auto_map(source, ctx)
        return
    if path.name in SERVING_CONFIGS:
        _scan_serving_config(source, ctx, path.name)
        return
    loader = loader_of(name)
    if loader is not None:
        from checks.weights.code.python import scan_loader_code

        scan_loader_code(source, ctx, loader)
        return
    kind = template_file_kind(name)
    if kind is not None:
        from checks.weights import chat_template

        if kind == "jinja":
            chat_template.scan_template_file(source, ctx, path.name)
        else:
            chat_template.scan_processor_templates(source, ctx)


def _scan_serving_config(source: ByteSource, ctx: ScanContext, name: str) -> None:
    if name == "MLmodel":
        from checks.weights.serving.mlflow import scan_mlmodel

        scan_mlmodel(source, ctx)
    else:
        from checks.weights.serving.nemo import scan_nemo_config

        scan_nemo_config(source, ctx)
