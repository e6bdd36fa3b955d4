"""The ``reportlib`` command line: inspect models, count tokens, rerun chapters."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import numbers
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from reportlib.backends.cached_model import default_cache
from reportlib.backends.interface import card_display_name
from reportlib.backends.loading import archived_model_loader, model_card_for
from reportlib.backends.specs import (
    DEFAULT_SPEC,
    EMBEDDED_CHAT_SPEC,
    EMBEDDED_SPEC,
    MODEL_ENV,
    resolve_model,
    resolve_spec,
    shipped_adapter_path,
    split_adapter_spec,
)
from reportlib.bench.batched import run_batched_benchmark
from reportlib.bench.book import run_book_benchmark
from reportlib.bench.harness import run_benchmark
from reportlib.bench.http import compare_http_backend
from reportlib.bench.kernels import kernel_bench_binaries, run_kernel_comparison
from reportlib.core import answer_archive as archive
from reportlib.core.answer_archive import ARCHIVE_PATH
from reportlib.core.cache import atomic_write_text
from reportlib.core.errors import ReportlibError
from reportlib.core.machine import cpu_model
from reportlib.core.progress import progress_bar
from reportlib.experiments.finetune.data import load_pairs, split_pairs
from reportlib.experiments.finetune.train import (
    DOSES,
    FinetuneSettings,
    TrainingPlan,
    finetune,
    plan_blocks,
    require_extra,
    shipped_plans,
)
from reportlib.experiments.tokens import count_joined_tokens, count_language_tokens
from reportlib.site.book_build import build_book
from reportlib.site.chapters import (
    chapter_names,
    notebook_parameters,
    notebook_path,
    parse_parameter_value,
    project_root,
    run_chapter,
)
from reportlib.text.corpus import load_corpus
from reportlib.text.tokenization import TOKENIZER_NAMES, get_tokenizer

#: the cache access log the answer archive's export reads (the archive: ARCHIVE_PATH)
CACHE_ACCESS_LOG = "_build/cache-access.log"

EPILOG = """\
examples:
  reportlib models                       the embedded default model's card
  reportlib models ~/models/llama-3.2-3b.Q4_K_M.gguf
  reportlib tokens --tokenizer qwen --corpus bundled --langs eng_Latn,kor_Hang
  reportlib tokens --tokenizer llama3 --format json          # FLORES-200, shipped
  reportlib tokens --tokenizer qwen --joined       # whole texts, as Petrov et al. count
  reportlib run tokenization -p model ~/models/qwen2.5-3b.gguf

