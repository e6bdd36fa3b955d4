"""The claims ledger: every factual claim of the report, with a verdict and its evidence.

A claim is *cited* (the verdict comes from a primary source, named), *measured*
(the verdict is computed here from a measurement of the book, never typed) or
*not checkable* (a prediction, an opinion, or a fact this book cannot reach).

A measured claim whose rule cannot fail (it checks how a thing is defined or built, not
a fact that could have come out otherwise) is marked *definitional*: the ledger shows it as
such and does not count it as a verdict supported by measurement (:func:`ledger_counts`).

Every measured claim has a :class:`Rule`: the rule in words, shown next to the verdict,
and the function that turns the measurement into the verdict and the number the reader
sees. Compound claims of the report are split into their parts, one row each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reportlib.core.sources import (
    AI_SERVERS_TWH_2027,
    GPT3_TRAINING_ENERGY_MWH,
    IMAGE_GENERATION_PHONE_CHARGES,
    LLAMA3_ENGLISH_CHARS_PER_TOKEN,
    US_HOME_KWH_PER_YEAR,
    homes_per_year,
)
from reportlib.core.verdicts import (
    NOT_CHECKABLE,
    NOT_DECIDED,
    PARTLY,
    REFUTED,
    SUPPORTED,
    VERDICTS,
)
from reportlib.experiments.finetune.analysis import EASY_RULE, easy_verdict
from reportlib.experiments.ledger import BOOK_MODEL_COLUMN
from reportlib.experiments.probe.analysis import RUSSIAN_RULE, SCRIPTS_RULE
from reportlib.experiments.tokens import (
    CHARS_PER_TOKEN_RULE,
    CHECK_FORMATS,
    COMMON_WORDS_RULE,
    SEPARATION_RULE,
    SPLIT_RULE,
)


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
    #: for a cited claim: the key of a measurement shown beside it (see :data:`FACTS`)
    shows: str = ""
    #: for a measured claim: its rule cannot fail (true by definition or by construction), so
    #: its verdict is shown but not counted as evidence; the note says why
    definitional: bool = False


def _cited(
    section: str, claim: str, verdict: str, evidence: str, note: str = "", shows: str = ""
) -> Claim:
    return Claim(section, claim, "cited", evidence, verdict=verdict, note=note, shows=shows)


def _measured(
    section: str,
    claim: str,
    measure: str,
    evidence: str,
    note: str = "",
    about_report_model: bool = False,
    definitional: bool = False,
) -> Claim:
    return Claim(
        section,
        claim,
        "measured",
        evidence,
        measure=measure,
        note=note,
        about_report_model=about_report_model,
        definitional=definitional,
    )


def _not_checkable(section: str, claim: str, evidence: str, note: str) -> Claim:
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

#: Figure and OpenAI: the collaboration (Reuters, 29 February 2024) and its end (4 February 2025)
FIGURE_OPENAI_2024 = (
    "https://www.thestar.com.my/tech/tech-news/2024/02/29/"
    "robotics-startup-figure-raises-675-million-from-microsoft-nvidia-other-big-techs"
)
FIGURE_LEAVES_OPENAI_2025 = (
    "https://www.benzinga.com/tech/25/02/43487564/tesla-rival-figure-ai-ends-collaboration-"
    "with-openai-after-major-breakthrough-says-it-will-show-something-no"
)

CLAIMS: tuple[Claim, ...] = (
    _cited(
        INTRO,
        "LLaMA stands for Large Language Model Meta AI.",
        SUPPORTED,
        "https://ai.meta.com/blog/large-language-model-llama-meta-ai/",
        "Meta's announcement of the first model (24 February 2023): 'today we are publicly "
        "releasing LLaMA (Large Language Model Meta AI)'. The report says it of LLaMA 3; "
        "the later releases are titled 'Llama 2' and 'Llama 3'.",
    ),
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
        "LLaMA is an open-source language model.",
        PARTLY,
        "https://opensource.org/blog/metas-llama-2-license-is-not-open-source",
        "Its weights and code can be downloaded under Meta's community licence. The Open "
        "Source Initiative states that the Llama 2 licence is not open source, because it "
        "restricts commercial use for some users and restricts uses through an Acceptable Use "
        "Policy; the Llama 3 licence keeps both (the 700-million-user limit and the policy).",
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
    _cited(
        INTRO,
        "The 405B model is comparable to GPT-4o and Claude 3.5 Sonnet.",
        SUPPORTED,
        "https://ai.meta.com/blog/meta-llama-3-1/",
        "Meta's announcement: the flagship model 'is competitive with leading foundation "
        "models across a range of tasks, including GPT-4, GPT-4o, and Claude 3.5 Sonnet'. "
        "This is Meta's own evaluation; no independent one can be rerun offline.",
    ),
    _not_checkable(
        INTRO,
        "Meta is moving from Nvidia GPUs to its own accelerators because of supply, "
        "price and power.",
        "https://ai.meta.com/blog/next-generation-meta-training-inference-accelerator-AI-MTIA/",
        "Meta does build its own accelerator (MTIA); the stated motives are the report's.",
    ),
    _not_checkable(
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
        "llama3card",
        "Rests only on Meta's own statement (the data is not published): Llama 3's model card "
        "says 'Neither the pretraining nor the fine-tuning datasets include Meta user data.' "
        "That sentence is Llama 3's own: the Llama 2 paper's does not carry over, and "
        "'publicly available sources', all that the model cards of Llama 3.1, 3.2 and 3.3 "
        "say, would not exclude public posts. Llama 4's model card says its data includes "
        "'publicly shared posts from Instagram and Facebook'.",
    ),
    _cited(
        INTRO,
        "The data: web crawls, GitHub code, Wikipedia, public-domain books, LaTeX "
        "papers, question-answer sites.",
        PARTLY,
        "llama1",
        "This is LLaMA-1's published data mix; Llama 3's mix is not itemised by source.",
    ),
    _not_checkable(
        LICENSE,
        "(The report's License section is empty.)",
        "book/license",
        "See the License page of this book.",
    ),
    _not_checkable(
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
        "notebooks/multilingual#multilingual-observations",
        "The report's claim is about the hosted LLaMA 3.2; the book's model is measured instead.",
        about_report_model=True,
    ),
    _measured(
        MULTI,
        "Asked to answer in Russian, the model answered in English.",
        "probe_russian",
        "notebooks/multilingual#multilingual-observations",
        "The report's claim is about the hosted LLaMA 3.2; the book's model is measured instead.",
        about_report_model=True,
    ),
    _cited(
        MULTI,
        "The officially supported languages include Dutch and Russian.",
        REFUTED,
        "llama32card",
        "Meta lists English, German, French, Italian, Portuguese, Hindi, Spanish and Thai.",
    ),
    _cited(
        MULTI,
        "LLaMA 3.2 was improved for English, Spanish, French, German, Italian, Portuguese, "
        "Hindi and Thai.",
        SUPPORTED,
        "llama32card",
        "The report's second list is Meta's list of officially supported languages. Korean "
        "is not among them.",
    ),
    _measured(
        FINETUNE,
        "A Korean fine-tune (Bllossom 8B) introduces itself in Korean far better "
        "than the base model.",
        "finetune_korean",
        "notebooks/finetune#finetune-korean-probe",
        "The report's pair (LLaMA 3.2 against Bllossom 8B, itself a fine-tune of Llama 3 8B) "
        "does not run offline; measured instead on the book's chat model of the Llama "
        "architecture and a Korean instruction LoRA trained here (a 135M model, not LLaMA).",
        about_report_model=True,
    ),
    _measured(
        FINETUNE,
        "Because LLaMA 3 is one multilingual model, fine-tuning it for another language is easy.",
        "finetune_easy",
        "notebooks/finetune#finetune-dose-response",
        "About LLaMA 3; measured instead on the book's chat model (SmolLM2 135M, the Llama "
        "architecture): a Korean instruction LoRA against the chat model and against an "
        "English LoRA of the same size.",
        about_report_model=True,
    ),
    _cited(
        FINETUNE,
        "Bllossom was fine-tuned on over 100 GB of Korean text with the support of Seoul "
        "National University of Science and Technology's supercomputing centre.",
        SUPPORTED,
        "https://huggingface.co/MLP-KTLim/llama-3-Korean-Bllossom-8B",
        "Its model card: '서울과기대 슈퍼컴퓨팅 센터의 지원으로 100GB가넘는 한국어로 모델전체를 "
        "풀튜닝'. An update of 2024-06-18 raised the pre-training text to 250 GB.",
    ),
    _cited(
        CONTEXT,
        "A model can only consider a limited number of tokens at once (the context window).",
        SUPPORTED,
        "llama3herd2024",
        "A definition, as the Llama 3 paper uses it (pre-training on 8K-token windows, "
        "extended to 128K). What the book can measure is the window its model was trained "
        "for, read from the model file, and what the model retrieves within it (the context "
        "chapter).",
        shows="trained_window",
    ),
    _cited(
        CONTEXT,
        "A larger window lets the model remember more of a conversation.",
        PARTLY,
        "ruler2024 notebooks/context#context-ruler",
        "Text outside the window is not seen at all, so only a larger window can hold more of "
        "a conversation; holding it is not using it. RULER tested 17 long-context models: "
        "'While these models all claim context sizes of 32K tokens or greater, only half of "
        "them can maintain satisfactory performance at the length of 32K.' The context chapter "
        "runs four of RULER's tasks on the book's small model and reports its effective "
        "length; that model is not LLaMA, so no verdict is computed from it here.",
    ),
    _not_checkable(
        CONTEXT,
        "A larger window keeps the model coherent over long passages.",
        "notebooks/context#context-ruler",
        "Coherence over long text is not measured here, and RULER's tasks measure retrieval, "
        "tracing and aggregation, not coherence; the context chapter shows what a longer "
        "prompt does to retrieval.",
    ),
    _measured(
        CONTEXT,
        "Text is split into sub-words: 토큰화 becomes 토큰 + 화.",
        "split_word",
        "notebooks/tokenization#tokenization-claims",
    ),
    _measured(
        CONTEXT,
        "English runs at about 4 characters per token.",
        "chars_per_token",
        "notebooks/tokenization#tokenization-claims llama3herd2024",
        f"Meta reports {LLAMA3_ENGLISH_CHARS_PER_TOKEN.value} characters per token for "
        "Llama 3's tokenizer on a sample of its own English data, which is not published: the "
        "figure depends on the text measured.",
    ),
    _measured(
        CONTEXT,
        "Common English words are 1–2 tokens.",
        "common_words",
        "notebooks/tokenization#tokenization-claims",
        "True by construction, so not counted as evidence: byte-pair encoding merges the most "
        "frequent strings of its training text first, and the 100 most common English words "
        "are among the most frequent strings of any text with much English in it, so a BPE "
        "vocabulary of 128k tokens makes them whole tokens. The rule checks how the vocabulary "
        "was built; it could not have failed.",
        definitional=True,
    ),
    _measured(
        CONTEXT,
        "Spaces are usually separate tokens.",
        "spaces",
        "notebooks/tokenization#tokenization-claims",
    ),
    _measured(
        CONTEXT,
        "Punctuation is usually a separate token.",
        "punctuation",
        "notebooks/tokenization#tokenization-claims",
    ),
    _measured(
        CONTEXT,
        "A larger window costs more memory.",
        "kv_memory",
        "notebooks/context#context-memory",
        "True by definition, so not counted as evidence: llama.cpp allocates a key and a value "
        "for every token of the window (2 × layers × KV heads × head dim × window × bytes), "
        "so the cache grows with the window by construction. The measurement shows how much; "
        "it could not have refuted the claim.",
        definitional=True,
    ),
    _measured(
        CONTEXT,
        "A longer context costs more computation and latency.",
        "latency",
        "notebooks/context#context-latency",
    ),
    _measured(
        CONTEXT,
        "Input tokens add less latency than output tokens.",
        "input_output",
        "notebooks/context#context-latency",
    ),
    _not_checkable(
        CONTEXT,
        "A larger window costs more money.",
        "—",
        "Prices are set by providers; follows from compute, not measured.",
    ),
    _cited(
        ALT,
        "ChatGPT's full features need a paid plan, and fine-tuning costs extra.",
        SUPPORTED,
        "https://help.openai.com/en/articles/6950777",
        "ChatGPT has a free tier and paid plans (Plus 'provides enhanced access to the "
        "ChatGPT web app'); API use, where fine-tuning is done, 'is separate and billed "
        "independently'. Its model weights are not released.",
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
        "notebooks/alternatives#alternatives-tokenizers",
        "No Qwen model runs here, so the claim about its ability is not checkable; the "
        "tokenizer side is measured.",
        about_report_model=True,
    ),
    _measured(
        ALT,
        "Qwen uses fewer layers than LLaMA.",
        "qwen_layers",
        "notebooks/alternatives#alternatives-architectures",
        "Published architectures at matched sizes.",
    ),
    _measured(
        ALT,
        "Qwen uses a smaller hidden size (fewer dimensions) than LLaMA.",
        "qwen_hidden",
        "notebooks/alternatives#alternatives-architectures",
        "Published architectures at matched sizes.",
    ),
    _measured(
        ALT,
        "Qwen uses a narrower feed-forward layer than LLaMA.",
        "qwen_ffn",
        "notebooks/alternatives#alternatives-architectures",
        "Published architectures at matched sizes; widths from the released config.json.",
    ),
    _not_checkable(
        ALT,
        "So Qwen is cheaper to fine-tune but weaker on complex language.",
        "—",
        "Fine-tuning cost and 'complex language' are not measured here.",
    ),
    _cited(
        FUTURE,
        "The amount of data used for training is already overtaking the amount produced.",
        PARTLY,
        "villalobos2024",
        "Villalobos et al. project that 'if current LLM development trends continue, models "
        "will be trained on datasets roughly equal in size to the available stock of public "
        "human text data between 2026 and 2032' (median 2028). Training data is growing "
        "towards the whole stock of public human text, but that is a projection: they do not "
        "find that it has already been overtaken.",
    ),
    _cited(
        FUTURE,
        "Training on AI-generated data leads to overfitting and makes models gradually less "
        "human-like.",
        PARTLY,
        "shumailov2024 llama33card",
        "Shumailov et al. find that 'indiscriminately learning from data produced by other "
        "models causes \"model collapse\"', a process whereby 'over time, models forget the true "
        "underlying data distribution', first its tails. That is the report's 'gradually less "
        "human-like', for models trained generation after generation on their predecessors' "
        "output; the mechanism they describe is not overfitting. Synthetic data is not "
        "excluded by it: Llama 3.3 was fine-tuned on 'over 25M synthetically generated "
        "examples' (its model card; Llama 3.1's says the same).",
    ),
    _cited(
        FUTURE,
        "By 2027 data centres will use as much electricity as Argentina, Sweden or the "
        "Netherlands.",
        PARTLY,
        "devries2023",
        f"de Vries projects {AI_SERVERS_TWH_2027.low:g}–{AI_SERVERS_TWH_2027.value:g} TWh a "
        "year by 2027 for AI "
        "servers (NVIDIA's shipments), not for all data centres. The comparison with "
        "countries could not be checked against the paper's text offline.",
    ),
    _cited(
        FUTURE,
        "Training a large language model uses about the yearly electricity of 120 US homes.",
        NOT_CHECKABLE,
        "patterson2021",
        "Not checkable here: the figure it rests on, "
        f"{GPT3_TRAINING_ENERGY_MWH.value:,.0f} MWh for GPT-3, is attributed to Patterson et "
        "al. only by secondary quotations; the paper's table could not be opened offline. "
        f"If the figure is right, at the EIA's {US_HOME_KWH_PER_YEAR.value:,.0f} kWh per US "
        f"home (2020) it is {homes_per_year():.0f} homes for a year (arithmetic only).",
    ),
    _cited(
        FUTURE,
        "Generating one image uses about a full phone charge.",
        PARTLY,
        "luccioni2024",
        f"The least efficient image model of the study uses about "
        f"{IMAGE_GENERATION_PHONE_CHARGES.value:g} of a smartphone charge per image (0.022 kWh "
        "per charge); the study's first version, with an older 0.012 kWh per charge, said "
        "nearly one. The other image models use less.",
    ),
    _measured(
        FUTURE,
        "Small language models cut the computing resources a model needs.",
        "slm_compute",
        "notebooks/small-models#small-models-measured",
    ),
    _cited(
        FUTURE,
        "Training a large language model takes days to months, even on many GPUs.",
        SUPPORTED,
        "llama1 llama3herd2024",
        "Meta's own figures for its own runs: LLaMA-65B on 2048 A100 GPUs, 'training over our "
        "dataset containing 1.4T tokens takes approximately 21 days'; Llama 3 had 466 job "
        "interruptions 'during a 54-day snapshot period of pre-training', so its "
        "pre-training lasted at least 54 days.",
    ),
    _measured(
        FUTURE,
        "Small language models can be trained and improved at small scale, by anyone.",
        "slm_training",
        "notebooks/finetune#finetune-cost",
    ),
    _not_checkable(
        FUTURE, "Multimodal models are the direction of the future.", "—", "A prediction."
    ),
    _cited(
        FUTURE,
        "Figure, which works with OpenAI, is already trying to combine AI with robots.",
        SUPPORTED,
        FIGURE_OPENAI_2024 + " " + FIGURE_LEAVES_OPENAI_2025,
        "True for the report's time, no longer: on 29 February 2024 Figure 'signed a "
        "collaboration with OpenAI to develop generative artificial intelligence for its "
        "humanoid robots' (Reuters); on 4 February 2025 its CEO announced that Figure was "
        "leaving the agreement for AI built in-house (Benzinga). The report treats LLaMA 3.2 "
        "(September 2024) as the latest release, so it was most likely written in between. "
        "Both sources are news reports; Figure's own announcement could not be opened offline.",
    ),
)


@dataclass(frozen=True)
class Decision:
    """A verdict and what it rests on, as the reader sees it."""

    verdict: str
    measured: str  #: the deciding number(s), with units


@dataclass(frozen=True)
class Rule:
    """How a measured claim's verdict follows from its measurement."""

    text: str  #: the rule in words, shown next to the verdict
    decide: Callable[[Any], Decision]


