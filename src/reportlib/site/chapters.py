"""The chapter registry, chapter parameters, and reruns of a chapter with papermill.

:func:`validate_parameters` is the one place a chapter's parameters are checked: against the
type of each default in the notebook's ``parameters`` cell, and against the range rules of
:data:`PARAMETER_RULES`. It is a pure function, so a notebook can call it too.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportlib.backends.llama_runtime import MAX_PARALLEL_SEQUENCES
from reportlib.backends.loading import spec_in_folder
from reportlib.backends.specs import HOME_ENV, MODEL_ENV, SPEC_FORMS, parse_spec
from reportlib.core.errors import ReportlibError
from reportlib.core.languages import parse_language_list
from reportlib.core.progress import relay_progress
from reportlib.experiments.context.needles import ANSWER_ROOM
from reportlib.experiments.context.ruler_tasks import HAYSTACKS
from reportlib.site.run_record import estimate_for, minutes
from reportlib.text.corpus import BUNDLED, FLORES
from reportlib.text.tokenization import TOKENIZER_NAMES


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``_toc.yml`` and ``notebooks/``: searched upward from ``start``
    (the working directory), then from this package's own location."""
    for origin in (start or Path.cwd(), Path(__file__).resolve()):
        for folder in (origin, *origin.parents):
            if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
                return folder
    raise ReportlibError(
        "cannot find the book (a folder with _toc.yml and notebooks/); run from the project"
    )


