"""Every ``reportlib`` command the site and the README show a reader: it parses, a chapter run
names only parameters the chapter has with values it accepts, and every model spec parses
(and, on an embedded model, resolves with its adapter). Was: the site told readers to run
``reportlib run finetune -p adapter …``, which the chapter refuses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from reportlib.backends.specs import parse_spec, resolve_model
from reportlib.cli import EPILOG, _build_parser
from reportlib.site.chapters import (
    notebook_parameters,
    notebook_path,
    parse_parameter_value,
    validate_parameters,
)

ROOT = Path(__file__).resolve().parents[1]
EMBEDDED = ("default", "embedded", "embedded-chat")


def site_commands() -> list[tuple[str, str]]:
    """(page, command after ``reportlib``) for every command in a shell block of the README,
    the book's pages and the chapters, and in ``reportlib --help``'s examples."""
    found = []
    pages = [
        ROOT / "README.md",
        *sorted(ROOT.glob("book/*.md")),
        *sorted(ROOT.glob("notebooks/*.md")),
    ]
    for page in pages:
        for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", page.read_text(), re.S):
            for line in block.splitlines():
                line = line.split(" #")[0].strip()
                match = re.search(r"(?:^|\s)(?:\.venv/bin/)?reportlib (.*)$", line)
                if match:
                    found.append((page.name, match.group(1)))
    for line in EPILOG.splitlines():
        match = re.match(r"\s+reportlib (.*?)(\s{2,}.*)?$", line)
        if match:
            found.append(("reportlib --help", match.group(1)))
    return found


COMMANDS = site_commands()


def test_the_site_shows_commands_of_every_kind():
    kinds = {shlex.split(command)[0] for _, command in COMMANDS}
    assert {"run", "models", "tokens"} <= kinds and len(COMMANDS) >= 15


def chapter_run(command: str) -> tuple[str, dict]:
    args = _build_parser().parse_args(shlex.split(command))
    return args.chapter, {name: parse_parameter_value(value) for name, value in args.parameter}


@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[f"{p}: {c[:60]}" for p, c in COMMANDS])
def test_every_command_parses_and_its_chapter_takes_its_parameters(page, command):
    args = _build_parser().parse_args(shlex.split(command))  # exits 2 on a bad command
    if args.command != "run":
        return
    chapter, params = chapter_run(command)
    defaults = notebook_parameters(notebook_path(chapter, ROOT))
    validate_parameters(defaults, params, f"chapter {chapter!r}", chapter)
    for spec in model_specs(params):
        parse_spec(spec)


def model_specs(params: dict) -> list[str]:
    specs = params.get("models") or []
    return [*specs, params["model"]] if "model" in params else list(specs)


@pytest.mark.model
def test_every_spec_on_an_embedded_model_resolves_with_its_adapter():
    specs = {
        spec
        for _, command in COMMANDS
        if command.startswith("run ")
        for spec in model_specs(chapter_run(command)[1])
        if spec.split("+lora:")[0] in EMBEDDED
    }
    assert specs  # the site shows at least one
    for spec in specs:
        assert resolve_model(spec).path.exists()