def _check(check: Any) -> Decision:
    """A :class:`~reportlib.experiments.tokens.ClaimCheck` as a decision, its number as the
    tokenization chapter shows it."""
    shown = CHECK_FORMATS.get(check.key, "{:.3g}").format(check.measured)
    if check.low is not None:
        shown += f" [{check.low:.2f}, {check.high:.2f}]"
    return Decision(check.verdict, shown)


def _chars_per_token(check: Any) -> Decision:
    cited = LLAMA3_ENGLISH_CHARS_PER_TOKEN
    shown = _check(check).measured + " characters per token"
    return Decision(check.verdict, f"{shown} (Meta: {cited.value} on its English data)")


def _grows(values: list[float]) -> str:
    """supported if every step grows, refuted if the last is not above the first, else partly;
    not decided with fewer than two values (nothing to compare)."""
    if len(values) < 2:
        return NOT_DECIDED
    if all(b > a for a, b in zip(values, values[1:], strict=False)):
        return SUPPORTED
    return PARTLY if values[-1] > values[0] else REFUTED


GROWS_RULE = (
    "supported if {what} grows at every step of the {steps} measured, partly true if it "
    "grows from the smallest to the largest but not at every step, refuted if the largest "
    "is not above the smallest"
)


def _kv_memory(m: dict[str, list[float]]) -> Decision:
    c, mib = m["contexts"], m["mib"]
    shown = f"{mib[0]:,.0f} MiB at {c[0]:,} tokens → {mib[-1]:,.0f} MiB at {c[-1]:,}"
    return Decision(_grows(mib), shown)


