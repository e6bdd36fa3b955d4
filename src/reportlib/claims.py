"""The claims ledger: every factual claim of the report, with a verdict and its evidence.

A claim is *cited* (the verdict comes from a primary source, named), *measured*
(the verdict is computed here from a measurement of the book, never typed) or
*not checkable* (a prediction, an opinion, or a fact this book cannot reach).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .tokenstats import NOT_DECIDED, PARTLY, REFUTED, SUPPORTED

NOT_CHECKABLE = "not checkable"
VERDICTS = (SUPPORTED, PARTLY, REFUTED, NOT_DECIDED, NOT_CHECKABLE)


@dataclass(frozen=True)
class Claim:
    """One claim of the report."""

    section: str
    claim: str
    kind: str  #: "cited", "measured" or "not checkable"
    evidence: str  #: a citation key / URL, or the chapter section that measures it
    verdict: str = ""  #: for cited claims only; measured ones are computed
    measure: str = ""  #: for measured claims: the key of the measurement that decides it
    note: str = ""
    #: the report's claim is about a model the book cannot run (the hosted LLaMA 3.2): its
    #: verdict is "not checkable", and what the book's own model shows is a separate column
    about_report_model: bool = False


def _cited(section: str, claim: str, verdict: str, evidence: str, note: str = "") -> Claim:
    return Claim(section, claim, "cited", evidence, verdict=verdict, note=note)


def _measured(
    section: str,
    claim: str,
    measure: str,
    evidence: str,
    note: str = "",
    about_report_model: bool = False,
) -> Claim:
    return Claim(
        section,
        claim,
        "measured",
        evidence,
        measure=measure,
        note=note,
        about_report_model=about_report_model,
    )


def _open(section: str, claim: str, evidence: str, note: str) -> Claim:
    return Claim(section, claim, NOT_CHECKABLE, evidence, verdict=NOT_CHECKABLE, note=note)


INTRO, LICENSE, MULTI, FINETUNE, CONTEXT, ALT, FUTURE = (
    "1. Introduction",
    "2. License",
    "3. Multilingual",
    "3. Fine-tuning",
    "3. Context window",
    "4. Alternatives",
    "5. Future",
)

CLAIMS: tuple[Claim, ...] = (
    _cited(INTRO, "LLaMA-1 was released on 24 February 2023.", SUPPORTED, "llama1"),
    _cited(
        INTRO,
        "LLaMA-2 was released on 18 July 2023 and opened to commercial use.",
        SUPPORTED,
        "llama2",
        "Commercial use is allowed by the Llama 2 Community License, "
        "with a separate licence needed above 700 million monthly active users.",
    ),
    _cited(
        INTRO,
        "LLaMA-3 was released on 18 April 2024.",
        SUPPORTED,
        "https://ai.meta.com/blog/meta-llama-3/",
    ),
    _cited(
        INTRO,
        "Meta AI, built on Llama 3, was rolled out in Meta's apps, English-speaking "
        "countries first.",
        SUPPORTED,
        "https://about.fb.com/news/2024/04/meta-ai-assistant-built-with-llama-3/",
    ),
    _cited(
        INTRO,
        "LLaMA-3.1 was released on 23 July 2024 in 8B, 70B and 405B sizes.",
        SUPPORTED,
        "llama3herd2024",
    ),
    _cited(INTRO, "LLaMA-3.1 supports 8 languages and tool use.", SUPPORTED, "llama3herd2024"),
    _open(
        INTRO,
        "The 405B model is comparable to GPT-4o and Claude 3.5 Sonnet.",
        "llama3herd2024",
        "Meta's own benchmark tables report comparable scores; no "
        "independent evaluation can be rerun offline.",
    ),
    _open(
        INTRO,
        "Meta is moving from Nvidia GPUs to its own accelerators because of supply, "
        "price and power.",
        "https://ai.meta.com/blog/next-generation-meta-training-inference-accelerator-AI-MTIA/",
        "Meta does build its own accelerator (MTIA); the stated motives are the report's.",
    ),
    _open(
        INTRO,
        "Meta is building its own software stack away from CUDA through PyTorch.",
        "—",
        "Too vague to check; PyTorch itself runs on CUDA.",
    ),
    _cited(
        INTRO,
        "LLaMA 3 was trained on 1.4 trillion tokens.",
        REFUTED,
        "llama3herd2024",
        "1.4T is LLaMA-1's figure (65B and 33B); Llama 3 was pre-trained on over 15T tokens.",
    ),
    _cited(
        INTRO,
        "The training data includes Meta's family apps (Facebook, Instagram).",
        REFUTED,
        "https://ai.meta.com/blog/meta-llama-3/",
        "Meta states the pre-training data was "
        "collected from publicly available sources; the Llama 2 paper says it includes no data "
        "from Meta's products or services.",
    ),
    _cited(
        INTRO,
        "The data: web crawls, GitHub code, Wikipedia, public-domain books, LaTeX "
        "papers, question-answer sites.",
        PARTLY,
        "llama1",
        "This is LLaMA-1's published data mix; Llama 3's mix is not itemised by source.",
    ),
    _open(
        LICENSE,
        "(The report's License section is empty.)",
        "book/license",
        "See the License page of this book.",
    ),
    _open(
        MULTI,
        "There are three ways to make a model multilingual: a translator in front, "
        "one model per language, one multilingual model.",
        "—",
        "A taxonomy, not a fact.",
    ),
    _cited(
        MULTI,
        "Google Translate and Papago are RNN-based.",
        PARTLY,
        "https://research.google/blog/recent-advances-in-google-translate/",
        "Since 2020 Google Translate uses a Transformer encoder with an RNN decoder.",
    ),
    _measured(
        MULTI,
        "Latin, Cyrillic and Arabic script output is easy; Korean, Japanese and Chinese are poor.",
        "probe_scripts",
        "notebooks/multilingual",
        "The report's claim is about the hosted LLaMA 3.2; the book's model is measured "
        "instead: good answers (in the language, not degenerate), crossed bootstrap over "
        "languages and frames, two-sided, Holm-adjusted.",
        about_report_model=True,
    ),
    _measured(
        MULTI,
        "Asked to answer in Russian, the model answered in English.",
        "probe_russian",
        "notebooks/multilingual",
        "The report's claim is about the hosted LLaMA 3.2; the book's model is measured "
        "instead: exact sign test of English against Russian answers, two-sided, "
        "Holm-adjusted.",
        about_report_model=True,
    ),
    _cited(
        MULTI,
        "The officially supported languages include Dutch and Russian.",
        REFUTED,
        "llama32card",
        "Meta lists English, German, French, Italian, Portuguese, Hindi, Spanish and Thai.",
    ),
    _measured(
        FINETUNE,
        "A Korean fine-tune (Bllossom 8B) introduces itself in Korean far better "
        "than the base model.",
        "finetune_korean",
        "notebooks/finetune",
        "The report's pair (Llama 3 8B vs Bllossom 8B) does not run offline; measured instead "
        "on the book's model with a LoRA adapter trained here on Korean legal text: Korean "
        "good-answer rate of the probe, McNemar's exact test on the same prompts, two-sided.",
        about_report_model=True,
    ),
    _measured(
        CONTEXT,
        "A model can only consider a limited number of tokens at once (the context window).",
        "window_enforced",
        "notebooks/context",
    ),
    _measured(
        CONTEXT,
        "Text is split into sub-words: 토큰화 becomes 토큰 + 화.",
        "split_word",
        "notebooks/tokenization",
        "Verdict for the Llama 3 tokenizer.",
    ),
    _measured(
        CONTEXT,
        "English runs at about 4 characters per token.",
        "chars_per_token",
        "notebooks/tokenization",
        "Verdict for the Llama 3 tokenizer.",
    ),
    _measured(
        CONTEXT,
        "Common English words are 1–2 tokens.",
        "common_words",
        "notebooks/tokenization",
        "Verdict for the Llama 3 tokenizer.",
    ),
    _measured(
        CONTEXT,
        "Spaces are usually separate tokens.",
        "spaces",
        "notebooks/tokenization",
        "Verdict for the Llama 3 tokenizer.",
    ),
    _measured(
        CONTEXT,
        "Punctuation is usually a separate token.",
        "punctuation",
        "notebooks/tokenization",
        "Verdict for the Llama 3 tokenizer.",
    ),
    _measured(CONTEXT, "A larger window costs more memory.", "kv_memory", "notebooks/context"),
    _measured(
        CONTEXT,
        "A longer context costs more computation and latency.",
        "latency",
        "notebooks/context",
    ),
    _open(
        CONTEXT,
        "A larger window costs more money.",
        "—",
        "Prices are set by providers; follows from compute, not measured.",
    ),
    _cited(
        ALT,
        "ChatGPT is paid and closed.",
        PARTLY,
        "https://openai.com/chatgpt/pricing/",
        "Its weights are closed; ChatGPT has a free tier besides paid plans.",
    ),
    _cited(ALT, "Qwen is developed by Alibaba.", SUPPORTED, "qwen25report2024"),
    _cited(
        ALT,
        "Most Qwen models are released under Apache 2.0.",
        SUPPORTED,
        "qwen25report2024",
        "Qwen2.5 3B and 72B have their own licences; the other sizes are Apache 2.0.",
    ),
    _measured(
        ALT,
        "Qwen is strongest in Chinese.",
        "qwen_chinese",
        "notebooks/tokenization",
        "Only the tokenizer side is measured: tokens for Chinese relative to English.",
    ),
    _measured(
        ALT,
        "Qwen uses fewer dimensions and fewer layers than LLaMA.",
        "qwen_architecture",
        "notebooks/alternatives",
        "Published architectures at matched sizes.",
    ),
    _open(
        ALT,
        "So Qwen is cheaper to fine-tune but weaker on complex language.",
        "—",
        "Fine-tuning cost and 'complex language' are not measured here.",
    ),
    _measured(
        FUTURE,
        "Small language models are cheap enough to run on ordinary hardware.",
        "slm_speed",
        "notebooks/small-models",
        "Supported when the SLM generates at least 5 tokens/s on this 2-core machine.",
    ),
    _open(FUTURE, "Multimodal models are the direction of the future.", "—", "A prediction."),
)

#: how a measured claim's verdict follows from its measurement
RULES: dict[str, Callable[[Any], str]] = {
    "probe_scripts": lambda verdict: verdict,  # computed by probe_analysis.report_observations
    "probe_russian": lambda verdict: verdict,
    "finetune_korean": lambda verdict: verdict,  # finetune_analysis.finetune_verdict
    "split_word": lambda verdict: verdict,  # computed by tokenstats checks
    "chars_per_token": lambda verdict: verdict,
    "common_words": lambda verdict: verdict,
    "spaces": lambda verdict: verdict,
    "punctuation": lambda verdict: verdict,
    "window_enforced": lambda rejected: SUPPORTED if rejected else REFUTED,
    "kv_memory": lambda sizes: (
        SUPPORTED if list(sizes) == sorted(sizes) and sizes[-1] > sizes[0] else REFUTED
    ),
    "latency": lambda seconds: SUPPORTED if list(seconds) == sorted(seconds) else PARTLY,
    "qwen_chinese": lambda premiums: PARTLY if premiums["qwen"] < premiums["llama3"] else REFUTED,
    "qwen_architecture": lambda pairs: (
        SUPPORTED
        if all(p["Qwen fewer layers"] and p["Qwen smaller hidden size"] for p in pairs)
        else REFUTED
        if not any(p["Qwen fewer layers"] or p["Qwen smaller hidden size"] for p in pairs)
        else PARTLY
    ),
    "slm_speed": lambda tokens_per_s: SUPPORTED if tokens_per_s >= 5 else REFUTED,
}


#: the column of what the book's own model shows, for claims about the report's model
BOOK_MODEL_COLUMN = "this book's model shows"


def build_ledger(
    measurements: dict[str, Any], model: str = "", models: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """The ledger rows; a measured claim without its measurement is an error, not a guess.
    For a claim about the report's model (the hosted LLaMA 3.2), the verdict on the claim
    is "not checkable" and the measured verdict goes, with the model's name, to the
    :data:`BOOK_MODEL_COLUMN` column ("—" in the other rows). The model is ``model``, or
    ``models[measure]`` for a measurement made on another model (the fine-tune pair)."""
    rows = []
    for number, claim in enumerate(CLAIMS, start=1):
        shows = "—"
        if claim.kind == "measured":
            if claim.measure not in measurements:
                raise KeyError(f"no measurement {claim.measure!r} for claim {number}")
            verdict = RULES[claim.measure](measurements[claim.measure])
            if claim.about_report_model:
                shown_model = (models or {}).get(claim.measure) or model
                shows = f"{verdict} on {shown_model or 'the book’s model'}"
                verdict = NOT_CHECKABLE
        else:
            verdict = claim.verdict
        rows.append(
            {
                "#": str(number),
                "section": claim.section,
                "claim": claim.claim,
                "verdict": verdict,
                BOOK_MODEL_COLUMN: shows,
                "how": claim.kind,
                "evidence": claim.evidence,
                "note": claim.note,
            }
        )
    return rows
