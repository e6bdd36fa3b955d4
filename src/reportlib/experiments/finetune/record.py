"""The training records the book reads: loaded beside their adapters, verified against the
adapter, base model and training items they name, and their facts as the chapter shows
them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlib.backends.specs import ModelFile, file_sha256
from reportlib.core.errors import ReportlibError
from reportlib.experiments.finetune.data import Pair, pairs_sha256

RECORD_VERSION = 2


def load_record(adapter_path: str | Path) -> dict[str, Any]:
    """The training record next to an adapter (``<adapter>.json``)."""
    path = Path(adapter_path).with_suffix(".json")
    try:
        record = dict(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        raise ReportlibError(f"no training record {str(path)!r} next to the adapter") from None
    except (OSError, ValueError) as exc:
        raise ReportlibError(f"cannot read the training record {str(path)!r}: {exc}") from None
    if record.get("record_version") != RECORD_VERSION:
        raise ReportlibError(
            f"the training record {str(path)!r} is of version "
            f"{record.get('record_version')!r}, not {RECORD_VERSION}; retrain with "
            "`make finetune`"
        )
    return record


def verify_record(
    adapter_path: str | Path,
    base: ModelFile,
    pairs: Sequence[Pair],
    held_out: Sequence[Pair],
) -> dict[str, Any]:
    """Check that the adapter, the base model and the training and held-out items are the
    ones its record names (sha256 of each, in the record's language); return the record, or
    raise one error listing every mismatch."""
    adapter_path = Path(adapter_path)
    record = load_record(adapter_path)
    if not adapter_path.is_file():
        raise ReportlibError(f"adapter file not found: {str(adapter_path)!r}")
    language = record.get("language", "")
    checks = {
        "adapter": (record.get("adapter_sha256"), file_sha256(adapter_path)),
        "base model": (record.get("base_sha256"), base.sha256),
        "training items": (record.get("train_sha256"), pairs_sha256(pairs, language)),
        "held-out items": (record.get("held_out_sha256"), pairs_sha256(held_out, language)),
    }
    wrong = [what for what, (recorded, actual) in checks.items() if recorded != actual]
    if wrong:
        raise ReportlibError(
            f"the adapter {str(adapter_path)!r} does not match its training record: "
            f"{', '.join(wrong)} differ; retrain with `make finetune`"
        )
    return record


def record_facts(record: dict[str, Any]) -> dict[str, str]:
    """A training record's facts as the chapter shows them (glue name -> text)."""
    settings = record["settings"]
    facts = {
        key: f"{record[key]:,}"
        for key in (
            "items",
            "held_out_items",
            "steps",
            "tokens_seen",
            "loss_tokens_seen",
            "trainable_parameters",
            "train_characters",
            "peak_rss_mb",
        )
    }
    facts.update(
        {key: str(settings[key]) for key in ("rank", "alpha", "learning_rate", "block_tokens")}
    )
    facts.update({key: str(settings[key]) for key in ("seed", "threads", "eval_every")})
    facts["modules"] = ", ".join(settings["target_modules"])
    facts["minutes"] = f"{record['seconds'] / 60:.1f}"
    facts["tokens_per_s"] = f"{record['tokens_per_second']:.0f}"
    facts["adapter_mb"] = f"{record['adapter_bytes'] / 1e6:.1f}"
    facts["machine"] = str(record["machine"])
    facts["hangul_text"] = f"{record['hangul_share_text']:.1%}"
    facts["hangul_replies"] = f"{record['hangul_share_replies']:.1%}"
    held = record["held_out_loss"]
    facts["held_before"] = f"{held[0][1]:.3f}"
    facts["held_last"] = f"{held[-1][1]:.3f}"
    facts["libraries"] = ", ".join(f"{k} {v}" for k, v in record["libraries"].items())
    return facts
