"""Chat templates from GGUF files, rendered safely."""

from __future__ import annotations

from reportlib.core.errors import ReportlibError


def render_chat_template(
    template: str, messages: list[dict[str, str]], bos: str, eos: str, model_name: str = "model"
) -> str:
    """A chat template from a GGUF file is untrusted code: render it only in
    llama-cpp-python's Jinja formatter, whose environment is an immutable sandbox."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    try:
        formatter = Jinja2ChatFormatter(
            template, eos_token=eos, bos_token=bos, add_generation_prompt=True
        )
        return formatter(messages=messages).prompt  # type: ignore[arg-type]
    except Exception as exc:  # a template error, or the sandbox refusing unsafe code
        raise ReportlibError(f"the chat template of {model_name} failed: {exc}") from None