def _latency(m: dict[str, list[float]]) -> Decision:
    n, sec = m["lengths"], m["seconds"]
    return Decision(
        _grows(sec), f"{sec[0]:.2f} s at {n[0]:,} tokens → {sec[-1]:.2f} s at {n[-1]:,}"
    )


def _input_output(rows: list[dict[str, float]]) -> Decision:
    prompt_ms = [1000 * r["prompt_seconds_median"] / r["prompt_tokens"] for r in rows]
    output_ms = [1000 / r["generation_tokens_per_s_median"] for r in rows]
    less = [p < o for p, o in zip(prompt_ms, output_ms, strict=True)]
    verdict = SUPPORTED if all(less) else REFUTED if not any(less) else PARTLY
    lengths = f"{rows[0]['prompt_tokens']:,}–{rows[-1]['prompt_tokens']:,}"
    shown = (
        f"a prompt token {min(prompt_ms):.2f}–{max(prompt_ms):.2f} ms, a generated token "
        f"{min(output_ms):.1f}–{max(output_ms):.1f} ms ({lengths}-token prompts)"
    )
    return Decision(verdict, shown)


def _qwen_chinese(d: Any) -> Decision:
    verdict = SUPPORTED if d.low > 0 else REFUTED if d.high < 0 else NOT_DECIDED
    qwen, llama = d.premium["qwen"], d.premium["llama3"]
    shown = (
        f"Chinese premium over English: Qwen {qwen:.2f}, Llama 3 {llama:.2f}; difference "
        f"{d.difference:.3f} [{d.low:.3f}, {d.high:.3f}]"
    )
    return Decision(verdict, shown)


