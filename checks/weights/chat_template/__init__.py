"""Chat templates that reach Python internals: Jinja's own parser, then a walk of the tree.

``rules`` (what is looked for), ``config`` (where tokenizer configs keep templates), ``taint``
(the walk) and ``folding`` (strings rebuilt from literals).
"""

from checks.weights.chat_template.config import (
    scan_processor_templates,
    scan_template_file,
    scan_tokenizer_config,
)
from checks.weights.chat_template.taint import check_template

__all__ = [
    "check_template",
    "scan_processor_templates",
    "scan_template_file",
    "scan_tokenizer_config",
]
