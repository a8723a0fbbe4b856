"""Tokenizers saved by transformers with given chat templates, and the templates the tests use."""

from __future__ import annotations

from pathlib import Path

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
ESCAPE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def saved_tokenizer(folder: Path, templates: dict[str, str]) -> Path:
    """A tokenizer saved by transformers itself, with these chat templates."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.chat_template = templates
    fast.save_pretrained(folder)
    return folder