def _matched(column: str, what: str) -> Callable[[list[dict[str, Any]]], Decision]:
    def decide(pairs: list[dict[str, Any]]) -> Decision:
        fewer = sum(bool(p[column]) for p in pairs)
        verdict = SUPPORTED if fewer == len(pairs) else REFUTED if fewer == 0 else PARTLY
        return Decision(verdict, f"Qwen {what} in {fewer} of {len(pairs)} pairs")

    return decide


#: "drastically" read as at least an order of magnitude
SLM_FACTOR = 10.0


def _slm_compute(m: dict[str, Any]) -> Decision:
    factor = m["reference_parameters"] / m["parameters"]
    verdict = SUPPORTED if factor >= SLM_FACTOR else PARTLY if factor > 1 else REFUTED
    shown = (
        f"{m['parameters'] / 1e6:,.0f} M parameters against {m['reference']}'s "
        f"{m['reference_parameters'] / 1e9:.1f} B ({factor:.0f}× fewer); it generated "
        f"{m['tokens_per_s']:.0f} tokens/s on the machine of this build"
    )
    return Decision(verdict, shown)


def _slm_training(m: dict[str, Any]) -> Decision:
    bits, pair = m["bits"], m["pair"]
    behaviour = pair.verdict  # Korean good answers, McNemar (the behaviour the report meant)
    predicts = SUPPORTED if bits.high < 0 else REFUTED if bits.low > 0 else NOT_DECIDED
    if behaviour == predicts:
        verdict = behaviour
    elif SUPPORTED in (behaviour, predicts) and REFUTED not in (behaviour, predicts):
        verdict = PARTLY
    else:
        verdict = NOT_DECIDED
    good = pair.korean[-1]
    shown = (
        f"LoRA trained in {m['minutes']:.1f} min on {m['threads']} CPU threads of "
        f"{m['machine']}; good Korean answers {good.base:.0%} → {good.tuned:.0%} "
        f"(McNemar p {good.p_value:.2g}); Korean bits per character "
        f"{bits.change:+.3f} [{bits.low:+.3f}, {bits.high:+.3f}]"
    )
    return Decision(verdict, shown)


