"""The chapter registry, and reruns of a chapter with papermill."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ReportlibError

#: chapter name -> notebook stem under ``notebooks/``
CHAPTERS: dict[str, str] = {
    name: name
    for name in (
        "alternatives",
        "claims",
        "context",
        "environment",
        "multilingual",
        "performance",
        "small-models",
        "timeline",
        "tokenization",
    )
}


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


def notebook_path(chapter: str, root: Path | None = None) -> Path:
    """The paired ``.ipynb`` of a chapter (papermill runs the JSON notebook)."""
    if chapter not in CHAPTERS:
        raise ReportlibError(
            f"unknown chapter {chapter!r}; choose one of {', '.join(sorted(CHAPTERS))}"
        )
    path = (root or project_root()) / "notebooks" / f"{CHAPTERS[chapter]}.ipynb"
    if not path.is_file():
        raise ReportlibError(f"the notebook of chapter {chapter!r} is missing: {path}")
    return path


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The names and default values of the cell tagged ``parameters``."""
    import papermill

    found = papermill.inspect_notebook(str(path)).items()
    return {name: ast.literal_eval(spec["default"]) for name, spec in found}


def parse_parameter_value(text: str) -> Any:
    """A ``-p`` value: JSON when it parses (numbers, lists, true/false), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def check_parameters(chapter: str, given: dict[str, Any], root: Path | None = None) -> None:
    """Reject parameter names the chapter does not have (papermill would ignore them)."""
    accepted = notebook_parameters(notebook_path(chapter, root))
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ReportlibError(
            f"chapter {chapter!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(accepted))}"
        )


def run_chapter(
    chapter: str,
    parameters: dict[str, Any],
    output_dir: Path | None = None,
    progress: bool = True,
) -> Path:
    """Execute one chapter with papermill into ``runs/``; returns the executed notebook."""
    root = project_root()
    source = notebook_path(chapter, root)
    check_parameters(chapter, parameters, root)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = (output_dir or root / "runs") / f"{chapter}-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    params = dict(parameters)
    if "results_dir" in notebook_parameters(source) and "results_dir" not in params:
        params["results_dir"] = str(out_dir.resolve())
    import papermill

    output = out_dir / f"{chapter}.ipynb"
    papermill.execute_notebook(
        str(source), str(output), parameters=params, cwd=str(source.parent),
        kernel_name="python3", progress_bar=progress, log_output=False,
    )  # fmt: skip
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
    ).execute()
    nbformat.write(nb, path)


if __name__ == "__main__":  # python -m reportlib.chapters NOTEBOOK.ipynb...: refresh outputs
    import sys

    for name in sys.argv[1:]:
        print(f"executing {name}", file=sys.stderr)
        store_outputs(Path(name))