def chapter_names(root: Path | None = None) -> list[str]:
    """The executable chapters, in the order of the book's table of contents (``_toc.yml``:
    its ``notebooks/NAME`` entries)."""
    import yaml

    toc = yaml.safe_load(((root or project_root()) / "_toc.yml").read_text(encoding="utf-8"))
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            entry = node.get("file")
            if isinstance(entry, str) and entry.startswith("notebooks/"):
                names.append(entry.removeprefix("notebooks/"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return names


def notebook_path(chapter: str, root: Path | None = None) -> Path:
    """The paired ``.ipynb`` of a chapter (papermill runs the JSON notebook)."""
    names = chapter_names(root)
    if chapter not in names:
        raise ReportlibError(f"unknown chapter {chapter!r}; choose one of {', '.join(names)}")
    path = (root or project_root()) / "notebooks" / f"{chapter}.ipynb"
    if not path.is_file():
        raise ReportlibError(f"the notebook of chapter {chapter!r} is missing: {path}")
    return path


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The names and default values of the cell tagged ``parameters``."""
    import papermill

    found = papermill.inspect_notebook(str(path)).items()
    return {name: ast.literal_eval(spec["default"]) for name, spec in found}


_NO_DEFAULT: Any = object()


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    )


def parse_parameter_value(text: str, default: Any = _NO_DEFAULT) -> Any:
    """A ``-p`` value: JSON when it parses (numbers, lists, true/false), else the string.

    Given the parameter's ``default``: when that is text (or a list of text), a value that
    parses as a number or ``true``/``null`` stays text, so ``-p model 2024`` names a file
    ``2024``; :func:`validate_parameters` does the checking."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if _is_text(default) and not isinstance(value, str | list):
        return text
    return value


def _show(value: Any) -> str:
    """A value as the user typed it (JSON: ``true``, ``"abc"``, ``[1, 2]``)."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _known_languages(codes: str) -> bool:
    parse_language_list(codes)  # raises, saying which code is unknown
    return True


def _positive_whole_numbers(values: list[Any]) -> bool:
    return bool(values) and all(_whole(v) and v >= 1 for v in values)


def _length_key(key: Any) -> bool:
    """A length as a mapping's key: a whole number, or its decimal digits (JSON keys are
    text), not ``"²"`` (a digit to ``str.isdigit``, not to ``int``)."""
    if isinstance(key, str) and key.isascii() and key.isdigit():
        key = int(key)
    return _whole(key) and key >= 1


def _model_spec(spec: Any) -> bool:
    parse_spec(spec)  # raises, saying what it does not accept
    return True


def _no_adapter(spec: Any) -> bool:
    return parse_spec(spec).adapter is None


_AT_LEAST_1 = (lambda v: v >= 1, "a whole number >= 1")
_AT_LEAST_1_NAMES = (
    "eval_sentences",
    "eval_held_out_lines",
    "max_tokens",
    "samples",
    "n_ctx",
    "n_threads",
    "n_batch",
    "repeats",
    "needles",
    "separate_samples",
    "prompt_tokens",
    "generate",
)
_POSITIVE_LIST = (_positive_whole_numbers, "a non-empty list of whole numbers >= 1")

#: range rules by parameter name, checked after the type (which the notebook's default
#: gives): name -> (test of the value, what is expected)
PARAMETER_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (lambda v: v >= 0, "a whole number >= 0"),
    **dict.fromkeys(_AT_LEAST_1_NAMES, _AT_LEAST_1),
    "batch_width": (
        lambda v: 1 <= v <= MAX_PARALLEL_SEQUENCES,
        f"a whole number from 1 to {MAX_PARALLEL_SEQUENCES} (the most sequences llama.cpp "
        "decodes at once)",
    ),
    **dict.fromkeys(
        (
            "lengths",
            "latency_lengths",
            "contexts",
            "kv_contexts",
            "batch_widths",
            "separate_lengths",
        ),
        _POSITIVE_LIST,
    ),
    "depths": (
        lambda v: bool(v) and all(0 <= x <= 1 for x in v),
        "a non-empty list of numbers from 0 to 1",
    ),
    "threshold": (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    "ruler_lengths": (
        lambda v: (
            bool(v)
            and all(k in HAYSTACKS for k in v)
            and all(isinstance(n, list) and n and _positive_whole_numbers(n) for n in v.values())
        ),
        'a mapping from haystack ("filler", "flores-en", "flores-ko") to a list of lengths',
    ),
    "ruler_samples": (
        lambda v: (
            bool(v)
            and all(_length_key(k) for k in v)
            and all(_whole(n) and n >= 1 for n in v.values())
        ),
        "a mapping from a length of ruler_lengths to a whole number of haystacks >= 1",
    ),
    **dict.fromkeys(("model", "base"), (_model_spec, f"a model spec ({SPEC_FORMS})")),
    "models": (
        lambda v: bool(v) and all(_model_spec(spec) for spec in v),
        "a non-empty list of model specs",
    ),
    "tokenizers": (
        lambda v: bool(v) and all(name in TOKENIZER_NAMES for name in v),
        f"a non-empty list of tokenizer names ({', '.join(TOKENIZER_NAMES)})",
    ),
    "languages": (_known_languages, '"all" or language codes such as "ko,ja"'),
}


#: rules of one chapter's parameter, checked after those of :data:`PARAMETER_RULES`
CHAPTER_RULES: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("performance", "model"): (
        _no_adapter,
        "a model without a LoRA adapter (the page compares the harness with llama.cpp's own "
        "tools, which run the base model only)",
    ),
}


def _check_together(defaults: dict[str, Any], checked: dict[str, Any]) -> None:
    """The rules that involve two parameters, for those the caller gave (a chapter's
    defaults agree): needle lengths fit the window, and ``ruler_samples`` gives a number of
    haystacks for the lengths of ``ruler_lengths``."""
    merged = {**defaults, **checked}
    n_ctx = merged.get("n_ctx")
    if "lengths" in checked and isinstance(n_ctx, int) and not isinstance(n_ctx, bool):
        too_long = [n for n in checked["lengths"] if n + ANSWER_ROOM > n_ctx]
        if too_long:
            raise ReportlibError(
                f"parameter 'lengths' has lengths that do not fit the window of n_ctx = "
                f"{n_ctx:,} tokens with the {ANSWER_ROOM} tokens of the answer: "
                f"{_show(too_long)}; give lengths up to {n_ctx - ANSWER_ROOM:,} or a larger n_ctx"
            )
    given = {"ruler_samples", "ruler_lengths"} & set(checked)
    if given and {"ruler_samples", "ruler_lengths"} <= set(merged):
        grid = sorted({n for sizes in merged["ruler_lengths"].values() for n in sizes})
        keys = sorted(int(k) for k in merged["ruler_samples"])
        unknown = [k for k in keys if k not in grid]
        if "ruler_samples" in checked and unknown:
            raise ReportlibError(
                f"parameter 'ruler_samples' gives haystacks for {_show(unknown)}, which are not "
                f"lengths of ruler_lengths ({_show(grid)}); use those lengths as its keys"
            )
        uncovered = [n for n in grid if n < keys[0]]
        if uncovered:
            raise ReportlibError(
                f"parameter 'ruler_samples' gives no number of haystacks for the ruler lengths "
                f"{_show(uncovered)} (a key applies to its length and longer ones); add a key "
                f"for {uncovered[0]}"
            )


def _kind(default: Any) -> str:
    """What a parameter with this default takes, in words."""
    if isinstance(default, bool):
        return "true or false"
    if _whole(default):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "text"
    if isinstance(default, list):
        kinds = {_kind(item) for item in default}
        return f"a list of {kinds.pop()} items" if len(kinds) == 1 else "a list"
    return type(default).__name__


def _conform(default: Any, value: Any) -> tuple[bool, Any]:
    """(whether ``value`` has the type of ``default``, the value normalised)."""
    if default is None:
        return True, value
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if _whole(default):
        return _whole(value), value
    if isinstance(default, float):
        return _number(value), float(value) if _number(value) else value
    if isinstance(default, str):
        return isinstance(value, str), value
    if isinstance(default, list):
        if isinstance(value, str) and default and all(isinstance(d, str) for d in default):
            value = [value]  # -p models default: one spec, not a list of letters
        if not isinstance(value, list):
            return False, value
        if not default:
            return True, value
        models = {type(d): d for d in default}.values()  # one default item of each type
        items = []
        for item in value:
            fits = [normal for ok, normal in (_conform(m, item) for m in models) if ok]
            if not fits:
                return False, value
            items.append(fits[0])
        return True, items
    return isinstance(value, type(default)), value


def validate_parameters(
    defaults: dict[str, Any],
    overrides: dict[str, Any],
    owner: str = "this notebook",
    chapter: str | None = None,
) -> dict[str, Any]:
    """Check ``overrides`` against a notebook's ``defaults``; return them normalised.

    Each value must have the type of its default (a whole number is not ``true`` nor
    ``1.5``; a number may be whole; a bare string for a list of strings becomes a list of
    one) and pass the rule of :data:`PARAMETER_RULES` for its name (``seed >= 0``, known
    language codes, ...), the rule of :data:`CHAPTER_RULES` for ``chapter``, and the rules
    that involve two parameters (lengths that fit ``n_ctx``). A pure function: a notebook
    can call it on its own parameters. Raises one :class:`ReportlibError` naming the
    parameter, the value and what is expected."""
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        takes = (
            f"its parameters are: {', '.join(sorted(defaults))}"
            if defaults
            else "it takes no parameters"
        )
        raise ReportlibError(f"{owner} has no parameter {', '.join(map(repr, unknown))}; {takes}")
    checked = {}
    for name, value in overrides.items():
        default = defaults[name]
        general = PARAMETER_RULES.get(name)
        rules = [r for r in (general, CHAPTER_RULES.get((chapter or "", name))) if r]
        expected = general[1] if general else f"{_kind(default)} (like {_show(default)})"
        ok, normal = _conform(default, value)
        detail = ""
        for test, what in rules if ok else []:
            try:
                ok = bool(test(normal))
            except TypeError:  # a rule meant for another type of default
                ok = False
            except ReportlibError as exc:  # the rule says what is wrong (an unknown code)
                ok, detail = False, f": {exc}"
            if not ok:
                expected = what
                break
        if not ok:
            raise ReportlibError(
                f"parameter {name!r} must be {expected}, not {_show(value)}{detail}"
            )
        checked[name] = normal
    _check_together(defaults, checked)
    return checked


#: parameters that name model specs, and files or folders: given relative, they mean the
#: caller's folder, not ``notebooks/`` where the kernel runs
SPEC_PARAMETERS = ("model", "models", "base")
PATH_PARAMETERS = (
    "results_dir",
    "corpus",
    "book_bench_file",
    "kernel_bench_file",
    "batched_bench_file",
)


def in_folder(parameters: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``parameters`` with every relative path in them (model and adapter files, results
    folders, corpus folders, input files) made absolute against ``folder``."""
    out = dict(parameters)
    for name, value in parameters.items():
        if name in SPEC_PARAMETERS:
            specs = value if isinstance(value, list) else [value]
            absolute = [spec_in_folder(spec, folder) for spec in specs]
            out[name] = absolute if isinstance(value, list) else absolute[0]
        elif name in PATH_PARAMETERS and isinstance(value, str):
            if not (name == "corpus" and value in (FLORES, BUNDLED)):
                out[name] = str(folder / Path(value).expanduser())
    return out


@contextlib.contextmanager
def environment_in(folder: Path) -> Iterator[None]:
    """Within the block, ``$REPORTLIB_HOME`` and ``$REPORTLIB_MODEL`` name what they named
    in ``folder``, made absolute when relative (a kernel started in the block inherits them)."""
    saved = {name: os.environ.get(name) for name in (HOME_ENV, MODEL_ENV)}
    home = os.environ.get(HOME_ENV, "").strip()
    model = os.environ.get(MODEL_ENV, "").strip()
    try:
        if home:
            os.environ[HOME_ENV] = str(folder / Path(home).expanduser())
        if model:
            os.environ[MODEL_ENV] = spec_in_folder(model, folder)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def new_run_dir(parent: Path, chapter: str) -> Path:
    """Create the folder of one run, ``parent/<chapter>-<UTC time>``. Creation is
    exclusive: a run started in the same second gets ``-2``, ``-3``..., so two runs never
    share (and overwrite) a folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        blocker = next((p for p in (parent, *parent.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            where = "is a file" if blocker == parent else f"is inside {str(blocker)!r}, a file"
            raise ReportlibError(f"the output folder {str(parent)!r} {where}, not a folder")
        parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 10_000):
            folder = parent / (f"{chapter}-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
    except OSError as exc:
        raise ReportlibError(
            f"cannot create a run folder in {str(parent)!r}: {exc.strerror}"
        ) from None
    raise ReportlibError(f"cannot create a run folder in {str(parent)!r}: too many runs")


#: the start-up warning of every ipykernel (>= 7) on a TCP transport; a chapter's kernel
#: listens on localhost for this process only, so for a reader the line is noise
KERNEL_TCP_WARNING = "Kernel is running over TCP without encryption"


#: what a kernel logs as it shuts itself down when the process that started it has gone
#: (after Ctrl-C in ``reportlib run``, which has already said so in one line)
KERNEL_ORPHAN_WARNING = "Parent appears to have exited, shutting down"
#: what an idle kernel logs when jupyter_client (8) interrupts it before asking it to shut
#: down at the end of a run: noise for a reader (a Ctrl-C in a cell shows its traceback)
KERNEL_SHUTDOWN_INTERRUPT = "KeyboardInterrupt caught in kernel"
#: what nbclient logs (through papermill's logger) when the kernel dies; :func:`run_chapter`
#: says it in its own message
KERNEL_DIED_ERROR = "Kernel died while waiting for execute reply"


class KernelLogFilter(logging.Filter):
    """Drops the kernel's TCP-without-encryption warning, its note that it shuts down
    because its parent has gone and its log of the interrupt that precedes a shutdown, and
    nothing else. It runs in the kernel process:
    :func:`kernel_arguments` installs it on the kernel's console handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(
            (KERNEL_TCP_WARNING, KERNEL_ORPHAN_WARNING, KERNEL_SHUTDOWN_INTERRUPT)
        )