def _finetune_easy(m: dict[str, Any]) -> Decision:
    shift, over = m["shift"], m["over_control"]
    good = m["pair"].korean[-1]
    shown = (
        f"good Korean answers {good.base:.0%} → {good.tuned:.0%} (McNemar p "
        f"{good.p_value:.2g}); Korean preference shift {shift['shift']:+.3f} "
        f"[{shift['low']:+.3f}, {shift['high']:+.3f}] bits/char, "
        f"{over['shift']:+.3f} [{over['low']:+.3f}, {over['high']:+.3f}] over the English LoRA"
    )
    return Decision(easy_verdict(m["pair"], shift, over), shown)


def _observation(observation: Any) -> Decision:
    return Decision(observation.verdict, observation.measured)


def _finetune(pair: Any) -> Decision:
    good = pair.korean[-1]
    shown = (
        f"good Korean answers {good.base:.0%} → {good.tuned:.0%} on {good.prompts} prompts, "
        f"McNemar p {good.p_value:.2g}"
    )
    return Decision(pair.verdict, shown)


MATCHED_RULE = (
    "over the four size-matched pairs of published Llama and Qwen architectures: supported "
    "if Qwen's is smaller in every pair, refuted if in none, partly true otherwise"
)

RULES: dict[str, Rule] = {
    "probe_scripts": Rule(SCRIPTS_RULE, _observation),
    "probe_russian": Rule(RUSSIAN_RULE, _observation),
    "finetune_korean": Rule(
        "good answers in Korean (in Korean, not degenerate) of the base and the fine-tune on "
        "the same prompts: supported if the fine-tune's rate is higher and McNemar's exact "
        "test rejects equality at 5%, refuted if lower and rejected, else not decided",
        _finetune,
    ),
    "split_word": Rule(SPLIT_RULE, _check),
    "chars_per_token": Rule(CHARS_PER_TOKEN_RULE, _chars_per_token),
    "common_words": Rule(COMMON_WORDS_RULE, _check),
    "spaces": Rule(SEPARATION_RULE.format(what="spaces"), _check),
    "punctuation": Rule(SEPARATION_RULE.format(what="punctuation marks"), _check),
    "kv_memory": Rule(
        "llama.cpp's KV-cache allocation: "
        + GROWS_RULE.format(what="the cache", steps="window sizes"),
        _kv_memory,
    ),
    "latency": Rule(
        "median prompt-processing time: "
        + GROWS_RULE.format(what="the time", steps="prompt lengths"),
        _latency,
    ),
    "input_output": Rule(
        "time per token from the same runs: supported if a prompt (input) token takes less "
        "time than a generated (output) token at every prompt length measured, refuted if "
        "more at every length, partly true otherwise",
        _input_output,
    ),
    "qwen_chinese": Rule(
        "tokenizer side only: supported if Qwen's Chinese premium over English is lower than "
        "Llama 3's, with the paired 95% bootstrap interval of the difference above zero; "
        "refuted if below zero; not decided if it contains zero",
        _qwen_chinese,
    ),
    "qwen_layers": Rule(MATCHED_RULE, _matched("Qwen fewer layers", "has fewer layers")),
    "qwen_hidden": Rule(
        MATCHED_RULE, _matched("Qwen smaller hidden size", "has a smaller hidden size")
    ),
    "qwen_ffn": Rule(
        MATCHED_RULE, _matched("Qwen narrower feed-forward", "has a narrower feed-forward")
    ),
    "slm_compute": Rule(
        "compute per token grows with the parameter count (about 2 FLOPs per parameter, "
        f"kaplan2020); 'drastically' read as {SLM_FACTOR:.0f}×: supported if the SLM has at "
        f"least {SLM_FACTOR:.0f}× fewer parameters than Llama 3.1 8B, the size of the report's "
        "LLaMA 3 and Bllossom models, partly true if fewer, refuted otherwise",
        _slm_compute,
    ),
    "slm_training": Rule(
        "the book's Korean LoRA of its chat SLM, trained on CPU threads (its record names the "
        "machine), judged on the behaviour the report meant (good Korean answers, McNemar at "
        "5%) and on held-out Korean bits per character (FLORES-200 devtest, 95% interval): "
        "supported if both improve, partly true if one does and neither worsens, refuted if "
        "both worsen, not decided otherwise",
        _slm_training,
    ),
    "finetune_easy": Rule(EASY_RULE, _finetune_easy),
}

