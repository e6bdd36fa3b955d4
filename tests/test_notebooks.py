"""The chapters: paired .md/.ipynb in sync, and a literal-only parameters cell."""

import ast
from pathlib import Path

import jupytext
import nbformat
import pytest

from reportlib.site.chapters import chapter_names, notebook_parameters, parse_parameter_value

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.md"))


def _cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_chapter_has_a_notebook():
    assert {p.stem for p in SOURCES} == set(chapter_names())


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_md_and_ipynb_are_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make notebooks`"
    assert _cells(jupytext.read(md)) == _cells(nbformat.read(ipynb, as_version=4)), (
        f"{md.name} and {ipynb.name} differ: run `make notebooks`"
    )


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_no_chapter_glues_a_name_twice(md):
    """The build fails on a duplicate glue key (multilingual glued `n_answers` in two cells).
    One cell may glue a name in each branch of an ``if``."""
    import re
    from collections import Counter

    pattern = r"""\bglue(?:_figure)?\(\s*["']([^"']+)["']"""
    cells = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    names = Counter(name for code in cells for name in set(re.findall(pattern, code)))
    assert not [name for name, count in names.items() if count > 1]


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_every_parameter_is_used_by_its_chapter(md):
    """A parameter its chapter never reads takes any value without a word (issue 28: the
    timeline's unused `model` let `run timeline -p model /nonexistent.gguf` exit 0)."""
    code = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    declared = {target.id for node in ast.parse(code[0]).body for target in node.targets}
    used = {
        node.id
        for source in code[1:]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Name)
    }
    assert declared <= used, f"{md.name} never uses {sorted(declared - used)}"


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_first_code_cell_is_literal_parameters(md):
    code = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    for node in ast.parse(code[0].source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)  # raises if not a literal


CHAT_CHAPTERS = {"multilingual", "alternatives"}


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_every_chapter_that_runs_a_model_takes_one(md):
    """The chapters that re-run the report's chats ask the embedded chat model first and the
    embedded base model beside it; the fine-tune chapter trains its adapters on the chat
    model; the others run the default model; the timeline runs none, so takes no parameter."""
    params = notebook_parameters(md.with_suffix(".ipynb"))
    if md.stem == "finetune":
        assert params["base"] == "embedded-chat"
        return
    if md.stem == "timeline":
        assert params == {}
        return
    if md.stem in CHAT_CHAPTERS:
        assert params["models"][:2] == ["embedded-chat", "embedded"]
        return
    first = params.get("model") or (params.get("models") or [None])[0]
    assert first == "default"


@pytest.mark.parametrize("chapter", ["tokenization", "claims"])
def test_token_verdicts_default_to_flores(chapter):
    """The tokenizer figures and the ledger's verdicts rest on FLORES-200 by default, not on
    the book's eight sentences."""
    assert notebook_parameters(NOTEBOOKS / f"{chapter}.ipynb")["corpus"] == "flores200"


def test_parameter_values_parse_as_json_or_text():
    assert parse_parameter_value("3") == 3
    assert parse_parameter_value('["a", "b"]') == ["a", "b"]
    assert parse_parameter_value("/path/to/model.gguf") == "/path/to/model.gguf"


def test_makefile_builds_the_pinned_llama_cpp_python():
    root = NOTEBOOKS.parent
    makefile = (root / "Makefile").read_text()
    pyproject = (root / "pyproject.toml").read_text()
    pin = next(
        line.split(":=")[1].strip()
        for line in makefile.splitlines()
        if line.startswith("LLAMA_CPP_PIN")
    )
    assert f'"{pin}"' in pyproject
    assert "-DGGML_NATIVE=OFF" in makefile


@pytest.mark.parametrize("md", sorted(NOTEBOOKS.glob("*.md")), ids=lambda p: p.stem)
def test_every_figure_has_alt_text_that_describes_it(md):
    """Each ``{glue:figure}`` carries an ``:alt:`` of at least eight words (what the
    figure shows, for readers who cannot see it), not a file name."""
    lines = md.read_text().splitlines()
    for k, line in enumerate(lines):
        if line.startswith("```{glue:figure}"):
            options = lines[k + 1 : k + 4]
            alt = next(
                (o.removeprefix(":alt:").strip() for o in options if o.startswith(":alt:")), ""
            )
            assert len(alt.split()) >= 8 and "/" not in alt, f"{md.name}: {line} has no alt text"


@pytest.mark.parametrize("md", sorted(NOTEBOOKS.glob("*.md")), ids=lambda p: p.stem)
def test_parameter_cells_are_hidden_from_readers_but_tagged_for_papermill(md):
    cells = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
    tags = cells[0].metadata.get("tags", [])
    assert "parameters" in tags and "hide-input" in tags
