"""One test per model licence beyond Llama: a relicensed derivative fails, a faithful one passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks.findings import Severity
from checks.licence.texts_match import identify
from tests.licence.conftest import Files, run_check

BASE = "org/base"
QWEN_TEXTS = Path("corpus/licences/model-licences/qwen")


@dataclass(frozen=True)
class Model:
    """A base licence as a card declares it, the term a derivative keeps, and what it ships."""

    licence: str  # the card's `license`
    name: str  # its `license_name` ("" for a Hub id)
    term: str  # the licence's own words that bind the derivative
    said: str  # a word the conflict finding must say, from that term
    title: str  # the opening of the licence text
    notice: str = ""  # the Notice text the licence asks for
    display: str = ""  # the line a derivative's card must display
    ships: str = "a copy of the"  # what the derivative must ship, as the finding says it

    def card(self, *, body: str = "# Derivative\n") -> str:
        extra = f"license_name: {self.name}\nlicense_link: LICENSE\n" if self.name else ""
        return f"---\nlicense: {self.licence}\n{extra}base_model:\n  - {BASE}\n---\n{body}"

    def base_card(self) -> str:
        extra = f"license_name: {self.name}\nlicense_link: LICENSE\n" if self.name else ""
        return f"---\nlicense: {self.licence}\n{extra}---\n# Base\n"

    def faithful(self) -> Files:
        files: Files = {
            "README.md": self.card(body=f"# Derivative\n\n{self.display}\n"),
            "LICENSE": f"{self.title}\n\n{self.term}\n\nAttachment A: Use Restrictions …\n",
        }
        if self.notice:
            files = {**files, "NOTICE": self.notice + "\n"}
        return files


MODELS = {
    "mrl": Model(
        "other",
        "mrl",
        "“Research Purposes” means any use of a Mistral Model, Derivative, or Output that is "
        "solely for (a) personal, scientific or academic research, and (b) for non-profit and "
        "non-commercial purposes",
        "research only",
        "Mistral AI Research License",
        "Licensed by Mistral AI under the Mistral AI Research License",
    ),
    "mnpl": Model(
        "other",
        "mnpl",
        "You shall only use the Mistral Models, Derivatives … and Outputs for Testing, Research, "
        "Personal, or Evaluation purposes in Non-Production Environments",
        "non-production",
        "Mistral AI Non-Production License",
        "Licensed by Mistral AI under the Mistral AI Non-Production License",
    ),
    "qwen-research": Model(
        "other",
        "qwen-research",
        "“Non-Commercial” shall mean for research or evaluation purposes only",
        "non-commercial",
        "Qwen RESEARCH LICENSE AGREEMENT",
        "Qwen is licensed under the Qwen RESEARCH LICENSE AGREEMENT, Copyright (c) Alibaba Cloud. "
        "All Rights Reserved.",
        "Built with Qwen",
    ),
    "qwen": Model(
        "other",
        "qwen",
        "If you are commercially using the Materials, and your product or service has more than "
        "100 million monthly active users, You shall request a license from Us.",
        "100 million monthly active users",
        "Qwen LICENSE AGREEMENT",
        "Qwen is licensed under the Qwen LICENSE AGREEMENT, Copyright (c) Alibaba Cloud. "
        "All Rights Reserved.",
        "Improved using Qwen",
    ),
    "tongyi-qianwen-research": Model(
        "other",
        "tongyi-qianwen-research",
        "You can not use the Materials or any output therefrom to improve any other large language "
        "model (excluding Tongyi Qianwen or derivative works thereof).",
        "improve any other large language model",
        "Tongyi Qianwen RESEARCH LICENSE AGREEMENT",
        "Tongyi Qianwen is licensed under the Tongyi Qianwen RESEARCH LICENSE AGREEMENT, "
        "Copyright (c) Alibaba Cloud. All Rights Reserved.",
    ),
    "deepseek": Model(
        "other",
        "deepseek",
        "You must include the use-based restrictions referenced in Section 4 (Attachment A) as an "
        "enforceable provision in any type of legal agreement governing the use and/or "
        "distribution of the Model and its Derivatives",
        "Attachment A",
        "DEEPSEEK LICENSE AGREEMENT",
    ),
    "falcon-180b-license": Model(
        "other",
        "falcon-180b-license",
        "Your use of the Work or Derivative Works is subject to the Acceptable Use Policy; "
        "Hosting Use requires a separate licence",
        "hosted or managed service",
        "Falcon 180B TII License",
        display="Use is subject to the Falcon 180B Acceptable Use Policy.",
    ),
    "falcon-llm-license": Model(
        "other",
        "falcon-llm-license",
        "Your use of the Work … is subject to the Acceptable Use Policy",
        "Acceptable Use Policy",
        "TII Falcon License, Version 2.0",
        display="Use is subject to the Falcon Acceptable Use Policy.",
    ),
    "stabilityai-ai-community": Model(
        "other",
        "stabilityai-ai-community",
        "If you or your affiliate(s) have annual revenues in excess of US $1,000,000 … you must "
        "obtain an Enterprise licence",
        "1,000,000",
        "STABILITY AI COMMUNITY LICENSE AGREEMENT",
        "This Stability AI Model is licensed under the Stability AI Community License, "
        "Copyright © Stability AI Ltd. All Rights Reserved",
        "Powered by Stability AI",
    ),
    "flux-1-dev-non-commercial-license": Model(
        "other",
        "flux-1-dev-non-commercial-license",
        "you may use the FLUX.1 [dev] Model and Derivatives only for Non-Commercial Purposes",
        "Non-Commercial Purposes",
        "FLUX.1 [dev] Non-Commercial License",
        "The FLUX.1 [dev] Model is licensed by Black Forest Labs. Inc. under the FLUX.1 [dev] "
        "Non-Commercial License. Copyright Black Forest Labs. Inc.",
    ),
    "apple-amlr": Model(
        "apple-amlr",
        "",
        "“Research Purposes” means non-commercial scientific research and academic development "
        "activities",
        "research only",
        "Apple Machine Learning Research Model License Agreement",
    ),
    "grok2-community": Model(
        "grok2-community",
        "",
        "You may not use the Materials, derivatives, or outputs … to train, create, or improve any "
        "foundational, large language, or general-purpose AI models, except for modifications or "
        "fine-tuning of Grok 2",
        "train or improve other foundation",
        "Grok 2 Community License Agreement",
    ),
    "bigscience-bloom-rail-1.0": Model(
        "bigscience-bloom-rail-1.0",
        "",
        "You must include the use-based restrictions referenced in paragraph 5 as an enforceable "
        "provision in any type of legal agreement governing the use and/or distribution of the "
        "Model or Derivatives of the Model",
        "Attachment A",
        "BigScience RAIL License v1.0",
        ships="the use restrictions (Attachment A)",
    ),
    "deepfloyd-if-license": Model(
        "deepfloyd-if-license",
        "",
        "use the Software Products … for non-commercial research purposes only",
        "non-commercial research",
        "DEEPFLOYD IF LICENSE AGREEMENT",
    ),
    "fair-noncommercial-research-license": Model(
        "fair-noncommercial-research-license",
        "",
        "“Noncommercial Research Uses” means noncommercial research use cases related to research, "
        "development, education, processing, or analysis",
        "non-commercial research",
        "FAIR Noncommercial Research License",
    ),
    "intel-research": Model(
        "intel-research",
        "",
        "for research use only",
        "research use only",
        "Intel Research Use License Agreement",
    ),
    "lgpl-lr": Model(
        "lgpl-lr",
        "",
        "a modified linguistic resource is distributed under the terms of this License",
        "weak copyleft",
        "Lesser General Public License For Linguistic Resources",
    ),
}


def conflicts(result: object) -> list[str]:
    return [f.message for f in result.findings if f.rule == "base-licence-conflict"]  # type: ignore[attr-defined]


def base_rules(result: object) -> list[str]:
    return sorted(f.rule for f in result.findings if f.rule.startswith("base-"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", sorted(MODELS))
def test_a_relicensed_derivative_fails_and_names_the_term_it_drops(
    tree: Callable[[Files], Path], key: str
) -> None:
    model = MODELS[key]
    root = tree({"README.md": "---\nlicense: apache-2.0\nbase_model:\n  - org/base\n---\n# D\n"})
    result = run_check(root, base_cards={BASE: model.base_card()})
    (message,) = conflicts(result)
    assert model.said.lower() in message.lower(), message
    assert [f.severity for f in result.findings if f.rule == "base-licence-conflict"] == [
        Severity.HIGH
    ]
    missing = " ".join(f.message for f in result.findings if f.rule == "base-obligation-missing")
    assert model.ships in missing, "the licence's terms must travel with the derivative"
    if model.notice:
        assert "Notice" in missing
    if model.display:
        assert "displayed" in missing or "passed on" in missing


@pytest.mark.parametrize("key", sorted(MODELS))
def test_a_derivative_that_keeps_the_terms_passes(tree: Callable[[Files], Path], key: str) -> None:
    model = MODELS[key]
    result = run_check(tree(model.faithful()), base_cards={BASE: model.base_card()})
    assert base_rules(result) == [], [f.message for f in result.findings]


@pytest.mark.parametrize("key", ["deepseek", "bigscience-bloom-rail-1.0"])
def test_a_card_that_says_the_use_restrictions_do_not_apply_breaks_the_licence(
    tree: Callable[[Files], Path], key: str
) -> None:
    model = MODELS[key]
    files = {
        **model.faithful(),
        "README.md": model.card(body="# D\n\nThe use restrictions do not apply to this model.\n"),
    }
    result = run_check(tree(files), base_cards={BASE: model.base_card()})
    (waived,) = [f for f in result.findings if f.rule == "base-restrictions-waived"]
    assert waived.severity is Severity.HIGH and "do not apply" in waived.message


def test_qwen_notices_need_built_with_qwen(tree: Callable[[Files], Path]) -> None:
    model = MODELS["qwen"]
    files = {**model.faithful(), "README.md": model.card()}
    result = run_check(tree(files), base_cards={BASE: model.base_card()})
    (missing,) = [f for f in result.findings if f.rule == "base-obligation-missing"]
    assert "Built with Qwen" in missing.message and missing.path == "README.md"


def test_a_commercial_licence_cannot_stand_in_for_the_research_one(
    tree: Callable[[Files], Path],
) -> None:
    research, commercial = MODELS["qwen-research"], MODELS["qwen"]
    result = run_check(tree({**commercial.faithful()}), base_cards={BASE: research.base_card()})
    assert conflicts(result) and "non-commercial" in conflicts(result)[0]


@pytest.mark.parametrize(
    ("file", "key"),
    [
        ("Tongyi-Qianwen-LICENSE-AGREEMENT.txt", "other:tongyi-qianwen"),
        ("Tongyi-Qianwen-RESEARCH-LICENSE-AGREEMENT.txt", "other:tongyi-qianwen-research"),
    ],
)
def test_the_real_qwen_agreements_are_told_apart(shared_dir: Path, file: str, key: str) -> None:
    match = identify((shared_dir / QWEN_TEXTS / file).read_text("utf-8"))
    assert match is not None and match.key == key


@pytest.mark.parametrize(
    ("name", "signal"),
    [("acme-research-only", "research"), ("acme-nc-1.0", "nc"), ("acme-non-commercial", "non")],
)
def test_an_unknown_base_licence_that_limits_use_is_never_silent(
    tree: Callable[[Files], Path], name: str, signal: str
) -> None:
    base = f"---\nlicense: other\nlicense_name: {name}\nlicense_link: LICENSE\n---\n# Base\n"
    root = tree({"README.md": "---\nlicense: mit\nbase_model:\n  - org/base\n---\n# D\n"})
    result = run_check(root, base_cards={BASE: base})
    (found,) = [f for f in result.findings if f.rule == "base-licence-restricted"]
    assert found.severity is Severity.HIGH and signal in found.message.lower()
    assert "allows commercial use" in found.message


@pytest.mark.parametrize(
    ("licence", "text"),
    [("openmdw-1.0", "OpenMDW License Agreement, version 1.0"),
     ("apple-ascl", "IMPORTANT: This Apple software is supplied to you by Apple Inc.")],
)  # fmt: skip
def test_a_permissive_model_licence_lets_the_derivative_choose_but_travels(
    tree: Callable[[Files], Path], licence: str, text: str
) -> None:
    base = f"---\nlicense: {licence}\n---\n# Base\n"
    derivative = "---\nlicense: apache-2.0\nbase_model:\n  - org/base\n---\n# D\n"
    result = run_check(tree({"README.md": derivative}), base_cards={BASE: base})
    assert conflicts(result) == []
    (missing,) = [f for f in result.findings if f.rule == "base-obligation-missing"]
    assert missing.severity is Severity.MEDIUM
    kept = run_check(tree({"README.md": derivative, "LICENSE.base": text}), base_cards={BASE: base})
    assert base_rules(kept) == []


def test_a_research_licence_unknown_by_name_is_still_restricted(
    tree: Callable[[Files], Path],
) -> None:
    base = "---\nlicense: h-research\n---\n# Base\n"
    root = tree({"README.md": "---\nlicense: apache-2.0\nbase_model:\n  - org/base\n---\n# D\n"})
    (found,) = [
        f
        for f in run_check(root, base_cards={BASE: base}).findings
        if f.rule == "base-licence-restricted"
    ]
    assert found.severity is Severity.HIGH and "research" in found.message


def test_license_other_naming_a_known_licence_is_that_licence(
    tree: Callable[[Files], Path],
) -> None:
    base = "---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n---\n# Base\n"
    child = (
        "---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n"
        "base_model:\n  - org/base\n---\n# Llama-3-Tuned\n\nBuilt with Meta Llama 3\n"
    )
    files = {
        "README.md": child,
        "LICENSE": "META LLAMA 3 COMMUNITY LICENSE AGREEMENT\n…\n",
        "NOTICE": "Meta Llama 3 is licensed under the Meta Llama 3 Community License, "
        "Copyright © Meta Platforms, Inc. All Rights Reserved.\n",
    }
    result = run_check(tree(files), base_cards={BASE: base}, model_id="someone/Llama-3-Tuned")
    assert base_rules(result) == []
    relicensed = run_check(tree({**files, "README.md": child.replace("llama3\n", "mit\n", 1)}),
                           base_cards={BASE: base})  # fmt: skip
    assert conflicts(relicensed) and "Llama 3" in conflicts(relicensed)[0]