#: what a cited claim's row shows about the book's model, from a measurement
FACTS: dict[str, Callable[[Any], str]] = {
    "trained_window": lambda tokens: (
        f"trained window {tokens:,} tokens (from the model file)"
        if tokens
        else "trained window not reported (a server)"
    ),
}

#: the ledger's columns, in order
COLUMNS = (
    "#",
    "section",
    "claim",
    "verdict",
    BOOK_MODEL_COLUMN,
    "how",
    "definitional",
    "rule",
    "measured",
    "model",
    "evidence",
    "note",
)


def build_ledger(
    measurements: dict[str, Any], model: str = "", models: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """The ledger rows; a measured claim without its measurement is an error, not a guess.

    Every measured row carries its rule, the number it rests on, whether the rule could
    have failed ("definitional": "yes" if not), and the model (or tokenizer) measured:
    ``models[measure]``, else ``model``. For a claim about the report's model (the hosted
    LLaMA 3.2, Bllossom, Qwen), the verdict on the claim is "not checkable" and the measured
    verdict goes, with the model's name, to the :data:`BOOK_MODEL_COLUMN` column ("—" in
    the other rows)."""
    rows = []
    for number, claim in enumerate(CLAIMS, start=1):
        shows, rule, measured, measured_on, definitional = "—", "—", "—", "—", "—"
        key = claim.measure or claim.shows
        if key and key not in measurements:
            raise KeyError(f"no measurement {key!r} for claim {number}")
        if key:
            measured_on = (models or {}).get(key) or model or "the book's model"
        if claim.kind == "measured":
            decision = RULES[claim.measure].decide(measurements[claim.measure])
            verdict, rule = decision.verdict, RULES[claim.measure].text
            measured = decision.measured.removesuffix(f" on {measured_on}")  # named once
            definitional = "yes" if claim.definitional else "no"
            if claim.about_report_model:
                shows = f"{verdict} on {measured_on}"
                verdict = NOT_CHECKABLE
        else:
            verdict = claim.verdict
            if claim.shows:
                shows = f"{FACTS[claim.shows](measurements[claim.shows])} on {measured_on}"
        rows.append(
            {
                "#": str(number),
                "section": claim.section,
                "claim": claim.claim,
                "verdict": verdict,
                BOOK_MODEL_COLUMN: shows,
                "how": claim.kind,
                "definitional": definitional,
                "rule": rule,
                "measured": measured,
                "model": measured_on,
                "evidence": claim.evidence,
                "note": claim.note,
            }
        )
    return rows


def ledger_counts(rows: list[dict[str, str]]) -> dict[str, int]:
    """What the claims page says about the ledger, counted once: ``n_claims``, one
    ``n_<verdict>`` per verdict (spaces as underscores), ``n_measured`` (verdicts computed from
    a measurement that could have come out otherwise), ``n_measured_supported`` (those of them
    supported) and ``n_definitional`` (measured rows whose rule cannot fail: shown, but kept
    out of both measured counts); and ``shows_<verdict>``, the rows whose column "this
    book's model shows" gives that verdict (a claim about a model the book cannot run is
    *not checkable*, while the book's own model may show it not decided)."""
    counts = {f"n_{v.replace(' ', '_')}": sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    shows = {
        f"shows_{v.replace(' ', '_')}": sum(
            r[BOOK_MODEL_COLUMN].startswith(f"{v} on ") for r in rows
        )
        for v in VERDICTS
    }
    evidence = [r for r in rows if r["how"] == "measured" and r["definitional"] != "yes"]
    return {
        "n_claims": len(rows),
        **counts,
        **shows,
        "n_shows": sum(shows.values()),
        "n_measured": len(evidence),
        "n_measured_supported": sum(r["verdict"] == SUPPORTED for r in evidence),
        "n_definitional": sum(r["definitional"] == "yes" for r in rows),
    }