A model spec is 'default' (Gemma 3 270M, embedded) or a path to a GGUF file;
REPORTLIB_MODEL sets the default spec.
"""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reportlib",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="list and inspect models (GGUF metadata)")
    models.add_argument(
        "specs",
        nargs="*",
        default=None,
        metavar="SPEC",
        help="model specs: 'embedded', 'embedded-chat', 'default', paths to GGUF files "
        "(default: both embedded models, and $REPORTLIB_MODEL when it is set)",
    )
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")

    tokens = sub.add_parser("tokens", help="characters, tokens and premiums per language")
    tokens.add_argument("--tokenizer", required=True, choices=TOKENIZER_NAMES)
    tokens.add_argument("--model", default=None, help="model spec for --tokenizer model")
    tokens.add_argument(
        "--corpus",
        default="flores200",
        help="'flores200' (shipped), 'bundled' (the book's 8 sentences) or a FLORES-200 directory",
    )
    tokens.add_argument("--langs", default="all", help="comma-separated codes (default: all)")
    tokens.add_argument("--format", choices=("csv", "json"), default="csv")
    tokens.add_argument(
        "--joined",
        action="store_true",
        help="encode each language's whole text at once, its sentences joined as Petrov et al. "
        "(2023) join them, instead of each sentence alone (no intervals: nothing to resample)",
    )

    bench = sub.add_parser("bench", help="the harness against raw llama.cpp (pp and tg tokens/s)")
    bench.add_argument("--model", default=None, help="model spec (default: default)")
    bench.add_argument("--threads", type=int, default=2)
    bench.add_argument("--batch", type=int, default=512)
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument(
        "--output",
        default=None,
        help="where the JSON goes (default: results/bench.json, or "
        "book/data/book-bench.json with --book)",
    )
    bench.add_argument(
        "--server",
        default=None,
        metavar="SPEC",
        help="compare in-process with an OpenAI-compatible server "
        "(openai+http://HOST:PORT/v1#MODEL) on the probe's prompts",
    )
    bench.add_argument(
        "--concurrency",
        default="1,2",
        help="with --server: request concurrencies to try (default: 1,2)",
    )
    bench.add_argument(
        "--kernel-record",
        default=None,
        metavar="PATH",
        help="also write the kernel comparison (portable, native and runtime-dispatch builds "
        "of llama-bench, from `make kernel-benches`) to PATH, e.g. book/data/kernel-bench.json",
    )
    bench.add_argument(
        "--batched-record",
        default=None,
        metavar="PATH",
        help="also write the batched comparison (the harness vs llama-batched-bench by "
        "width) to PATH, e.g. book/data/batched-bench.json",
    )
    bench.add_argument(
        "--book",
        action="store_true",
        help="whole-book costs instead: cold build of a copy of the book, "
        "no-change rebuild, a changed-parameter rerun, growth curves",
    )

    tune = sub.add_parser(
        "finetune",
        help="train LoRA adapters of the chat model (needs `pip install -e .[finetune]`): by "
        "default the ones the book ships (the Korean doses and the English control); each "
        "writes its adapter (.gguf) and training record (.json)",
    )
    tune.add_argument("--base", default="embedded-chat", help="the base model spec (a chat GGUF)")
    tune.add_argument(
        "--only",
        action="append",
        default=None,
        metavar="NAME",
        help="train only this shipped adapter (repeatable), e.g. korean-20",
    )
    tune.add_argument(
        "--data",
        default=None,
        help="train one adapter on your own instruction pairs instead: a JSON-lines file of "
        "{id, topic, ko_request, ko_reply, en_request, en_reply} (needs --output)",
    )
    tune.add_argument("--language", default="ko", choices=("ko", "en"), help="with --data")
    tune.add_argument("--output", default=None, help="with --data: the adapter's .gguf path")
    tune.add_argument(
        "--overwrite",
        action="store_true",
        help="replace adapters and records that exist (`make finetune` passes it)",
    )
    defaults = FinetuneSettings()
    for name in ("rank", "block_tokens", "seed", "threads", "eval_every"):
        flag = f"--{name.replace('_', '-')}"
        tune.add_argument(flag, type=int, default=getattr(defaults, name))
    for name in ("alpha", "learning_rate"):
        flag = f"--{name.replace('_', '-')}"
        tune.add_argument(flag, type=float, default=getattr(defaults, name))
    tune.add_argument(
        "--target-modules",
        default=",".join(defaults.target_modules),
        help="comma-separated projections to adapt",
    )

    run = sub.add_parser("run", help="rerun one chapter with papermill into runs/")
    try:
        known = f"one of: {', '.join(chapter_names())}"
    except ReportlibError:  # installed outside the project: no table of contents to read
        known = "a chapter of the book (run from the project)"
    run.add_argument("chapter", help=known)
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a chapter parameter (JSON or text)",
    )
    run.add_argument("--output-dir", default=None, help="where runs go (default: runs/)")
    answers = sub.add_parser(
        "answers",
        help="the archive of the book's model answers: restore, export, verify",
        description=(
            "restore: copy the archived answers into the result cache (make book and make "
            "test do); export: archive the answers the chapters asked for (make notebooks "
            "does); verify: recompute a sample outside the cache and compare"
        ),
    )
    answers.add_argument("action", choices=("restore", "export", "verify"))
    answers.add_argument("--archive", default=None, help=f"the archive (default: {ARCHIVE_PATH})")
    answers.add_argument(
        "--log", default=None, help=f"export: the cache access log (default: {CACHE_ACCESS_LOG})"
    )
    answers.add_argument(
        "--per-setting",
        type=int,
        default=2,
        help="verify: single answers recomputed per model and setting (default 2)",
    )
    book = sub.add_parser(
        "book",
        help="build the book (jupyter-book -n -W --keep-going) with progress on the terminal",
    )
    book.add_argument(
        "--always",
        action="store_true",
        help="build even when no file changed since the last successful build",
    )
    book.add_argument(
        "sphinx_args", nargs=argparse.REMAINDER, help="more arguments for jupyter-book build"
    )
    return parser


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON can hold it: a non-finite float becomes null, bytes text, an
    array summary (or any dataclass) a dict, a path or any other object its text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    return str(value)


def _cmd_models(args: argparse.Namespace) -> int:
    if not args.specs:
        configured = [DEFAULT_SPEC] if os.environ.get(MODEL_ENV, "").strip() else []
        args.specs = [*configured, EMBEDDED_SPEC, EMBEDDED_CHAT_SPEC]
    cards = [model_card_for(spec) for spec in args.specs]  # GGUF metadata, or what a server says
    if args.json:  # strict JSON: never NaN or Infinity, whatever the GGUF metadata holds
        print(json.dumps(json_safe(cards), indent=2, ensure_ascii=False, allow_nan=False))
        return 0
    for spec, card in zip(args.specs, cards, strict=True):
        print(f"# {spec}: {card_display_name(card)}")
        width = max(map(len, card))
        for key, value in card.items():
            print(f"  {key:<{width}}  {value}")
    return 0


#: the columns of ``reportlib tokens``, sentence by sentence and ``--joined``
TOKENS_FIELDS = (
    "tokenizer",
    "code",
    "sentences",
    "characters",
    "tokens",
    "chars_per_token",
    "chars_per_token_low",
    "chars_per_token_high",
    "premium",
    "premium_low",
    "premium_high",
)
JOINED_TOKENS_FIELDS = tuple(f for f in TOKENS_FIELDS if not f.endswith(("_low", "_high")))


def _cmd_tokens(args: argparse.Namespace) -> int:
    corpus = load_corpus(args.corpus, args.langs)
    tokenizer = get_tokenizer(args.tokenizer, args.model)
    if args.joined:
        rows: list[Any] = count_joined_tokens(tokenizer, corpus)
        fields = JOINED_TOKENS_FIELDS
    else:
        rows, fields = count_language_tokens(tokenizer, corpus), TOKENS_FIELDS
    records = [{k: asdict(r)[k] for k in fields} for r in rows]
    if args.format == "json":
        print(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        print(",".join(fields))
        for rec in records:
            print(",".join(str(rec[k]) for k in fields))
    return 0


def checked_output(path: Path, flag: str = "--output") -> Path:
    """``path`` if a result can be written there, checked before minutes of work: not a
    folder, not inside a file, in a folder that exists (or is created now) and is writable."""
    try:
        if path.is_dir():
            raise ReportlibError(
                f"{flag} {str(path)!r} is a folder; give a file name, "
                f"such as {str(path / 'bench.json')!r}"
            )
        if path.exists() and not path.is_file():
            raise ReportlibError(f"{flag} {str(path)!r} is not a regular file")
        blocker = next(p for p in (path.parent, *path.parents) if p.exists())
        if not blocker.is_dir():
            raise ReportlibError(
                f"{flag} {str(path)!r} cannot be written: {str(blocker)!r} is a file, not a folder"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ReportlibError(f"{flag} {str(path)!r} cannot be written: {exc.strerror}") from None
    return path


def _write_result(path: Path, text: str) -> None:
    """Write a finished result; if that fails now (a full disk), print it rather than lose it."""
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        print(text, end="")
        raise ReportlibError(
            f"cannot write {str(path)!r}: {exc.strerror}; the result is printed above"
        ) from None


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.book:
        return _cmd_bench_book(args)
    if args.server:
        return _cmd_bench_server(args)
    for name in ("threads", "batch", "repeats"):
        if getattr(args, name) <= 0:
            raise ReportlibError(f"--{name} must be positive, not {getattr(args, name)}")
    output = checked_output(Path(args.output or "results/bench.json"))
    records = {  # checked before the run: a bad path fails at once, not after minutes
        name: checked_output(Path(path), flag)
        for name, flag, path in (
            ("batched", "--batched-record", args.batched_record),
            ("kernels", "--kernel-record", args.kernel_record),
        )
        if path
    }
    if split_adapter_spec(resolve_spec(args.model))[1] is not None:
        raise ReportlibError(
            "the benchmark compares the harness with llama.cpp's own tools, which run without "
            f"a LoRA adapter; give the base model, not {args.model!r}"
        )
    model = resolve_model(args.model)
    result = run_benchmark(model, n_threads=args.threads, n_batch=args.batch, repeats=args.repeats)
    result["batched"] = run_batched_benchmark(model, n_threads=args.threads)
    if len(kernel_bench_binaries()) > 1:
        result["kernels"] = run_kernel_comparison(
            model,
            n_threads=args.threads,
            n_batch=args.batch,
            repeats=args.repeats,
        )
    _write_result(output, json.dumps(result, indent=2) + "\n")
    for name, record in records.items():
        if result.get(name):
            _write_result(record, json.dumps(result[name], indent=2) + "\n")
            print(f"written: {record}")
    for name in ("pp", "tg"):
        raw, ours = result["raw"][name]["median"], result["harness"][name]["median"]
        print(
            f"{name}: raw {raw:8.1f} tok/s   harness {ours:8.1f} tok/s   "
            f"ratio {result['ratio'][name]:.3f}"
        )
    if result["batched"] is None:
        print("batched comparison: not measured (llama-batched-bench is not built: make bench)")
    for row in (result["batched"] or {}).get("rows", []):
        print(
            f"batched width {row['width']:2d}: llama-batched-bench "
            f"{row['llama_batched_bench_tokens_per_s']:7.1f} tok/s   harness / tool: random "
            f"{row['ratio_random']:.3f}, greedy {row['ratio_greedy']:.3f}, greedy with stops "
            f"{row['ratio_greedy_stops']:.3f} ({row['stopped_early']} stopped early)"
        )
    kernels = result.get("kernels") or {}
    for name, speed in kernels.get("speedup", {}).items():
        build = kernels["builds"][name]
        print(
            f"kernels {name:12s} pp {build['pp']['median']:7.1f} tok/s ({speed['pp']:.2f}x)   "
            f"tg {build['tg']['median']:6.1f} tok/s ({speed['tg']:.2f}x)   "
            f"cpu backend: {build['cpu_backend']}"
        )
    print(f"written: {output}")
    return 0


def _cmd_bench_server(args: argparse.Namespace) -> int:
    try:
        concurrencies = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        raise ReportlibError(
            f"--concurrency takes numbers like 1,2,4, not {args.concurrency!r}"
        ) from None
    if any(c < 1 for c in concurrencies):
        raise ReportlibError(f"--concurrency values must be at least 1, not {args.concurrency!r}")
    output = checked_output(Path(args.output or "results/bench-http.json"))
    result = compare_http_backend(
        args.server, resolve_model(args.model), concurrencies, n_threads=args.threads
    )
    _write_result(output, json.dumps(result, indent=2) + "\n")
    for row in result["rows"]:
        print(
            f"{row['backend']:<28} concurrency {row['concurrency']}: "
            f"{row['answers_per_s']:.2f} answers/s, {row['generated_tokens_per_s']:.1f} tok/s"
        )
    print(f"written: {output}")
    return 0


def _cmd_bench_book(args: argparse.Namespace) -> int:
    root = project_root()
    default = root / "book" / "data" / "book-bench.json"
    output = checked_output(Path(args.output) if args.output else default)
    result = run_book_benchmark(root, log=lambda line: print(line, file=sys.stderr, flush=True))
    _write_result(output, json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(
        f"cold build {result['cold_build_seconds']:.0f} s, no-change rebuild "
        f"{result['rebuild_seconds']:.1f} s; written: {output}"
    )
    return 0


def finetune_output(path: Path, overwrite: bool) -> Path:
    """Where ``finetune`` writes the adapter (``NAME.gguf``) and its record (``NAME.json``),
    checked before training: a .gguf name, writable, and replacing neither file that exists
    unless ``overwrite``."""
    if path.suffix != ".gguf":
        raise ReportlibError(f"--output must be a .gguf file name, not {str(path)!r}")
    existing = [p for p in (path, path.with_suffix(".json")) if p.exists()]
    if existing and not overwrite:
        names = " and ".join(repr(str(p)) for p in existing)
        which = "them" if len(existing) > 1 else "it"
        raise ReportlibError(
            f"--output would replace {names}, which already exist"
            f"{'' if len(existing) > 1 else 's'}; give --overwrite to replace {which}, or "
            "another --output"
        )
    return checked_output(path)


def _finetune_plans(args: argparse.Namespace) -> list[tuple[TrainingPlan, Path]]:
    """The adapters to train and where each goes, checked before any training starts."""
    if args.data is not None:
        if args.only:
            raise ReportlibError("--only names shipped adapters; it does not go with --data")
        if not args.output:
            raise ReportlibError("--data needs --output, the .gguf path of the new adapter")
        pairs = load_pairs(args.data)
        pool, held_out = split_pairs(pairs)
        output = Path(args.output).expanduser()
        plan = TrainingPlan(
            output.stem, f"LoRA {output.stem}", args.language, tuple(pool), tuple(held_out)
        )
        return [(plan, output)]
    if args.output:
        raise ReportlibError("--output goes with --data; shipped adapters go to their folder")
    plans = shipped_plans()
    names = [p.name for p in plans]
    unknown = [n for n in args.only or [] if n not in names]
    if unknown:
        raise ReportlibError(f"no shipped adapter {unknown[0]!r}; they are {', '.join(names)}")
    chosen = [p for p in plans if not args.only or p.name in args.only]
    return [(p, shipped_adapter_path(p.name)) for p in chosen]


def _cmd_finetune(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    settings = FinetuneSettings(
        rank=args.rank,
        alpha=args.alpha,
        target_modules=tuple(m.strip() for m in args.target_modules.split(",") if m.strip()),
        block_tokens=args.block_tokens,
        learning_rate=args.learning_rate,
        seed=args.seed,
        threads=args.threads,
        eval_every=args.eval_every,
    ).validate()
    plans = _finetune_plans(args)
    for _, output in plans:
        finetune_output(output, args.overwrite)
    base = resolve_model(args.base)
    require_extra()  # the user's inputs first: a wrong one is said before a missing extra
    matched: dict[str, int] = {}
    for plan, output in plans:
        if plan.steps == -1:  # the control: as many steps as the largest Korean dose
            largest = shipped_plans()[len(DOSES) - 1]
            steps = matched.get(largest.name) or plan_blocks(base, largest, settings)
            plan = replace(plan, steps=steps)
        with tqdm(desc=plan.name, unit="step", file=sys.stderr) as bar:

            def progress(step: int, total: int, loss: float) -> None:
                bar.total = total
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")

            record = finetune(base, plan, settings, output, progress=progress)
        matched[plan.name] = record["steps"]
        held = record["held_out_loss"]
        print(
            f"{plan.name}: {record['steps']} steps, {record['tokens_seen']:,} tokens in "
            f"{record['seconds']:.0f} s ({record['tokens_per_second']} tokens/s); held-out "
            f"loss {held[0][1]:.3f} -> {held[-1][1]:.3f}; written: {output} and "
            f"{output.with_suffix('.json')}"
        )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    defaults = notebook_parameters(notebook_path(args.chapter))
    params = {
        name: parse_parameter_value(value, defaults.get(name)) for name, value in args.parameter
    }
    out = Path(args.output_dir) if args.output_dir else None
    try:
        output = run_chapter(args.chapter, params, out, progress=True)
    except Exception as exc:
        if type(exc).__name__ == "PapermillExecutionError":
            raise ReportlibError(
                f"chapter {args.chapter!r} failed in cell {exc.exec_count}: "  # type: ignore[attr-defined]
                f"{exc.ename}: {exc.evalue}"  # type: ignore[attr-defined]
            ) from None
        raise
    print(output)
    return 0


def _cmd_answers(args: argparse.Namespace) -> int:
    root = project_root()
    path = Path(args.archive) if args.archive else root / ARCHIVE_PATH
    if args.action == "export":
        log = Path(args.log) if args.log else root / CACHE_ACCESS_LOG
        machine = f"{cpu_model()}, {os.cpu_count()} cores"
        digests = archive.read_access_log(log)
        count = archive.export_archive(default_cache(), digests, path, computed_on=machine)
        print(f"answers: archived {count} answers in {path}")
        return 0
    stored = archive.read_archive(path)
    if args.action == "restore":
        counts = archive.restore_archive(stored, default_cache())
        print(
            f"answers: {counts.restored} restored from {path.name} (computed by this book's "
            f"code on {stored.header.get('computed_on', 'an unnamed machine')}), "
            f"{counts.present} already in the cache; `make book COLD=1` recomputes"
        )
        if counts.differing:
            print(
                f"answers: {len(counts.differing)} cached answers differ from the archive's "
                "and were kept (this machine computed them); `reportlib answers verify` checks"
            )
        return 0
    if args.per_setting < 1:
        raise ReportlibError(f"--per-setting must be 1 or more, not {args.per_setting}")

    def bar(jobs: Iterator[Any], total: int) -> Iterator[Any]:
        return progress_bar(jobs, total=total, desc="verify answers", unit="job")

    result = archive.verify_archive(
        stored, archived_model_loader(), per_setting=args.per_setting, progress=bar
    )
    print(f"answers: {result.checked} recomputed, {len(result.mismatches)} differ")
    for reason, count in result.skipped.items():
        print(f"answers: skipped {count}: {reason}")
    for miss in result.mismatches[:5]:
        print(f"  {miss.digest[:12]} {miss.prompt[:60]!r}: archived {miss.archived!r:.120}")
        print(f"  {'':12} recomputed {miss.recomputed!r:.120}")
    return 1 if result.mismatches or not result.checked else 0


def _cmd_book(args: argparse.Namespace) -> int:
    return build_book(project_root(), extra_args=args.sphinx_args, always=args.always)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    commands = {
        "models": _cmd_models,
        "tokens": _cmd_tokens,
        "run": _cmd_run,
        "book": _cmd_book,
        "answers": _cmd_answers,
        "bench": _cmd_bench,
        "finetune": _cmd_finetune,
    }
    try:
        return commands[args.command](args)
    except BrokenPipeError:  # output piped into `head`: not an error
        return 0
    except KeyboardInterrupt as exc:  # Ctrl-C: one line, and the shell's code for SIGINT
        if args.debug:
            raise
        print(f"reportlib: interrupted{f': {exc}' if str(exc) else ''}", file=sys.stderr)
        return 130
    except ReportlibError as exc:
        if args.debug:
            raise
        print(f"reportlib: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file-system error no check foresaw: still one line
        if args.debug:
            raise
        where = f": {exc.filename!r}" if exc.filename else ""
        print(f"reportlib: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
