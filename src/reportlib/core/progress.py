"""Progress a person can watch, which never reaches a page.

A chapter runs in a Jupyter kernel: whatever it writes to stdout or stderr becomes a cell
output, then part of the page and of the stored notebook. So progress takes another path.
The process that starts the kernels (``reportlib book``, ``reportlib run``) opens a
*progress file*, names it in ``$REPORTLIB_PROGRESS`` (the kernel inherits its environment)
and relays what the kernel writes there to its own terminal (:func:`relay_progress`).
Inside the kernel, :func:`progress_bar` is a tqdm bar that writes to that file, or to a
terminal when there is one, or nowhere.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

from tqdm import tqdm

#: the environment variable that names the progress file of the process running the kernels
PROGRESS_ENV = "REPORTLIB_PROGRESS"
#: at most this many updates a second reach the file (and the terminal)
UPDATES_PER_SECOND = 2
#: on a terminal that is not a TTY (a CI log) a progress line is printed at most this often
LOG_INTERVAL_SECONDS = 30.0

T = TypeVar("T")
#: a relayed line: counts, share, elapsed and remaining time, rate (no bar graphics, so a
#: long description never pushes the numbers off the line)
BAR_FORMAT = "{desc}: {percentage:3.0f}%| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]"
#: a tqdm status of a finished bar (always shown, even in a log)
FINISHED = re.compile(r"\b100%\|")


def _progress_file() -> IO[str] | None:
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return None
    try:
        return open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (the bar closes it)
    except OSError:  # the relay has gone: progress is a nicety, never an error
        return None


def _in_kernel() -> bool:
    return "ipykernel" in sys.modules


def progress_bar(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str,
    unit: str = "it",
    enabled: bool | None = None,
) -> Any:
    """A tqdm bar (use it as tqdm: iterate, or ``update`` and ``close``).

    It writes to the progress file named by ``$REPORTLIB_PROGRESS`` when there is one (a
    chapter run by ``reportlib book`` or ``reportlib run``); otherwise to stderr if that is a
    terminal and this is not a kernel; otherwise nowhere. ``enabled=False`` silences it,
    ``enabled=True`` writes to stderr even when it is not a terminal (not in a kernel)."""
    if enabled is not False and _FileBar.open_bars == 0:  # an outer bar already counts
        channel = _progress_file()
        if channel is not None:
            return _FileBar(
                iterable,
                total=total,
                desc=desc,
                unit=unit,
                file=channel,
                mininterval=1 / UPDATES_PER_SECOND,
                bar_format=BAR_FORMAT,
            )
    if _in_kernel() or enabled is False:
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=True)
    return tqdm(
        iterable, total=total, desc=desc, unit=unit, disable=None if enabled is None else False
    )


class _FileBar(tqdm):  # type: ignore[misc]
    """A tqdm bar that writes to the progress file and closes it; while one is open, the
    bars opened inside it (a probe's model calls) stay silent, so one line describes the
    work."""

    open_bars = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        type(self).open_bars += 1
        self._counted = True

    def close(self) -> None:
        if getattr(self, "_counted", False):
            type(self).open_bars -= 1
            self._counted = False
        channel = self.fp
        super().close()
        try:
            channel.write("\n")
            channel.close()
        except (OSError, ValueError, AttributeError):
            pass


def latest_status(text: str) -> str:
    """The last non-empty status a tqdm bar wrote (bars rewrite their line with ``\\r``)."""
    for piece in reversed(text.replace("\r", "\n").split("\n")):
        if piece.strip():
            return piece.strip()
    return ""


class ProgressRelay:
    """Reads the progress file in a thread and shows its latest line on ``out``: rewritten
    in place on a TTY (a few times a second), or as a new line every
    :data:`LOG_INTERVAL_SECONDS` otherwise. :meth:`clear` erases the line before the caller
    prints a line of its own."""

    def __init__(self, path: Path, out: IO[str], prefix: str = "  ") -> None:
        self.path, self.out, self.prefix = path, out, prefix
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._offset = 0
        self._tail = ""
        self._shown = ""
        self._shown_at = 0.0
        self._width = 0
        self._thread = threading.Thread(target=self._run, name="progress-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()
        self.clear()

    def _run(self) -> None:
        while not self._stop.wait(1 / UPDATES_PER_SECOND):
            self.poll()

    def poll(self) -> None:
        """Read what was appended since the last poll and show the newest status."""
        try:
            with self.path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(self._offset)
                new = handle.read()
                self._offset = handle.tell()
        except OSError:
            return
        if not new:
            return
        self._tail = (self._tail + new)[-4000:]
        status = latest_status(self._tail)
        if status:
            self.show(status)

    def show(self, status: str) -> None:
        now = time.monotonic()
        with self.lock:
            if status == self._shown:
                return
            if self.tty:
                line = self.prefix + status
                self.out.write("\r" + line.ljust(self._width))
                self._width = len(line)
            elif now - self._shown_at >= LOG_INTERVAL_SECONDS or FINISHED.search(status):
                self.out.write(self.prefix + status + "\n")
                self._shown_at = now
            else:
                return
            self._shown = status
            self.out.flush()

    def clear(self) -> None:
        """Erase the progress line on a TTY (so the next printed line starts clean)."""
        with self.lock:
            if self.tty and self._width:
                self.out.write("\r" + " " * self._width + "\r")
                self.out.flush()
                self._width = 0


@contextmanager
def relay_progress(
    out: IO[str] | None = None, folder: Path | None = None
) -> Iterator[ProgressRelay]:
    """Sets ``$REPORTLIB_PROGRESS`` to a new progress file for the kernels started inside the
    block, and shows their progress on ``out`` (stderr by default) until the block ends."""
    import tempfile

    out = out if out is not None else sys.stderr
    with tempfile.TemporaryDirectory(prefix="reportlib-progress-", dir=folder) as tmp:
        path = Path(tmp) / "progress.log"
        path.touch()
        previous = os.environ.get(PROGRESS_ENV)
        os.environ[PROGRESS_ENV] = str(path)
        relay = ProgressRelay(path, out)
        relay.start()
        try:
            yield relay
        finally:
            relay.stop()
            if previous is None:
                os.environ.pop(PROGRESS_ENV, None)
            else:
                os.environ[PROGRESS_ENV] = previous
