"""Published facts the book cites, as data: release dates, architectures, licenses.

Every entry names its source (a key of ``book/references.bib`` or a URL). These
are citations, not measurements: the book never presents them as its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Release:
    """One release of the LLaMA family."""

    name: str
    date: str  #: ISO date of the public announcement
    sizes: str
    note: str
    source: str  #: URL of the announcement


RELEASES: tuple[Release, ...] = (
    Release(
        "LLaMA",
        "2023-02-24",
        "7B, 13B, 33B, 65B",
        "research licence; 1.0–1.4T training tokens",
        "https://ai.meta.com/blog/large-language-model-llama-meta-ai/",
    ),
    Release(
        "Llama 2",
        "2023-07-18",
        "7B, 13B, 70B",
        "community licence allowing commercial use; 2T tokens",
        "https://about.fb.com/news/2023/07/llama-2/",
    ),
    Release(
        "Llama 3",
        "2024-04-18",
        "8B, 70B",
        "8k context; over 15T tokens; 128k-token vocabulary",
        "https://ai.meta.com/blog/meta-llama-3/",
    ),
    Release(
        "Llama 3.1",
        "2024-07-23",
        "8B, 70B, 405B",
        "128k context; 8 supported languages; tool use",
        "https://ai.meta.com/blog/meta-llama-3-1/",
    ),
    Release(
        "Llama 3.2",
        "2024-09-25",
        "1B, 3B (text); 11B, 90B (vision)",
        "small and multimodal models",
        "https://ai.meta.com/blog/llama-3-2-connect-2024-vision-edge-mobile-devices/",
    ),
    # the two after the report: from Meta's model cards, Meta's own statements
    Release(
        "Llama 3.3",
        "2024-12-06",
        "70B",
        "text only; 128k context; the same 8 supported languages; over 15T tokens "
        "(Meta's model card)",
        "https://github.com/meta-llama/llama-models/blob/main/models/llama3_3/MODEL_CARD.md",
    ),
    Release(
        "Llama 4",
        "2025-04-05",
        "Scout 109B, Maverick 400B",
        "mixture of experts, 17B parameters active per token; text and image input; "
        "10M (Scout) and 1M (Maverick) context; 12 supported languages; data includes "
        "public Instagram and Facebook posts (Meta's model card)",
        "https://github.com/meta-llama/llama-models/blob/main/models/llama4/MODEL_CARD.md",
    ),
)


@dataclass(frozen=True)
class Architecture:
    """Published architecture figures of a model (from its paper or released config)."""

    model: str
    family: str
    parameters_b: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    vocabulary: int
    context: int
    ffn: int  #: width of the feed-forward (MLP) layer, from the released config.json
    source: str


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture(
        "Llama 3.2 1B", "Llama", 1.2, 16, 2048, 32, 8, 128256, 131072, 8192, "llama32card"
    ),
    Architecture(
        "Llama 3.2 3B", "Llama", 3.2, 28, 3072, 24, 8, 128256, 131072, 8192, "llama32card"
    ),
    Architecture(
        "Llama 3.1 8B", "Llama", 8.0, 32, 4096, 32, 8, 128256, 131072, 14336, "llama3herd2024"
    ),
    Architecture(
        "Llama 3.1 70B", "Llama", 70.6, 80, 8192, 64, 8, 128256, 131072, 28672, "llama3herd2024"
    ),
    Architecture(
        "Llama 3.1 405B",
        "Llama",
        405.0,
        126,
        16384,
        128,
        8,
        128256,
        131072,
        53248,
        "llama3herd2024",
    ),
    Architecture(
        "Qwen2.5 1.5B", "Qwen", 1.5, 28, 1536, 12, 2, 151936, 32768, 8960, "qwen25report2024"
    ),
    Architecture(
        "Qwen2.5 3B", "Qwen", 3.1, 36, 2048, 16, 2, 151936, 32768, 11008, "qwen25report2024"
    ),
    Architecture(
        "Qwen2.5 7B", "Qwen", 7.6, 28, 3584, 28, 4, 152064, 131072, 18944, "qwen25report2024"
    ),
    Architecture(
        "Qwen2.5 72B", "Qwen", 72.7, 80, 8192, 64, 8, 152064, 131072, 29568, "qwen25report2024"
    ),
)

#: size-matched pairs (Llama, Qwen) for the report's "fewer dimensions and layers" claim
MATCHED_PAIRS = (
    ("Llama 3.2 1B", "Qwen2.5 1.5B"),
    ("Llama 3.2 3B", "Qwen2.5 3B"),
    ("Llama 3.1 8B", "Qwen2.5 7B"),
    ("Llama 3.1 70B", "Qwen2.5 72B"),
)


def architecture(name: str) -> Architecture:
    """Look up a published architecture by model name."""
    for arch in ARCHITECTURES:
        if arch.model == name:
            return arch
    raise KeyError(name)


#: the architectures' sources as a reader names them (the page cites them in its prose)
SOURCE_NAMES = {
    "llama3herd2024": "Llama 3 paper",
    "llama32card": "Llama 3.2 model card",
    "qwen25report2024": "Qwen2.5 report",
}


def architecture_table() -> Any:
    """:data:`ARCHITECTURES` as a table, one row per model, each source by its name (the
    family column is left out: the model's name says it)."""
    import pandas as pd

    rows = [{**a.__dict__, "source": SOURCE_NAMES.get(a.source, a.source)} for a in ARCHITECTURES]
    return pd.DataFrame(rows).drop(columns=["family"]).set_index("model")


#: where the feed-forward widths come from (the papers do not all list them)
FFN_SOURCE = "the models' released config.json files (intermediate_size), Hugging Face"


def compare_matched_pairs() -> list[dict[str, object]]:
    """For each size-matched pair: does Qwen have fewer layers, a smaller hidden size, a
    narrower feed-forward layer?"""
    rows = []
    for llama_name, qwen_name in MATCHED_PAIRS:
        llama, qwen = architecture(llama_name), architecture(qwen_name)
        rows.append(
            {
                "Llama": llama_name,
                "Qwen": qwen_name,
                "layers (Llama / Qwen)": f"{llama.layers} / {qwen.layers}",
                "hidden size (Llama / Qwen)": f"{llama.hidden:,} / {qwen.hidden:,}",
                "feed-forward width (Llama / Qwen)": f"{llama.ffn:,} / {qwen.ffn:,}",
                "Qwen fewer layers": qwen.layers < llama.layers,
                "Qwen smaller hidden size": qwen.hidden < llama.hidden,
                "Qwen narrower feed-forward": qwen.ffn < llama.ffn,
            }
        )
    return rows


@dataclass(frozen=True)
class CitedFigure:
    """A number a primary source states, with the source and its own words."""

    value: float
    unit: str
    what: str
    source: str  #: a key of ``book/references.bib`` or a URL
    quote: str  #: the source's sentence, verbatim; or why it could not be read offline
    low: float | None = None  #: the lower end, where the source gives a range


LLAMA3_ENGLISH_CHARS_PER_TOKEN = CitedFigure(
    3.94,
    "characters per token",
    "Llama 3's tokenizer on a sample of Meta's English data",
    "llama3herd2024",
    "Compared to the Llama 2 tokenizer, our new tokenizer improves compression rates on a "
    "sample of English data from 3.17 to 3.94 characters per token.",
)
GPT3_TRAINING_ENERGY_MWH = CitedFigure(
    1287.0,
    "MWh",
    "energy to train GPT-3",
    "patterson2021",
    "(not read offline: the paper's table of training runs, as widely quoted)",
)
US_HOME_KWH_PER_YEAR = CitedFigure(
    10715.0,
    "kWh per year",
    "average electricity of a US residential customer in 2020",
    "https://www.eia.gov/tools/faqs/faq.php?id=97",
    "In 2020, the average annual electricity consumption for a U.S. residential utility "
    "customer was 10,715 kilowatthours (kWh)",
)
AI_SERVERS_TWH_2027 = CitedFigure(
    134.0,
    "TWh per year",
    "upper estimate of the electricity of NVIDIA's AI servers in 2027 (lower: 85.4)",
    "devries2023",
    "Annually, this quantity of servers could consume 85.4–134.0 TWh of electricity.",
    low=85.4,
)
IMAGE_GENERATION_PHONE_CHARGES = CitedFigure(
    0.5,
    "smartphone charges per image",
    "the least efficient image model of the study (0.022 kWh per charge)",
    "luccioni2024",
    "the least efficient image generation model uses as much energy as 522 smartphone "
    "charges (11.49 kWh), or around half a charge per image generation.",
)


def homes_per_year(energy: CitedFigure = GPT3_TRAINING_ENERGY_MWH) -> float:
    """How many average US homes' yearly electricity a training run used."""
    return energy.value * 1000 / US_HOME_KWH_PER_YEAR.value


def citation_labels(bib_path: str | Path) -> dict[str, str]:
    """The number each entry of the bibliography has on the References page (``[12]``), by
    key: pybtex's ``plain`` style, as the book's ``bibtex_default_style`` numbers them."""
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin

    style = find_plugin("pybtex.style.formatting", "plain")()
    entries = style.format_bibliography(parse_file(str(bib_path)))
    return {entry.key: str(entry.label) for entry in entries}