class _KernelDiedFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(KERNEL_DIED_ERROR)


def kernel_arguments() -> list[str]:
    """Kernel command-line arguments that add :class:`KernelLogFilter` to the log handler
    the kernel application (traitlets) writes its warnings to."""
    config = {
        "filters": {"reportlib_tcp": {"()": "reportlib.site.chapters.KernelLogFilter"}},
        "handlers": {"console": {"filters": ["reportlib_tcp"]}},
    }
    return [f"--IPKernelApp.logging_config={json.dumps(config)}"]


def run_chapter(
    chapter: str,
    parameters: dict[str, Any],
    output_dir: Path | None = None,
    progress: bool = True,
) -> Path:
    """Execute one chapter with papermill into ``runs/``; returns the executed notebook.

    Parameters are validated, their relative paths (and those of ``$REPORTLIB_HOME`` and
    ``$REPORTLIB_MODEL``) made absolute against the caller's folder, and the run folder
    created before papermill starts. A kernel that dies, and Ctrl-C, end the run with one
    message that says which run folder keeps what the chapter wrote."""
    root = project_root()
    source = notebook_path(chapter, root)
    defaults = notebook_parameters(source)
    params = validate_parameters(defaults, parameters, f"chapter {chapter!r}", chapter)
    here = Path.cwd()
    params = in_folder(params, here)
    out_dir = new_run_dir(output_dir or root / "runs", chapter)
    if "results_dir" in defaults and "results_dir" not in params:
        params["results_dir"] = str(out_dir.resolve())
    import papermill
    from nbclient.exceptions import DeadKernelError

    output = out_dir / f"{chapter}.ipynb"
    kept = f"what it wrote is kept in {str(out_dir)!r}"
    said_here = _KernelDiedFilter()  # the message below says it, with what was kept
    logging.getLogger("papermill").addFilter(said_here)
    relay = relay_progress(sys.stderr) if progress else nullcontext()
    if progress:
        print(f"{chapter}: running, {estimate_for(chapter, root)}", file=sys.stderr)
    start = time.monotonic()
    try:
        with environment_in(here), relay:
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=params,
                cwd=str(source.parent),
                kernel_name="python3",
                progress_bar=False,  # the chapter's own progress lines are relayed instead
                log_output=False,
                extra_arguments=kernel_arguments(),
            )
    except DeadKernelError:
        raise ReportlibError(
            f"chapter {chapter!r} stopped because its Python kernel died, most likely out of "
            f"memory or a crash inside llama.cpp; {kept}"
        ) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"chapter {chapter!r} stopped; {kept}") from None
    except papermill.PapermillExecutionError as exc:
        if exc.ename == "KeyboardInterrupt":  # Ctrl-C reached the kernel too
            raise KeyboardInterrupt(f"chapter {chapter!r} stopped; {kept}") from None
        raise
    finally:
        logging.getLogger("papermill").removeFilter(said_here)
    if progress:
        print(f"{chapter}: done in {minutes(time.monotonic() - start)}", file=sys.stderr)
    return output


def store_outputs(path: Path, timeout: int = 1800) -> None:
    """Execute a notebook in its own folder and save it with its outputs (for nbval)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=kernel_arguments(),
    ).execute()
    nbformat.write(nb, path)


def chapter_parameters(chapter: str, root: Path | None = None) -> dict[str, Any]:
    """The default parameters of another chapter, so that a chapter that reuses its results
    (the claims ledger, the Performance page) reads its settings instead of retyping them."""
    return notebook_parameters(notebook_path(chapter, root))


if __name__ == "__main__":  # python -m reportlib.site.chapters NOTEBOOK.ipynb...: refresh outputs
    import sys

    for name in sys.argv[1:]:
        print(f"executing {name}", file=sys.stderr)
        store_outputs(Path(name))
