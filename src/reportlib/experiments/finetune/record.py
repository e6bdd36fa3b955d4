"""The training record the book reads: loaded beside its adapter, verified against the adapter,
base model and training text it names, and its facts as the chapter shows them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reportlib.backends.specs import ModelFile, file_sha256
from reportlib.core.errors import ReportlibError
from reportlib.experiments.finetune.data import TrainingText

RECORD_VERSION = 1


def load_record(adapter_path: str | Path) -> dict[str, Any]:
    """The training record next to an adapter (``<adapter>.json``)."""
    path = Path(adapter_path).with_suffix(".json")
    try:
        return dict(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        raise ReportlibError(f"no training record {str(path)!r} next to the adapter") from None
    except (OSError, ValueError) as exc:
        raise ReportlibError(f"cannot read the training record {str(path)!r}: {exc}") from None


def verify_record(adapter_path: str | Path, base: ModelFile, text: TrainingText) -> dict[str, Any]:
    """Check that the adapter, the base model and the training text are the ones its record
    names (sha256 of each); return the record, or raise one error listing every mismatch."""
    adapter_path = Path(adapter_path)
    record = load_record(adapter_path)
    if not adapter_path.is_file():
        raise ReportlibError(f"adapter file not found: {str(adapter_path)!r}")
    checks = {
        "adapter": (record.get("adapter_sha256"), file_sha256(adapter_path)),
        "base model": (record.get("base_sha256"), base.sha256),
        "training text": (record.get("train_sha256"), text.train_sha256),
        "held-out text": (record.get("held_out_sha256"), text.held_out_sha256),
    }
    wrong = [what for what, (recorded, actual) in checks.items() if recorded != actual]
    if wrong:
        raise ReportlibError(
            f"the adapter {str(adapter_path)!r} does not match its training record: "
            f"{', '.join(wrong)} differ; retrain with `make finetune`"
        )
    return record


def record_facts(record: dict[str, Any]) -> dict[str, str]:
    """The training record's facts as the chapter shows them (glue name -> text)."""
    settings = record["settings"]
    facts = {
        key: f"{record[key]:,}"
        for key in (
            "tokens_seen",
            "trainable_parameters",
            "train_characters",
            "held_out_characters",
            "dropped_first_person_lines",
            "peak_rss_mb",
        )
    }
    facts["steps"] = f"{settings['steps']:,}"
    facts.update({key: str(settings[key]) for key in ("rank", "alpha", "learning_rate")})
    facts.update(
        {key: str(settings[key]) for key in ("context_length", "seed", "threads", "eval_blocks")}
    )
    facts["modules"] = ", ".join(settings["target_modules"])
    facts["minutes"] = f"{record['seconds'] / 60:.1f}"
    facts["tokens_per_s"] = f"{record['tokens_per_second']:.0f}"
    facts["adapter_mb"] = f"{record['adapter_bytes'] / 1e6:.1f}"
    facts["machine"] = str(record["machine"])
    held = dict(record["held_out_loss"])
    facts["held_before"] = f"{held[0]:.3f}"
    facts["held_selected"] = f"{held[record['selected_step']]:.3f}"
    facts["held_last"] = f"{record['held_out_loss'][-1][1]:.3f}"
    facts["selected_step"] = str(record["selected_step"])
    last = record["held_out_loss"][-1][1]
    facts["after_selected"] = (
        "rises again after it: past that step the adapter fits its own training text "
        "rather than Korean in general (overfitting), which is why the kept adapter is not "
        "the last one"
        if last > held[record["selected_step"]]
        else "does not rise again after it"
    )
    facts["eval_every"] = str(settings["eval_every"])
    facts["libraries"] = ", ".join(f"{k} {v}" for k, v in record["libraries"].items())
    return facts
