"""The glossary: every term a page links is defined, and the terms a reader meets without a
gloss (statistics, units, file formats) are there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"


def defined_terms() -> set[str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    body = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    return {line.strip().lower() for line in body.splitlines() if line and not line[0].isspace()}


def linked_terms() -> dict[str, set[str]]:
    pages = [*ROOT.glob("notebooks/*.md"), *ROOT.glob("book/*.md")]
    out: dict[str, set[str]] = {}
    for page in pages:
        for label, target in re.findall(r"\{term\}`([^`<]+?)(?:\s*<([^>]+)>)?`", page.read_text()):
            out.setdefault((target or label).strip().lower(), set()).add(page.stem)
    return out


def test_every_linked_term_is_defined():
    missing = set(linked_terms()) - defined_terms()
    assert not missing, f"linked but not in the glossary: {sorted(missing)}"


def test_the_terms_readers_met_without_a_gloss_are_defined():
    needed = {"wilson interval", "mcnemar test", "holm correction", "bootstrap interval",
              "bos token", "nats and bits", "pp512 and tg128", "q4_k_m and q4_1", "lora",
              "cohen's kappa", "sign test", "sliding window attention"}  # fmt: skip
    assert needed <= defined_terms()


def test_the_chapters_link_their_statistics_and_the_glossary_is_a_page():
    linked = linked_terms()
    assert {"multilingual", "finetune", "context"} <= linked["wilson interval"]
    assert "finetune" in linked["mcnemar test"] and "context" in linked["sign test"]
    assert "file: book/glossary" in (ROOT / "_toc.yml").read_text()
