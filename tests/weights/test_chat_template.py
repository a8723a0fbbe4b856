"""Chat templates: real ones pass; every route to Python internals fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.findings import Severity
from checks.io.source import BytesSource, LocalFile
from checks.weights.chat_template import check_template, scan_tokenizer_config
from checks.weights.context import ScanContext

# Written in the shape of the templates these families publish in tokenizer_config.json.
LLAMA3 = (
    "{{- bos_token }}\n"
    "{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}\n"
    "{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}"
    "{%- endif %}\n"
    "{%- if messages[0]['role'] == 'system' %}\n"
    "    {%- set system_message = messages[0]['content']|trim %}\n"
    "    {%- set messages = messages[1:] %}\n"
    "{%- else %}{%- set system_message = '' %}{%- endif %}\n"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}\n"
    "{%- if tools is not none %}{{- 'Environment: ipython\\n' }}{%- endif %}\n"
    "{{- system_message }}{{- '<|eot_id|>' }}\n"
    "{%- for message in messages %}\n"
    "    {%- if not (message.role == 'ipython' or message.role == 'tool' or "
    "'tool_calls' in message) %}\n"
    "        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "message['content'] | trim + '<|eot_id|>' }}\n"
    "    {%- elif 'tool_calls' in message %}\n"
    "        {%- if not message.tool_calls|length == 1 %}"
    "{{- raise_exception('This model only supports single tool-calls at once!') }}{%- endif %}\n"
    "        {%- set tool_call = message.tool_calls[0].function %}\n"
    '        {{- \'{"name": "\' + tool_call.name + \'", "parameters": \' }}'
    "{{- tool_call.arguments | tojson }}{{- '}<|eot_id|>' }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}\n"
)
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)
QWEN25 = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}"
    "{%- else %}{{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}"
    "{%- endif %}\n"
    '    {{- "\\n\\n# Tools\\n\\n<tools>" }}\n'
    '    {%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}\n'
    '    {{- "\\n</tools><|im_end|>\\n" }}\n'
    "{%- endif %}\n"
    "{%- set ns = namespace(last_user=0) %}\n"
    "{%- for message in messages %}\n"
    '    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}\n'
    "        {%- set ns.last_user = loop.index0 %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' }}"
    "{{- '\\n' }}\n"
    '    {%- elif message.role == "assistant" %}\n'
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}{{- '\\n' + message.content }}{%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}"
    "{%- set tool_call = tool_call.function %}{%- endif %}\n"
    '            {{- \'\\n<tool_call>\\n{"name": "\' }}{{- tool_call.name }}'
    "{{- '\", \"arguments\": ' }}{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    '    {%- elif message.role == "tool" %}\n'
    '        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}'
    "{{- '<|im_start|>user' }}{%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}\n"
)
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LOOP_CONTROL_AND_GENERATION = (
    "{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}"
    "{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}"
)


def check(template: str) -> ScanContext:
    ctx = ScanContext(path="tokenizer_config.json", policy=None)
    check_template(template, ctx, "chat_template")
    return ctx


@pytest.mark.parametrize(
    "template", [LLAMA3, MISTRAL, GEMMA, QWEN25, CHATML, LOOP_CONTROL_AND_GENERATION]
)
def test_real_templates_pass(template: str) -> None:
    assert check(template).findings == []


@pytest.mark.parametrize(
    "template",
    [
        "{{ messages.__class__.__mro__[1].__subclasses__() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ x['__class__'] }}",
        "{{ x|attr('__class__') }}",
        "{{ x|map(attribute='__dict__')|list }}",
        "{{ x['__cla' ~ 'ss__'] }}",
        "{% set u = '_' * 2 %}{{ x[u ~ 'class' ~ u] }}",
        "{{ x[['_', '_', 'class', '_', '_']|join] }}",
        "{{ x['%s%sclass%s%s'|format('_', '_', '_', '_')] }}",
        "{{ x['XXclassXX'|replace('X', '_')] }}",
        "{{ x['{0}{0}class{0}{0}'.format('_')] }}",
        "{{ x[''.join(['_', '_', 'init', '_', '_'])] }}",
        "{% set k %}__class__{% endset %}{{ x[k] }}",
        "{% set __builtins = 1 %}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_dunder_access_is_critical(template: str) -> None:
    severities = {f.severity for f in check(template).findings}
    assert Severity.CRITICAL in severities, template
    assert {f.rule for f in check(template).findings} == {"chat-template-escape"}


@pytest.mark.parametrize(
    "template",
    [
        "{{ x|attr(name) }}",
        "{{ x|map(attribute=name)|list }}",
        "{{ x|map('attr', name)|list }}",
        "{{ x|selectattr(name)|list }}",
        "{{ x|sort(attribute=name) }}",
        "{{ x|attr(*names) }}",
        "{% set ns = namespace(k='') %}{% for c in ['_', '_'] %}{% set ns.k = ns.k ~ c %}"
        "{% endfor %}{{ x[ns.k ~ 'class' ~ ns.k] }}",
        "{{ x[a ~ b] }}",
        "{{ (a ~ b).format(x) }}",
    ],
)
def test_attribute_names_built_at_render_time_are_high(template: str) -> None:
    severities = [f.severity for f in check(template).findings]
    assert severities and max(severities) is Severity.HIGH, template


def test_unparsable_template_is_medium() -> None:
    ctx = check("{% for m in messages %}{{ m }")
    assert [(f.rule, f.severity) for f in ctx.findings] == [
        ("chat-template-unparsable", Severity.MEDIUM)
    ]


def test_deeply_built_string_stays_bounded() -> None:
    template = "{{ x[" + " ~ ".join(["'a'"] * 3000) + "] }}"
    assert check(template).findings == []
    assert check("{{ 'a' * 999999999 }}").findings == []


def write_config(tmp_path: Path, config: object) -> ScanContext:
    path = tmp_path / "tokenizer_config.json"
    path.write_text(json.dumps(config))
    ctx = ScanContext(path="tokenizer_config.json", policy=None)
    with LocalFile(path) as source:
        scan_tokenizer_config(source, ctx)
    return ctx


def test_tokenizer_config_string_and_named_templates(tmp_path: Path) -> None:
    assert write_config(tmp_path, {"chat_template": CHATML, "bos_token": "<s>"}).findings == []
    named = [
        {"name": "default", "template": CHATML},
        {"name": "tool_use", "template": "{{ x.__class__ }}"},
    ]
    ctx = write_config(tmp_path, {"chat_template": named})
    assert [f.severity for f in ctx.findings] == [Severity.CRITICAL]
    assert "tool_use" in (ctx.findings[0].location or "")


def test_tokenizer_config_without_template_passes(tmp_path: Path) -> None:
    assert write_config(tmp_path, {"model_max_length": 512}).findings == []


def test_malformed_tokenizer_config_is_medium() -> None:
    ctx = ScanContext(path="tokenizer_config.json", policy=None)
    scan_tokenizer_config(BytesSource(b'{"chat_template": '), ctx)
    assert [(f.rule, f.severity) for f in ctx.findings] == [
        ("tokenizer-config-invalid", Severity.MEDIUM)
    ]


def test_dunder_special_token_with_template_is_high(tmp_path: Path) -> None:
    config = {"chat_template": "{{ messages[0][bos_token] }}", "bos_token": "__class__"}
    ctx = write_config(tmp_path, config)
    assert [(f.rule, f.severity) for f in ctx.findings] == [("chat-template-escape", Severity.HIGH)]
