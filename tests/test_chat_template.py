"""Chat templates run in Jinja's sandbox: hostile templates run no code, a benign one renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib.backends.chat_template import render_chat_template
from reportlib.core.errors import ReportlibError


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('touch /tmp/pwned').read() }}",
        "{% for m in messages %}{{ m.content.__class__ }}{% endfor %}",
    ],
)
def test_hostile_chat_templates_run_no_code(template):
    marker = Path("/tmp/pwned")
    marker.unlink(missing_ok=True)
    try:
        out = render_chat_template(template, [{"role": "user", "content": "hi"}], "<s>", "</s>")
    except ReportlibError as exc:
        assert "chat template" in str(exc)
    else:  # the sandbox rendered unsafe attributes as nothing
        assert "class" not in out and "subclasses" not in out
    assert not marker.exists()


def test_benign_chat_template_renders():
    out = render_chat_template(
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>",
        [{"role": "user", "content": "안녕"}],
        "<s>",
        "</s>",
    )
    assert out == "<user>안녕<assistant>"
